"""PAMDP-MPPI (spec §3.5 step 3), fully vectorised: no Python loop over samples, steps or k.

Distributions, per planning step h: a categorical ``mean_k[h]`` over the K discrete actions and,
for every k, a Gaussian ``mean_z[h, k], std_z[h, k]`` over k's (zero-padded) parameters
(``mppi_variant="shared"``: one Gaussian for all k, the paper's ablation). Each iteration:

1. draw N trajectories: k_h by inverse-CDF sampling of ``mean_k[h]`` (O(N H log K), no N x K
   Gumbel tensor), z_h ~ N(mean_z[h, k_h], std_z[h, k_h]) clamped to [-1, 1] and masked to
   k_h's parameter count (only the chosen k's entries are gathered: nothing N x K x P);
2. roll the model for H steps: G = sum_h gamma^h r_h prod_{j<h} [argmax c_j = continue]
   (r = r1 where the model predicts termination, for the envs with two reward heads);
3. keep the top E, weights w = exp(temperature (G - G_max));
4. new categorical = w-weighted frequency of the elites' k per step; for each (h, k) the
   w-weighted mean / std of the elites that chose k at h (kept from before if none did),
   computed by scatter-adds into [H, K, P_pad];
5. momentum: new = momentum * old + (1 - momentum) * estimate, on the means and (official,
   ``std_momentum``) on the std; with ``std_momentum=False`` the std is replaced by the
   estimate (TD-MPC's rule).

The executed action is the first step of one elite drawn with probability proportional to w;
in training its parameters get N(0, s) noise, s = the last iteration's elite std estimate of
(step 0, k) (the official code's ``_std[0]``, before momentum), then are clamped to [-1, 1]
unless ``clip_executed_z=False`` (official). The model draws samples in training and uses its
means when ``deterministic`` (evaluation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from pamdp_bench.baselines.dlpa.networks import Params, model_step


@struct.dataclass
class PlanState:
    """The previous solution, for the warm start (shifted by one step)."""

    mean_k: jax.Array  # [H, K] categorical probabilities
    mean_z: jax.Array  # [H, Kz, P_pad] (Kz = K, or 1 for the shared variant)


def init_plan_state(cfg: Any, num_k: int, p_pad: int) -> PlanState:
    h = cfg.horizon
    kz = num_k if cfg.mppi_variant == "per_action" else 1
    return PlanState(mean_k=jnp.full((h, num_k), 1.0 / num_k, jnp.float32),
                     mean_z=jnp.zeros((h, kz, p_pad), jnp.float32))


def alive_centred(x: jax.Array, alive: jax.Array) -> jax.Array:
    """x [N] minus its mean over the ``alive`` entries (a constant: no gradient through it)."""
    mean = jnp.sum(jnp.where(alive, x, 0.0)) / jnp.maximum(jnp.sum(alive), 1)
    return x - jax.lax.stop_gradient(mean)


def rollout_returns(params: Params, cfg: Any, obs: jax.Array, ks: jax.Array, zs: jax.Array,
                    key: jax.Array | None, model_fn: Callable | None = None) -> jax.Array:
    """obs [s], ks int[N, H], zs [N, H, p] -> discounted model returns [N].

    ``model_fn(params, cfg, s, k, z, key) -> (s_next, r0, r1, cont_logits)`` defaults to the
    world model (``networks.model_step``); tests pass toy models. A model_fn may return a
    fifth output, an exploration bonus [N] (FLEXplore's): each step it counts against its mean
    over the samples still alive at that step (``alive_centred``), so a bonus with a large
    offset does not pay a trajectory for staying alive.
    """
    model_fn = model_fn or model_step
    n, horizon = ks.shape
    s0 = jnp.broadcast_to(obs, (n, obs.shape[-1]))
    keys = None if key is None else jax.random.split(key, horizon)

    def step(carry: tuple, xs: tuple) -> tuple[tuple, None]:
        s, g, disc = carry
        if key is None:
            k, z = xs
            kk = None
        else:
            k, z, kk = xs
        out = model_fn(params, cfg, s, k, z, kk)
        s_next, r0, r1, c = out[:4]
        cont = (c[:, 1] > c[:, 0]).astype(jnp.float32)  # argmax continuation
        r = jnp.where(cont > 0.5, r0, r1) if cfg.two_reward_heads else r0
        g = g + disc * r
        if len(out) == 5:
            g = g + disc * alive_centred(out[4], disc > 0)
        return (s_next, g, disc * cont * cfg.gamma), None

    xs = (ks.T, jnp.swapaxes(zs, 0, 1)) + (() if keys is None else (keys,))
    init = (s0, jnp.zeros((n,), jnp.float32), jnp.ones((n,), jnp.float32))
    (_, g, _), _ = jax.lax.scan(step, init, xs, unroll=True)
    return g


def plan(params: Params, cfg: Any, param_dims: jax.Array, obs: jax.Array, key: jax.Array,
         prev: PlanState, use_prev: jax.Array, deterministic: bool,
         model_fn: Callable | None = None,
         proposal: tuple[jax.Array, jax.Array] | None = None,
         ) -> tuple[tuple[jax.Array, jax.Array], PlanState, dict[str, jax.Array]]:
    """One MPPI plan from ``obs``: ((k, z_pad), solution for the warm start, stats).

    ``proposal`` (ks int[M, H], zs [M, H, p]): M fixed action sequences (FLEXplore's policy
    rollouts) that replace the last M of the N samples in every iteration.
    """
    horizon, num_k = prev.mean_k.shape
    kz_n, p_pad = prev.mean_z.shape[1:]
    shared = cfg.mppi_variant == "shared"
    n, n_el = cfg.num_samples, cfg.num_elites
    hs = jnp.arange(horizon)

    # warm start: shift the previous solution by one step (last step re-initialised)
    init = init_plan_state(cfg, num_k, p_pad)
    if cfg.warm_start:
        sk = jnp.concatenate([prev.mean_k[1:], init.mean_k[-1:]], axis=0)
        sz = jnp.concatenate([prev.mean_z[1:], init.mean_z[-1:]], axis=0)
        mean_k = jnp.where(use_prev, sk, init.mean_k)
        mean_z = jnp.where(use_prev, sz, init.mean_z)
    else:
        mean_k, mean_z = init.mean_k, init.mean_z
    std_z = jnp.full((horizon, kz_n, p_pad), cfg.init_std, jnp.float32)
    pad_idx = jnp.arange(p_pad)

    def sample(key: jax.Array, mean_k: jax.Array, mean_z: jax.Array, std_z: jax.Array):
        k_key, z_key = jax.random.split(key)
        cdf = jnp.cumsum(mean_k, axis=-1)  # [H, K]
        u = jax.random.uniform(k_key, (horizon, n)) * cdf[:, -1:]
        ks = jax.vmap(lambda c, uu: jnp.searchsorted(c, uu, side="right"))(cdf, u)
        ks = jnp.minimum(ks, num_k - 1).T.astype(jnp.int32)  # [N, H]
        kz = jnp.zeros_like(ks) if shared else ks
        mu = mean_z[hs[None], kz]  # [N, H, p]
        sd = std_z[hs[None], kz]
        eps = jax.random.normal(z_key, mu.shape)
        mask = pad_idx[None, None] < param_dims[ks][..., None]
        zs = jnp.where(mask, jnp.clip(mu + sd * eps, -1.0, 1.0), 0.0)
        if proposal is not None:
            m = proposal[0].shape[0]
            ks = ks.at[n - m:].set(proposal[0])
            zs = zs.at[n - m:].set(proposal[1])
            kz = jnp.zeros_like(ks) if shared else ks
        return ks, kz, zs

    def iteration(carry: tuple, key: jax.Array) -> tuple[tuple, None]:
        mean_k, mean_z, std_z, _, _ = carry
        s_key, m_key = jax.random.split(key)
        ks, kz, zs = sample(s_key, mean_k, mean_z, std_z)
        g = rollout_returns(params, cfg, obs, ks, zs, None if deterministic else m_key,
                            model_fn)
        g = jnp.where(jnp.isfinite(g), g, -jnp.inf)
        g_el, idx = jax.lax.top_k(g, n_el)
        k_el, kz_el, z_el = ks[idx], kz[idx], zs[idx]  # [E, H], [E, H], [E, H, p]
        w = jnp.exp(cfg.temperature * (g_el - g_el[0]))
        w = jnp.where(jnp.isfinite(w), w, 0.0)
        wsum = jnp.maximum(jnp.sum(w), 1e-9)
        h_el = jnp.broadcast_to(hs[None], k_el.shape)
        new_k = jnp.zeros((horizon, num_k)).at[h_el, k_el].add(w[:, None]) / wsum
        den = jnp.zeros((horizon, kz_n)).at[h_el, kz_el].add(w[:, None])
        num = jnp.zeros((horizon, kz_n, p_pad)).at[h_el, kz_el].add(w[:, None, None] * z_el)
        safe = jnp.maximum(den, 1e-9)[..., None]
        est_mean = num / safe
        dev = (z_el - est_mean[h_el, kz_el]) ** 2
        var = jnp.zeros((horizon, kz_n, p_pad)).at[h_el, kz_el].add(w[:, None, None] * dev)
        est_std = jnp.sqrt(var / safe)
        chosen = (den > 0)[..., None]
        est_mean = jnp.where(chosen, est_mean, mean_z)
        est_std = jnp.where(chosen, est_std, std_z)
        m = cfg.momentum
        mean_k = m * mean_k + (1.0 - m) * new_k
        mean_z = m * mean_z + (1.0 - m) * est_mean
        new_std = m * std_z + (1.0 - m) * est_std if cfg.std_momentum else est_std
        return (mean_k, mean_z, new_std, est_std, (k_el, z_el, w, g_el)), None

    keys = jax.random.split(key, cfg.iterations + 2)
    dummy = (jnp.zeros((n_el, horizon), jnp.int32), jnp.zeros((n_el, horizon, p_pad)),
             jnp.zeros((n_el,)), jnp.zeros((n_el,)))
    (mean_k, mean_z, std_z, est_std, (k_el, z_el, w, g_el)), _ = jax.lax.scan(
        iteration, (mean_k, mean_z, std_z, std_z, dummy), keys[: cfg.iterations])
    pick = jax.random.categorical(keys[-2], jnp.log(jnp.maximum(w, 1e-30)))
    k = k_el[pick, 0]
    z = z_el[pick, 0]
    if not deterministic:
        std0 = est_std[0, 0 if shared else k]
        z = z + std0 * jax.random.normal(keys[-1], z.shape)
        if cfg.clip_executed_z:
            z = jnp.clip(z, -1.0, 1.0)
        z = jnp.where(pad_idx < param_dims[k], z, 0.0)
    stats = {"std_z": std_z, "std_z_estimate": est_std, "plan_return_max": g_el[0],
             "plan_return_elite_mean": jnp.mean(g_el)}
    return (k, z), PlanState(mean_k=mean_k, mean_z=mean_z), stats
