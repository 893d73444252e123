"""Losses of the P-DQN family.

``QFn(q_params, obs [B, obs_dim], x [B, P]) -> [B, K]`` and ``XFn(param_params, obs) -> [B, P]``
are the batched network functions (single- or multi-pass). With ``twin`` the Q parameters are
stacked on a leading critic axis of length 2 (PDQN-TD3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common import td3
from pamdp_bench.baselines.common.losses import invert_gradients

QFn = Callable[[Any, jax.Array, jax.Array], jax.Array]
XFn = Callable[[Any, jax.Array], jax.Array]


def td_target(reward: jax.Array, terminated: jax.Array, q_next: jax.Array,
              gamma: float) -> jax.Array:
    """``r + gamma * (1 - terminated) * max_k Q'(s', x'(s'))``; ``q_next [B, K]``.

    Truncated transitions bootstrap (``terminated`` is False for them)."""
    return reward + gamma * (1.0 - terminated.astype(jnp.float32)) * jnp.max(q_next, axis=-1)


def twin_next_value(q_next: jax.Array, form: str) -> jax.Array:
    """The bootstrap value of twin critics ``q_next [2, B, K]`` -> ``[B]``: ``"max_of_min"``
    = ``max_k min(Q1', Q2')``, ``"min_of_max"`` = ``min(max_k Q1', max_k Q2')`` (HyAR)."""
    if form == "max_of_min":
        return jnp.max(jnp.min(q_next, axis=0), axis=-1)
    if form == "min_of_max":
        return jnp.min(jnp.max(q_next, axis=-1), axis=0)
    raise ValueError(f"unknown twin target {form!r}")


def q_loss(q_params: Any, q_target_params: Any, x_target_params: Any, batch: dict[str, Any],
           gamma: float, q_fn: QFn, x_fn: XFn, *, twin: bool = False,
           noise: jax.Array | None = None, twin_target: str = "max_of_min",
           tie_output: Callable[[Any], Any] | None = None) -> tuple[jax.Array, jax.Array]:
    """Mean squared TD error (MP-DQN's default ``F.mse_loss``); returns ``(loss, q_taken)``.

    ``twin``: both critics regress to ``r + gamma V'`` with ``V'`` of both target critics at
    ``x'(s') + noise`` (``noise`` already clipped, or None: unsmoothed and unclipped) by
    ``twin_next_value(., twin_target)``; ``tie_output`` maps stacked critic parameters (online
    and target) to the ones evaluated (HyAR's shared output layer), None: as they are.
    """
    next_x = td3.smoothed(x_fn(x_target_params, batch["next_obs"]), noise)
    k = batch["k"]
    tie = tie_output if tie_output is not None else (lambda p: p)
    if twin:
        q_next = td3.each_critic(q_fn, tie(q_target_params), batch["next_obs"], next_x)
        v_next = twin_next_value(q_next, twin_target)
    else:
        v_next = jnp.max(q_fn(q_target_params, batch["next_obs"], next_x), axis=-1)
    target = jax.lax.stop_gradient(
        batch["reward"] + gamma * (1.0 - batch["terminated"].astype(jnp.float32)) * v_next)
    if twin:
        q = td3.each_critic(q_fn, tie(q_params), batch["obs"], batch["x"])
        q_taken = jnp.take_along_axis(q, jnp.broadcast_to(k[None, :, None], (2, k.shape[0], 1)),
                                      axis=-1)[..., 0]
        loss = jnp.sum(jnp.mean((q_taken - target[None]) ** 2, axis=-1))
        return loss, q_taken[0]
    q = q_fn(q_params, batch["obs"], batch["x"])
    q_taken = jnp.take_along_axis(q, k[:, None], axis=-1)[:, 0]
    return jnp.mean((q_taken - target) ** 2), q_taken


def param_loss(x_params: Any, q_params: Any, obs: jax.Array, q_fn: QFn, x_fn: XFn, *,
               inverting: bool = True) -> tuple[jax.Array, jax.Array]:
    """The parameter network's surrogate loss, as MP-DQN's code computes it.

    ``delta = d/dx mean_b sum_k Q_k(s_b, x)`` at ``x = x_theta(s)`` (Q fixed), inverted at the
    bounds, then ``loss = -sum_{b,i} delta_{b,i} * x_theta(s_b)_i``: its gradient in theta is
    the chain rule with the inverted ``delta``. Returns ``(loss, mean_b sum_k Q_k)``.
    """
    x = x_fn(x_params, obs)
    x_fixed = jax.lax.stop_gradient(x)

    def objective(xx: jax.Array) -> jax.Array:
        return jnp.mean(jnp.sum(q_fn(q_params, obs, xx), axis=-1))

    q_obj, delta = jax.value_and_grad(objective)(x_fixed)
    if inverting:
        delta = invert_gradients(delta, x_fixed)
    delta = jax.lax.stop_gradient(delta)
    return -jnp.sum(delta * x), q_obj


__all__ = ["invert_gradients", "param_loss", "q_loss", "td_target", "twin_next_value"]
