"""H-PPO's distribution, advantage and loss functions (pure, batch-first).

Faithful to HyAR's ``agents/hppo_noshare.py`` / ``agents/utils/ppo_utils.py`` except where
marked [choice]:

* Gaussian log-density per dimension ``-0.5 ((x - mu) / (exp(log_std) + 1e-8))^2 - log_std -
  0.5 log(2 pi)`` (HyAR's ``gaussian_likelihood``, including the 1e-8), evaluated at the
  *clipped* sample that was executed (HyAR clips ``mu + std * eps`` to [-1, 1] and scores the
  clipped value under the unclipped Gaussian).
* ``param_mask``: which parameters enter the sum -- all P (HyAR) or only the chosen action's
  slice (``param_logp="chosen"``).
* Advantages: GAE(lambda) that cuts at every episode end; value targets are the discounted
  rewards-to-go of the rollout, bootstrapped at path ends (spinup's buffer, as HyAR). Path ends:
  termination bootstraps 0, truncation and the rollout end bootstrap ``V(next obs)`` (for a
  truncation the pre-reset final observation) -- the suite's convention. HyAR used the last
  *reward* as the bootstrap value at every episode end (``last_val = reward if done``): a bug,
  so not the default [choice]; ``end_bootstrap="last_reward"`` (the ``hyar`` reading)
  reproduces it through ``terminal_values`` wherever the agent does not bootstrap (its
  ``terminated`` flag: terminations, and truncations with a clock in the observation).
* Clipped surrogate ``-mean(min(r A, clip(r, 1 - eps, 1 + eps) A))`` (PPO).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_logp(x: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """Per-dimension log-density (HyAR's form, std + 1e-8 in the denominator)."""
    z = (x - mean) / (jnp.exp(log_std) + 1e-8)
    return -0.5 * (z**2 + 2.0 * log_std + LOG_2PI)


def hybrid_logp(logits: jax.Array, mean: jax.Array, log_std: jax.Array, k: jax.Array,
                z: jax.Array, param_mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(log pi(k | s), sum_{i in mask} log N(z_i; mean_i, std_i))`` for a batch.

    ``logits [B, K]``, ``mean, z, param_mask [B, P]``, ``log_std [P]``, ``k [B]``.
    """
    logp_k = jnp.take_along_axis(jax.nn.log_softmax(logits), k[:, None], axis=-1)[:, 0]
    logp_z = jnp.sum(jnp.where(param_mask, gaussian_logp(z, mean, log_std), 0.0), axis=-1)
    return logp_k, logp_z


def hybrid_entropy(logits: jax.Array, log_std: jax.Array,
                   param_mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(H[categorical], sum_{i in mask} H[N(., std_i)])`` per batch row (diagnostics; HyAR
    has no entropy bonus). Gaussian entropy per dim: ``log_std + 0.5 (1 + log 2 pi)``."""
    logp = jax.nn.log_softmax(logits)
    h_k = -jnp.sum(jnp.exp(logp) * logp, axis=-1)
    h_dim = jnp.broadcast_to(log_std + 0.5 * (1.0 + LOG_2PI), param_mask.shape)
    return h_k, jnp.sum(jnp.where(param_mask, h_dim, 0.0), axis=-1)


def gae_and_returns(rewards: jax.Array, values: jax.Array, next_values: jax.Array,
                    terminated: jax.Array, done: jax.Array, gamma: float,
                    lam: float, terminal_values: jax.Array | None = None
                    ) -> tuple[jax.Array, jax.Array]:
    """GAE advantages and rewards-to-go targets over one rollout ``[T]``.

    ``values[t] = V(s_t)``; ``next_values[t] = V(s'_t)`` with ``s'_t`` the pre-reset next
    observation. ``terminated`` replaces the bootstrap by ``terminal_values`` (None: 0);
    ``done = terminated | truncated`` cuts the recursions (a truncated step bootstraps
    ``V(s'_t)``); the last step always bootstraps.
    """
    not_term = 1.0 - terminated.astype(jnp.float32)
    end = 0.0 if terminal_values is None else terminal_values
    boot = gamma * jnp.where(terminated, end, next_values)
    deltas = rewards + boot - values
    cont = 1.0 - done.astype(jnp.float32)

    def back(carry: tuple, xs: tuple) -> tuple[tuple, tuple]:
        adv_next, ret_next = carry
        delta, r, b, c, nt = xs
        adv = delta + gamma * lam * c * adv_next
        # Rewards-to-go: mid-path continue with G_{t+1}, at a path end use the bootstrap.
        ret = r + jnp.where(c > 0, gamma * nt * ret_next, b)
        return (adv, ret), (adv, ret)

    last = (jnp.float32(0.0), next_values[-1])
    # The rollout end is a path end: make its step bootstrap by treating it as "done".
    cont = cont.at[-1].set(0.0)
    _, (adv, ret) = jax.lax.scan(back, last, (deltas, rewards, boot, cont, not_term),
                                 reverse=True)
    return adv, ret


def normalize(adv: jax.Array, eps: float) -> jax.Array:
    """``(A - mean) / (std + eps)`` over the rollout (population std, as ``np.std``)."""
    return (adv - jnp.mean(adv)) / (jnp.std(adv) + eps)


def clipped_surrogate(ratio: jax.Array, adv: jax.Array, clip: float) -> jax.Array:
    """PPO's clipped objective as a loss: ``-mean(min(r A, clip(r, 1-eps, 1+eps) A))``."""
    return -jnp.mean(jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - clip, 1.0 + clip) * adv))
