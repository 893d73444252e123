"""Control flow the off-policy baselines share.

``tree_where``: the vmap-friendly form of "apply this update only if" (under the harness's
seed ``vmap`` a ``lax.cond`` on a per-seed predicate runs both branches anyway, so the
baselines compute the update and keep it with a select). ``scan_sums``: a training chunk as one
``lax.scan`` over env steps that sums each step's metrics. ``ends_value``: which episode ends a
value target must not bootstrap through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

S = TypeVar("S")


def tree_where(cond: jax.Array, a: Any, b: Any) -> Any:
    """Leaf-wise ``where(cond, a, b)`` for two trees of the same structure."""
    return jax.tree.map(lambda u, v: jnp.where(cond, u, v), a, b)


def scan_sums(step: Callable[..., tuple[S, dict[str, jax.Array]]], state: S,
              length: int, *, last_flag: bool = False, stack: str | None = None
              ) -> tuple[S, dict[str, jax.Array]]:
    """``length`` calls of ``step`` in a ``lax.scan``; returns the final state and each metric
    summed over the steps (sequential adds in the metric's dtype, so a chunk's sums do not
    depend on the seed batch shape). ``last_flag``: ``step(state, last)`` gets a bool scalar,
    True on the last call only; it is the same for every seed of a ``vmap``, so a ``lax.cond``
    on it runs one branch. ``stack``: the metric of that name is not summed but stacked over
    the steps (leading axis ``length``) and returned under the same name."""
    if last_flag:
        flags = jnp.arange(length) == length - 1
        _, shapes = jax.eval_shape(step, state, flags[0])
    else:
        flags = None
        _, shapes = jax.eval_shape(step, state)
    shapes = {k: v for k, v in shapes.items() if k != stack}
    acc0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)

    def body(carry: tuple, last: jax.Array | None) -> tuple[tuple, Any]:
        s, acc = carry
        s, m = step(s) if last is None else step(s, last)
        ys = None
        if stack is not None:
            m = dict(m)
            ys = m.pop(stack)
        return (s, jax.tree.map(jnp.add, acc, m)), ys

    (state, acc), ys = jax.lax.scan(body, (state, acc0), flags, length=length)
    if stack is not None:
        acc = {**acc, stack: ys}
    return state, acc


def ends_value(env: Any, params: Any, terminated: jax.Array, truncated: jax.Array) -> jax.Array:
    """The "no bootstrap" flag of a transition: ``terminated``, and also ``truncated`` when the
    observation carries a clock (``env.observes_time(params)``, e.g. Catch Point's DLPA view).

    The suite's convention is to bootstrap through step caps; with a clock in the state that
    reads the critic at a clock value past the cap, which it never trains on, and the
    extrapolation can feed on itself (HyAR-TD3 on Catch Point: Q rising along the clock to
    ~1300 with rewards of about -1 per step). Envs without ``observes_time`` count as clockless.
    """
    observes = getattr(env, "observes_time", None)
    if observes is not None and observes(params):
        return terminated | truncated
    return terminated


def linear_decay(count: jax.Array, initial: float, final: float, span: int) -> jax.Array:
    """``initial`` -> ``final`` linearly over ``span`` counts (finished episodes), then
    ``final`` (P-DQN's epsilon, HyAR's exploration std)."""
    frac = count.astype(jnp.float32) / span
    value = initial - (initial - final) * frac
    return jnp.where(count < span, value, final)
