"""FLEXplore's three loss terms (spec algorithms.md §4.2, read as §4.4 says).

* ``wasserstein_gap``: L_ex = (1/H) sum_h w_h mean_b m_bh (f_W(x_h) - f_W(x^_h)), x_h =
  [s_{t+h}, onehot(k_{t+h}), z_{t+h}, s_{t+h+1}] from the replay and x^_h the same with the
  model's open-loop prediction of s_{t+h+1}; w_h = rho^h (or gamma^h), m the DLPA loss mask
  times the importance weights. The model minimises it, the critic maximises it.
  [choice] The 1/H (spec §4.4 #3 writes the sum alone): DLPA's H-step loss, which L_ex is
  added to, carries the same 1/H, so lambda weighs the two per step alike.
* ``smoothing_loss``: one FGSM step from a random start on every reward head (or on the
  planner's step reward, continuation head included: ``smoothing_target``) at the window's
  first real transition (s_{t+1}, k_t, z_t), the squared difference of the predictions.
* ``imagine``: an H-step rollout of the policy networks through the world model with the MI
  bonus r_aux = log T(s'|s,k,z) - log p_theta(z|s,k): the policy objective (differentiable:
  straight-through Gumbel-Softmax for k, reparameterised z) and the planner's proposals.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.dlpa.networks import Params, model_step, rc_means
from pamdp_bench.baselines.dlpa.planner import alive_centred
from pamdp_bench.baselines.flexplore import networks as fnet


def step_weights(cfg: Any, horizon: int) -> jax.Array:
    base = cfg.rho if cfg.wasserstein_discount == "rho" else cfg.gamma
    return base ** jnp.arange(horizon, dtype=jnp.float32)


def wasserstein_gap(critic_params: Params, sigmas: Params, cfg: Any,
                    batch: dict[str, jax.Array], weights: jax.Array,
                    s_hat: jax.Array) -> jax.Array:
    """batch as in ``dlpa.losses.model_loss`` (``k_true`` if present is the real k);
    s_hat [H, B, s] the model's open-loop next states."""
    k = batch.get("k_true", batch["k"])
    horizon = k.shape[1]
    s, s_next = batch["obs"][:, :-1], batch["obs"][:, 1:]  # [B, H, s]

    def score(nxt: jax.Array) -> jax.Array:  # [B, H]
        flat = lambda x: x.reshape((-1,) + x.shape[2:])  # noqa: E731
        out = fnet.critic(critic_params, sigmas, flat(s), flat(k), flat(batch["z"]), flat(nxt))
        return out.reshape(k.shape)

    gap = score(s_next) - score(jnp.swapaxes(s_hat, 0, 1))  # [B, H]
    m = batch["mask"] * weights[:, None] * step_weights(cfg, horizon)[None]
    return jnp.sum(jnp.mean(gap * m, axis=0)) / horizon


def reward_heads(params: Params, cfg: Any, s_next: jax.Array, k: jax.Array, z: jax.Array
                 ) -> jax.Array:
    """Mean predictions of every reward head at (s', k, z): [n_reward_heads, B]."""
    n_r = 2 if cfg.two_reward_heads else 1
    r = rc_means(jax.tree.map(lambda x: x[:n_r], params["rc"]), cfg, s_next, k, z)[:, :, 0]
    if cfg.platform_reward:
        r = (jnp.tanh(r) + 1.0) / 2.0
    return r


def step_reward(params: Params, cfg: Any, s_next: jax.Array, k: jax.Array, z: jax.Array
                ) -> jax.Array:
    """The step reward the planner counts (r0 if the continuation head says continue, else
    r1), with the argmax replaced by its probability: P(cont) r0 + P(term) r1 [1, B] (r0 [1, B]
    for a one-reward-head model)."""
    if not cfg.two_reward_heads:
        return reward_heads(params, cfg, s_next, k, z)
    out = rc_means(params["rc"], cfg, s_next, k, z)  # r0, r1, continuation logits
    p_cont = jax.nn.softmax(out[-1], axis=-1)[:, 1]
    return (p_cont * out[0, :, 0] + (1.0 - p_cont) * out[1, :, 0])[None]


def smoothing_loss(params: Params, cfg: Any, batch: dict[str, jax.Array],
                   key: jax.Array) -> jax.Array:
    """L_smt = mean_b sum_heads (R(s) - R(s~))^2 with s~ one FGSM step from s + N(0, eps^2);
    R = every reward head, or the planner's step reward (``cfg.smoothing_target``)."""
    s, k, z = batch["obs"][:, 1], batch["k"][:, 0], batch["z"][:, 0]
    eps = cfg.fgsm_eps
    predict = step_reward if cfg.smoothing_target == "step_reward" else reward_heads
    r_clean = predict(params, cfg, s, k, z)
    target = jax.lax.stop_gradient(r_clean)

    def gap(s_tilde: jax.Array) -> jax.Array:
        return jnp.sum((target - predict(params, cfg, s_tilde, k, z)) ** 2)

    start = s + eps * jax.random.normal(key, s.shape)
    grad = jax.grad(gap)(start)
    s_adv = jax.lax.stop_gradient(start + eps * jnp.sign(grad))
    diff = r_clean - predict(params, cfg, s_adv, k, z)
    return jnp.mean(jnp.sum(diff ** 2, axis=0))


def imagine(model_params: Params, policy: Params, cfg: Any, param_dims: jax.Array,
            s0: jax.Array, key: jax.Array | None, horizon: int, relaxed: bool,
            model_means: bool = False) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Roll the policy networks through the model from s0 [B, s] for ``horizon`` steps.

    Returns (discounted return of r^ + eta r_aux [B], ks int[B, H], zs [B, H, p]). ``key``
    None: the policies' modes and the model's means; ``model_means``: the policies sample
    (with ``key``) and the model gives its means (evaluation's proposals). ``relaxed``: the
    straight-through Gumbel-Softmax term reaches the model's k input (for the policy
    gradient).
    """
    p_pad = policy["z"]["wm"].shape[1]
    n = s0.shape[0]
    keys = (None if key is None else jax.random.split(key, horizon))

    def step(carry: tuple, kk: jax.Array | None) -> tuple[tuple, tuple]:
        s, g, disc = carry
        logits = fnet.k_logits(policy, s)
        if kk is None:
            k = jnp.argmax(logits, axis=-1)
            k_st = None
            m_key = z_key = None
        else:
            g_key, z_key, m_key = jax.random.split(kk, 3)
            m_key = None if model_means else m_key
            y = jax.nn.softmax((logits + jax.random.gumbel(g_key, logits.shape))
                               / cfg.gumbel_temperature)
            k = jnp.argmax(y, axis=-1)
            k_st = y - jax.lax.stop_gradient(y) if relaxed else None
        k = k.astype(jnp.int32)
        mean, log_std = fnet.z_dist(policy, cfg, s, k, p_pad)
        dim_mask = jnp.arange(p_pad)[None] < param_dims[k][:, None]
        z = mean if z_key is None else mean + jnp.exp(log_std) * jax.random.normal(
            z_key, mean.shape)
        z = jnp.where(dim_mask, jnp.clip(z, -1.0, 1.0), 0.0)
        s_next, r0, r1, c, log_t = model_step(model_params, cfg, s, k, z, m_key, k_st=k_st,
                                              with_logp=True)
        cont = jax.lax.stop_gradient((c[:, 1] > c[:, 0]).astype(jnp.float32))
        r = jnp.where(cont > 0.5, r0, r1) if cfg.two_reward_heads else r0
        r_aux = log_t - fnet.z_log_prob(mean, log_std, z, dim_mask)
        if cfg.mi_baseline == "alive_mean":
            r_aux = alive_centred(r_aux, disc > 0)
        g = g + disc * (r + cfg.mi_weight * r_aux)
        return (s_next, g, disc * cont * cfg.gamma), (k, z)

    init = (s0, jnp.zeros((n,), jnp.float32), jnp.ones((n,), jnp.float32))
    if keys is None:
        (_, g, _), (ks, zs) = jax.lax.scan(lambda c, _: step(c, None), init, None,
                                           length=horizon)
    else:
        (_, g, _), (ks, zs) = jax.lax.scan(step, init, keys)
    return g, ks.T, jnp.swapaxes(zs, 0, 1)


def bonus_model_fn(policy: Params, cfg: Any, param_dims: jax.Array):
    """A planner ``model_fn`` with eta r_aux (§4.4 #11): log T of the model's own draw minus
    log p_theta of the sampled parameters. ``mi_baseline="alive_mean"``: returned as the
    planner's bonus output (counted against the alive samples' mean); "none": added to the
    rewards as it is."""
    p_pad = policy["z"]["wm"].shape[1]

    def fn(params: Params, cfg_: Any, s: jax.Array, k: jax.Array, z: jax.Array,
           key: jax.Array | None) -> tuple:
        s_next, r0, r1, c, log_t = model_step(params, cfg_, s, k, z, key, with_logp=True)
        mean, log_std = fnet.z_dist(policy, cfg, s, k, p_pad)
        dim_mask = jnp.arange(p_pad)[None] < param_dims[k][:, None]
        bonus = cfg.mi_weight * (log_t - fnet.z_log_prob(mean, log_std, z, dim_mask))
        if cfg.mi_baseline == "alive_mean":
            return s_next, r0, r1, c, bonus
        return s_next, r0 + bonus, r1 + bonus, c

    return fn
