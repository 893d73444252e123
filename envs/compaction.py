"""Lane compaction for vmapped inner loops whose lanes run for very different lengths.

Under ``vmap`` a ``lax.while_loop`` runs every lane until the slowest one is done. When a few
lanes run far longer than the mean (Goal's shoot lasts until the episode ends: ~230 ticks of
the slowest of 4096 lanes for a mean of 26), most of the work is masked-out lanes.
``CompactedLoop`` wraps a per-lane tick with a ``custom_vmap`` rule: the batch runs until at
most ``1 / tier_factor`` of its lanes are still active, those are gathered into a batch of
that size, and so on down to ``min_tier`` lanes; results are scattered back. Nested vmaps are
merged into one lane axis first, so compaction always sees every lane.

Each lane's result equals the unbatched loop's (same per-lane ops), up to float rounding of
differently fused code. ``custom_vmap`` has no autodiff rule: the loop is not differentiable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

#: ``active(carry, consts) -> bool[lanes]``: the lanes that still want a tick.
ActiveFn = Callable[[Any, Any], jax.Array]
#: ``deactivate(carry, keep) -> carry``: the carry with the lanes where ``keep`` is false made
#: inactive (used on the padding lanes of a compacted batch).
DeactivateFn = Callable[[Any, jax.Array], Any]
#: ``tick(carry, consts, it) -> carry``: one tick on every lane, elementwise over the lane
#: axis, leaving inactive lanes unchanged. ``it`` is the scalar iteration counter of the
#: current tier's loop (useful for ``lax.cond`` fences).
TickFn = Callable[[Any, Any, jax.Array], Any]


class CompactedLoop:
    """``loop(carry, consts) -> carry``: tick while ``active``, compacting lanes under vmap.

    ``carry`` leaves are per lane; ``consts`` leaves are per lane when batched or scalars shared
    by every lane. Unbatched, the loop runs one lane. ``min_tier`` and ``tier_factor`` are read
    at trace time (set ``min_tier`` above the batch size to disable compaction).
    """

    def __init__(
        self,
        active: ActiveFn,
        tick: TickFn,
        deactivate: DeactivateFn,
        *,
        min_tier: int = 16,
        tier_factor: int = 4,
    ) -> None:
        self.active = active
        self.deactivate = deactivate
        self.tick = tick
        self.min_tier = min_tier
        self.tier_factor = tier_factor

        @jax.custom_batching.custom_vmap
        def batched(c: Any, k: Any) -> Any:
            """The loop over a leading lane axis (every ``c`` leaf has one)."""
            c, k = jax.tree.map(jnp.asarray, (c, k))
            lanes = jax.tree.leaves(c)[0].shape[0]
            return self._run_tiers(c, k, self.tier_sizes(lanes))

        @batched.def_vmap
        def batched_vmap(
            axis_size: int, in_batched: tuple[Any, Any], c: Any, k: Any
        ) -> tuple[Any, Any]:
            """A further vmap: merge its axis with the lane axis."""
            c_batched, k_batched = in_batched
            c, k = jax.tree.map(jnp.asarray, (c, k))  # unbatched values may be Python scalars
            first, first_batched = jax.tree.leaves(c)[0], jax.tree.leaves(c_batched)[0]
            lanes = first.shape[1] if first_batched else first.shape[0]

            def flat(x: jax.Array, is_batched: bool, per_lane: bool) -> jax.Array:
                if not is_batched and not per_lane:
                    return x  # a scalar shared by every lane
                if not is_batched:
                    x = jnp.broadcast_to(x, (axis_size,) + x.shape)
                if x.ndim == 1:
                    x = x[:, None]
                return jnp.broadcast_to(x, (axis_size, lanes)).reshape(axis_size * lanes)

            c = jax.tree.map(lambda x, b: flat(x, b, True), c, c_batched)
            k = jax.tree.map(lambda x, b: flat(x, b, x.ndim == 1), k, k_batched)
            out = jax.tree.map(lambda x: x.reshape(axis_size, lanes), batched(c, k))
            return out, jax.tree.map(lambda _: True, out)

        @jax.custom_batching.custom_vmap
        def single(c: Any, k: Any) -> Any:
            """One lane."""
            c, k = jax.tree.map(jnp.asarray, (c, k))
            return jax.tree.map(lambda x: x[0], batched(jax.tree.map(lambda x: x[None], c), k))

        @single.def_vmap
        def single_vmap(
            axis_size: int, in_batched: tuple[Any, Any], c: Any, k: Any
        ) -> tuple[Any, Any]:
            c_batched, _ = in_batched
            c, k = jax.tree.map(jnp.asarray, (c, k))
            c = jax.tree.map(
                lambda x, b: x if b else jnp.broadcast_to(x, (axis_size,) + x.shape),
                c,
                c_batched,
            )
            out = batched(c, k)
            return out, jax.tree.map(lambda _: True, out)

        self._single = single

    def __call__(self, carry: Any, consts: Any) -> Any:
        return self._single(carry, consts)

    def tier_sizes(self, batch: int) -> list[int]:
        """Batch sizes of the compaction levels: ``batch``, then ``1 / tier_factor`` of the
        previous one while that is at least ``min_tier``."""
        sizes = [batch]
        while sizes[-1] // self.tier_factor >= self.min_tier:
            sizes.append(sizes[-1] // self.tier_factor)
        return sizes

    def _run_tiers(self, c: Any, k: Any, sizes: list[int]) -> Any:
        """Tick all lanes until at most ``sizes[1]`` still run, move those to a batch of that
        size, and recurse."""
        stop = sizes[1] if len(sizes) > 1 else 0
        _, c = jax.lax.while_loop(
            lambda ic: jnp.sum(self.active(ic[1], k).astype(jnp.int32)) > stop,
            lambda ic: (ic[0] + 1, self.tick(ic[1], k, ic[0])),
            (jnp.asarray(0, jnp.int32), c),
        )
        if len(sizes) == 1:
            return c
        active = self.active(c, k)
        idx = jnp.nonzero(active, size=stop, fill_value=0)[0]
        valid = jnp.arange(stop) < jnp.sum(active.astype(jnp.int32))

        def take(x: jax.Array) -> jax.Array:
            return x[idx] if x.ndim else x

        sub_c, sub_k = jax.tree.map(take, c), jax.tree.map(take, k)
        # Padding lanes repeat lane idx[0]; masking them out keeps them from ticking.
        sub_c = self.deactivate(sub_c, valid)
        sub = self._run_tiers(sub_c, sub_k, sizes[1:])
        dst = jnp.where(valid, idx, sizes[0])
        return jax.tree.map(lambda full, part: full.at[dst].set(part, mode="drop"), c, sub)
