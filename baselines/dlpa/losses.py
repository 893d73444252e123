"""DLPA's H-step open-loop model loss (spec §3.5 step 2).

From the real s_t the model is rolled open-loop for H steps, feeding back its own
reparameterised samples (no teacher forcing). Per step t (weight rho^t, masked after the
episode's terminal step):

    2 * mean_d (s^_{t+1} - s_{t+1})^2 + 0.5 * (r^_t - r_t)^2 + 0.5 * CE(c^_t, c_t)

with r^_t = r0 if c_t = 1 else r1 for the envs with two reward heads. Each term is clamped
at 1e4 per sample and step, multiplied by the importance weights, averaged over the batch, and
the total is scaled by 1/H.

``contin_loss_broadcast=True`` (D1) reproduces the official shapes (``DLPA.py:355,372-380``):
the CE is [B] and the mask [B, 1], so the continuation loss is the [B, B] matrix
CE_t[j] * mask_t[i], the state and reward losses stay [B, 1], and the sum (broadcast to
[B, B]) times the weights [B] (along j) is averaged over both axes. Written out (w = importance
weights, a_t = batch mean of mask_t):

    state / reward part:  mean(w) * mean_i(per-sample masked loss_i)
    continuation part:    sum_t rho^t a_t mean_j(w_j CE_t[j])

so every window's CE at every step trains the head, including the steps after its terminal
(zero-filled in the replay: label "terminal", k = 0, z = 0), weighted by the batch's alive
fraction. The per-term clamp stays per step as above (the official code clamps the summed
[B, B] entries; 1e4 is not reached in practice). No [B, B] array is formed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.dlpa.networks import Params, model_step


def model_loss(params: Params, cfg: Any, batch: dict[str, jax.Array], weights: jax.Array,
               key: jax.Array, return_rollout: bool = False) -> tuple[jax.Array, Any]:
    """batch: obs [B, H+1, s], k int[B, H], z [B, H, p], r [B, H], cont [B, H] (1 - terminal),
    mask [B, H] (1 up to and including the window's first terminal step).

    Returns (loss, info); with ``return_rollout`` (loss, (info, predicted next states
    [H, B, s])) -- the open-loop rollout that extensions (FLEXplore's Wasserstein term) score.
    """
    horizon = batch["k"].shape[1]
    keys = jax.random.split(key, horizon)

    def step(s: jax.Array, xs: tuple) -> tuple[jax.Array, tuple]:
        k, z, s_true, r, c, kk = xs
        s_next, r0, r1, logits = model_step(params, cfg, s, k, z, kk)
        r_hat = jnp.where(c > 0.5, r0, r1)
        st = cfg.consistency_coef * jnp.mean((s_next - s_true) ** 2, axis=-1)
        rw = cfg.reward_coef * (r_hat - r) ** 2
        logp = jax.nn.log_softmax(logits, axis=-1)
        ce = -jnp.where(c > 0.5, logp[:, 1], logp[:, 0])
        ct = cfg.contin_coef * ce
        clamp = cfg.loss_clamp
        terms = jnp.stack([jnp.minimum(st, clamp), jnp.minimum(rw, clamp),
                           jnp.minimum(ct, clamp)], axis=-1)  # [B, 3]
        return s_next, (terms, s_next)

    xs = (batch["k"].T, jnp.swapaxes(batch["z"], 0, 1), jnp.swapaxes(batch["obs"][:, 1:], 0, 1),
          batch["r"].T, batch["cont"].T, keys)
    _, (terms, s_hat) = jax.lax.scan(step, batch["obs"][:, 0], xs, unroll=True)  # [H, B, 3]
    rho = cfg.rho ** jnp.arange(horizon, dtype=jnp.float32)
    per = terms * (rho[:, None] * batch["mask"].T)[..., None]  # [H, B, 3]
    per_sample = jnp.sum(per, axis=0)  # [B, 3]
    if getattr(cfg, "contin_loss_broadcast", False):
        alive = jnp.mean(batch["mask"], axis=0)  # [H] alive fraction a_t
        ce_w = jnp.mean(terms[..., 2] * weights[None], axis=1)  # [H] mean_j w_j CE_t[j]
        contin = jnp.sum(rho * alive * ce_w)
        parts = jnp.concatenate([jnp.mean(weights) * jnp.mean(per_sample[:, :2], axis=0),
                                 contin[None]])
    else:
        parts = jnp.mean(per_sample * weights[:, None], axis=0)  # [3]
    total = jnp.sum(parts) / horizon
    info = {"loss": total, "state_loss": parts[0], "reward_loss": parts[1],
            "contin_loss": parts[2]}
    return (total, (info, s_hat)) if return_rollout else (total, info)
