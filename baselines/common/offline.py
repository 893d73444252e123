"""What every offline agent shares: the dataset on device, batch sampling and the train loop.

An offline agent (``offline = True``, see ``pamdp_bench.agents``) gets the dataset from the
harness as an argument of ``init(key, data)`` and ``train(state, num_steps, data)``: a dict of
flat per-transition arrays in episode order (``datasets.minari_io.load_arrays``: ``obs``,
``next_obs``, ``k``, ``z_pad``, ``reward``, ``terminated``, ``truncated``, ``success``,
``episode``, ``step``; not the flat ``z``, whose K-wide rows would dominate device memory at
large K: agents read k's parameters from ``z_pad``). Batches are gathered on the device with
``jnp.take`` inside the jitted train chunk, so no host round-trip happens per batch.

``OfflineAgent.train`` runs ``num_steps`` calls of the agent's ``update(state, data)`` in one
``lax.scan`` and reports the chunk's mean of each metric (flashbax is not used: its buffers
are for data that grows during training; a fixed dataset only needs index sampling).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common.binding import EnvBound

Data = dict[str, jax.Array]

#: fields a sequence window carries (``sample_windows``)
WINDOW_FIELDS = ("obs", "next_obs", "k", "z_pad", "reward", "terminated", "truncated",
                 "step")


def num_transitions(data: Data) -> int:
    return int(data["k"].shape[0])


def sample_transitions(key: jax.Array, data: Data, batch: int,
                       fields: tuple[str, ...] = ("obs", "k", "z_pad")) -> Data:
    """``batch`` transitions drawn uniformly with replacement: arrays ``[batch, ...]``."""
    idx = jax.random.randint(key, (batch,), 0, num_transitions(data))
    return {f: jnp.take(data[f], idx, axis=0) for f in fields}


def sample_windows(key: jax.Array, data: Data, batch: int, length: int) -> Data:
    """``batch`` windows of ``length`` consecutive transitions: arrays ``[batch, length, ...]``.

    Start indices are uniform over ``[0, N - length]``; a window may run across episode ends.
    ``first[b, t]`` marks where a model must start from its initial state: the window's first
    step and every episode's first step (``step == 0``), so nothing leaks across episodes
    (the suite's reading of "sequences masked at episode boundaries").
    """
    n = num_transitions(data)
    if n < length:
        raise ValueError(f"the dataset has {n} transitions, fewer than a window of {length}")
    start = jax.random.randint(key, (batch,), 0, n - length + 1)
    idx = start[:, None] + jnp.arange(length)[None, :]
    out = {f: jnp.take(data[f], idx, axis=0) for f in WINDOW_FIELDS}
    out["first"] = (out["step"] == 0).at[:, 0].set(True)
    return out


class OfflineAgent(EnvBound):
    """Base of the offline agents: the protocol's ``train`` over the agent's ``update``."""

    offline: ClassVar[bool] = True

    def update(self, state: Any, data: Data) -> tuple[Any, dict[str, jax.Array]]:
        raise NotImplementedError

    def train(self, state: Any, num_steps: int, data: Data) -> tuple[Any, dict[str, jax.Array]]:
        """``num_steps`` gradient steps (static) in one ``lax.scan``; metrics are chunk means."""

        def step(s: Any, _: None) -> tuple[Any, dict[str, jax.Array]]:
            return self.update(s, data)

        state, metrics = jax.lax.scan(step, state, None, length=num_steps)
        return state, jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)
