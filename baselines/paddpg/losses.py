"""Losses of PA-DDPG / PATD3 (HyAR's ``P_DDPG.py`` / ``P_TD3.py`` ``train``).

``CriticFn(critic_params, obs [B, obs_dim], a [B, K + P]) -> [B]`` and
``ActorFn(actor_params, obs) -> [B, K + P]``. With ``twin`` the critic parameters carry a
leading axis of length 2. Inverting gradients are ``common.losses.invert_gradients``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common import td3
from pamdp_bench.baselines.common.losses import invert_gradients

CriticFn = Callable[[Any, jax.Array, jax.Array], jax.Array]
ActorFn = Callable[[Any, jax.Array], jax.Array]


def critic_target(reward: jax.Array, terminated: jax.Array, q_next: jax.Array,
                  gamma: float) -> jax.Array:
    """``r + gamma * (1 - terminated) * Q'``; truncated transitions bootstrap."""
    return reward + gamma * (1.0 - terminated.astype(jnp.float32)) * q_next


def critic_loss(critic_params: Any, critic_target_params: Any, actor_target_params: Any,
                batch: dict[str, Any], gamma: float, critic_fn: CriticFn, actor_fn: ActorFn,
                *, twin: bool = False,
                noise: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """MSE TD loss; returns ``(loss, Q1(s, a))``.

    DDPG: ``(Q(s, a) - (r + gamma Q'(s', mu'(s'))))^2`` averaged. TD3 (``twin``): the target
    uses ``min(Q1', Q2')`` at ``clip(mu'(s') + noise, -1, 1)`` (``noise`` already clipped to
    +-noise_clip) and the loss is ``mse(Q1, y) + mse(Q2, y)``.
    """
    next_a = td3.smoothed(actor_fn(actor_target_params, batch["next_obs"]), noise)
    q_next = td3.target_q(critic_fn, critic_target_params, twin, batch["next_obs"], next_a)
    y = jax.lax.stop_gradient(critic_target(batch["reward"], batch["terminated"], q_next, gamma))
    if twin:
        q = td3.each_critic(critic_fn, critic_params, batch["obs"], batch["action"])
        return jnp.sum(jnp.mean((q - y[None]) ** 2, axis=-1)), q[0]
    q = critic_fn(critic_params, batch["obs"], batch["action"])
    return jnp.mean((q - y) ** 2), q


def actor_loss(actor_params: Any, critic_params: Any, obs: jax.Array, critic_fn: CriticFn,
               actor_fn: ActorFn, num_scores: int, *, inverting: bool = True,
               invert_scores: bool = True) -> tuple[jax.Array, jax.Array]:
    """The actor's surrogate loss with inverting gradients, as HyAR's code computes it.

    ``delta = d/da mean_b Q1(s_b, a)`` at ``a = mu(s)`` (critic fixed); the parameter part of
    ``delta`` (and with ``invert_scores`` the score part, as HyAR does) is inverted at the
    bounds [-1, 1]; ``loss = -sum_{b,i} delta_{b,i} mu(s_b)_i``. Without ``inverting`` it is
    plain DDPG's ``-mean_b Q1(s_b, mu(s_b))``. Returns ``(loss, mean_b Q1)``.
    """
    a = actor_fn(actor_params, obs)
    if not inverting:
        q = jnp.mean(critic_fn(critic_params, obs, a))
        return -q, q
    a_fixed = jax.lax.stop_gradient(a)

    def objective(aa: jax.Array) -> jax.Array:
        return jnp.mean(critic_fn(critic_params, obs, aa))

    q_obj, delta = jax.value_and_grad(objective)(a_fixed)
    inverted = invert_gradients(delta, a_fixed)
    if not invert_scores:
        is_score = jnp.arange(a.shape[-1]) < num_scores
        inverted = jnp.where(is_score, delta, inverted)
    delta = jax.lax.stop_gradient(inverted)
    return -jnp.sum(delta * a), q_obj
