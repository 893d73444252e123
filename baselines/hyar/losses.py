"""HyAR's RL losses and representation-shift correction (``agents/P_TD3_relable.py``).

Critics are stacked on a leading axis (2 for TD3, 1 for DDPG). ``QFn(critic, obs, d, p) -> [B]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common import td3
from pamdp_bench.baselines.common.losses import invert_gradients
from pamdp_bench.baselines.hyar import vae as vae_lib

QFn = Callable[[Any, jax.Array, jax.Array, jax.Array], jax.Array]


def relabel(vae_params: Any, key: jax.Array, batch: dict[str, jax.Array], bounds: jax.Array,
            recon_s: jax.Array, *, discrete_noise: float, noise_clip: float,
            state_factor: float, predict_in_latent: bool = False,
            log_std_min: float = -4.0, log_std_max: float = 15.0
            ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """RSC: returns ``(d_emb, p_emb, discrete_kept, param_kept)`` for a replay batch.

    Discrete: the stored ``d_emb`` is kept when it still decodes to the executed k, else it
    becomes ``clip(tanh(E_k) + clip(N(0, discrete_noise), +-noise_clip), +-1)``. Parameter: the
    decoder's ``ds_hat(s, p_emb, tanh(E_k))`` is compared with ``s' - s``; the stored ``p_emb``
    is kept when ``mean((ds_hat - ds)^2) < state_factor * recon_s``, else it becomes a fresh
    encoder sample of ``(s, E_k, x_k)`` mapped back to actor space. Both clipped to [-1, 1].
    The original feeds the actor-space ``p_emb`` to the decoder (``predict_in_latent=False``).
    """
    k_d, k_z = jax.random.split(key)
    k = batch["k"]
    e_k = vae_lib.embed(vae_params, k)
    noise = jnp.clip(discrete_noise * jax.random.normal(k_d, e_k.shape), -noise_clip, noise_clip)
    d_keep = vae_lib.nearest(vae_params, batch["d_emb"]) == k
    d_new = jnp.where(d_keep[:, None], batch["d_emb"], jnp.clip(e_k + noise, -1.0, 1.0))
    p_in = vae_lib.to_latent(batch["p_emb"], bounds) if predict_in_latent else batch["p_emb"]
    _, ds_hat = vae_lib.decode(vae_params, batch["obs"], p_in, e_k)
    err = jnp.mean((ds_hat - batch["ds"]) ** 2, axis=-1)
    p_keep = err < state_factor * recon_s
    mean, std = vae_lib.encode(vae_params, batch["obs"], e_k, batch["x"], log_std_min,
                               log_std_max)
    z = mean + std * jax.random.normal(k_z, std.shape)
    p_new = jnp.where(p_keep[:, None], batch["p_emb"], vae_lib.from_latent(z, bounds))
    return (jnp.clip(d_new, -1.0, 1.0), jnp.clip(p_new, -1.0, 1.0), d_keep, p_keep)


def critic_loss(critics: Any, target_critics: Any, target_actor: Any, batch: dict[str, Any],
                gamma: float, q_fn: QFn, actor_fn: Callable, noise: tuple | None
                ) -> tuple[jax.Array, jax.Array]:
    """Sum over critics of ``MSE(Q_i(s, d, p), r + gamma (1 - term) min_i Q_i'(s', a'))``.

    ``a' = actor'(s')`` plus the given (already clipped) smoothing ``noise = (n_d, n_p)``,
    clipped to [-1, 1]; ``noise=None`` for DDPG. Truncated transitions bootstrap. Returns
    ``(loss, Q_0(s, d, p))``.
    """
    nd, npar = actor_fn(target_actor, batch["next_obs"])
    if noise is not None:
        nd = jnp.clip(nd + noise[0], -1.0, 1.0)
        npar = jnp.clip(npar + noise[1], -1.0, 1.0)
    q_next = td3.min_critic(q_fn, target_critics, batch["next_obs"], nd, npar)
    not_done = 1.0 - batch["terminated"].astype(jnp.float32)
    target = batch["reward"] + not_done * gamma * q_next
    target = jax.lax.stop_gradient(target)
    q = td3.each_critic(q_fn, critics, batch["obs"], batch["d_emb"], batch["p_emb"])
    return jnp.sum(jnp.mean((q - target[None]) ** 2, axis=-1)), q[0]


def actor_loss(actor: Any, critic0: Any, obs: jax.Array, q_fn: QFn, actor_fn: Callable, *,
               inverting: bool = True) -> tuple[jax.Array, jax.Array]:
    """The original's surrogate: ``delta = d mean_b Q_1(s_b, a) / da`` at ``a = actor(s)``,
    inverted at the [-1, 1] bounds, ``loss = -sum_{b,i} delta_{b,i} a_{b,i}``. Without
    inverting gradients: ``-mean_b Q_1``. Returns ``(loss, mean Q_1)``."""
    d, p = actor_fn(actor, obs)
    if not inverting:
        q = jnp.mean(q_fn(critic0, obs, d, p))
        return -q, q
    d0, p0 = jax.lax.stop_gradient(d), jax.lax.stop_gradient(p)

    def objective(dd: jax.Array, pp: jax.Array) -> jax.Array:
        return jnp.mean(q_fn(critic0, obs, dd, pp))

    q, (gd, gp) = jax.value_and_grad(objective, argnums=(0, 1))(d0, p0)
    gd = jax.lax.stop_gradient(invert_gradients(gd, d0))
    gp = jax.lax.stop_gradient(invert_gradients(gp, p0))
    return -(jnp.sum(gd * d) + jnp.sum(gp * p)), q
