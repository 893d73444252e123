"""QMLE's candidate sets for one state: the sampled stand-in for max / argmax over hybrid actions.

With the counts of ``QMLEConfig.candidate_counts(m)`` (official ``QMLENetwork.forward``, spec
§5.2; hybrid form §5.3), candidates are ``(k [M], z_pad [M, D])``:

1. continuous-uniform: k ~ U{0..K-1}, z ~ U[-1, 1]^D;
2. grid-uniform: k ~ U{0..K-1}, each z entry uniform over the ``num_bins`` grid on [-1, 1];
3. categorical: k from the predictors' k head, each z entry from its bin softmax for that k;
4. delta: k from the k head, z = the delta predictor for k + N(0, ``delta_noise``) clipped to
   [-1, 1]; the first delta candidate uses the k head's mode and no noise;
5. with ``enumerate``: every k once with its unperturbed delta prediction (uniform z when the
   predictors are off, ``amortized=False``).

Every z is masked to k's own dimensions (zeros beyond, and all zeros for actions without
parameters), which is the Q-network's input layout. ``M`` is static: jit-once at any K.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.qmle.config import QMLEConfig


class CandidateSampler:
    """Draws candidate sets; ``predictors`` is a bound ``ArgmaxPredictors`` apply function."""

    def __init__(self, cfg: QMLEConfig, num_actions: int, param_dims: tuple[int, ...],
                 max_param_dim: int, k_bits: int | None, enumerate_k: bool) -> None:
        self.cfg = cfg
        self.num_actions = num_actions
        self.dims = jnp.asarray(param_dims, jnp.int32)
        self.max_param_dim = max_param_dim
        self.k_bits = k_bits
        self.enumerate_k = enumerate_k
        self.grid = jnp.linspace(-1.0, 1.0, cfg.num_bins, dtype=jnp.float32)

    def size(self, m: int) -> int:
        """Number of candidates drawn for ``m`` samples (``m`` plus the enumerated k's)."""
        return m + (self.num_actions if self.enumerate_k else 0)

    def mask(self, k: jax.Array, z: jax.Array) -> jax.Array:
        """``z [M, D]`` with entries beyond each k's dimensions zeroed."""
        keep = jnp.arange(self.max_param_dim)[None, :] < self.dims[k][:, None]
        return jnp.where(keep, z, 0.0)

    # ------------------------------------------------------------------ the k head
    def sample_k(self, logits: jax.Array, key: jax.Array, n: int) -> jax.Array:
        """``n`` draws of k from the k head's logits ([K], or [bits, 2])."""
        if self.k_bits is None:
            return jax.random.categorical(key, logits, shape=(n,)).astype(jnp.int32)
        bits = jax.random.categorical(key, logits, shape=(n, self.k_bits))
        return self.bits_to_k(bits)

    def mode_k(self, logits: jax.Array) -> jax.Array:
        """The k head's most likely k (scalar)."""
        if self.k_bits is None:
            return jnp.argmax(logits).astype(jnp.int32)
        return self.bits_to_k(jnp.argmax(logits, axis=-1)[None])[0]

    def bits_to_k(self, bits: jax.Array) -> jax.Array:
        """``[..., n]`` bits (bit j has weight 2^j) -> k."""
        weights = (2 ** jnp.arange(self.k_bits)).astype(jnp.int32)
        return jnp.sum(bits.astype(jnp.int32) * weights, axis=-1)

    def k_to_bits(self, k: jax.Array) -> jax.Array:
        """k -> its ``[..., n]`` bits (inverse of ``bits_to_k``)."""
        return (k[..., None] >> jnp.arange(self.k_bits)) & 1

    # ------------------------------------------------------------------ sampling
    def __call__(self, predictors: Any, latent: jax.Array, key: jax.Array, m: int
                 ) -> tuple[jax.Array, jax.Array]:
        """``(k [M], z_pad [M, D])`` for one state with obs latent ``latent``."""
        cfg, d, big_k = self.cfg, self.max_param_dim, self.num_actions
        n_cont, n_grid, n_cat, n_delta = cfg.candidate_counts(m)
        keys = jax.random.split(key, 9)
        ks, zs = [], []
        if n_cont:
            ks.append(jax.random.randint(keys[0], (n_cont,), 0, big_k, jnp.int32))
            zs.append(jax.random.uniform(keys[1], (n_cont, d), jnp.float32, -1.0, 1.0))
        if n_grid:
            ks.append(jax.random.randint(keys[2], (n_grid,), 0, big_k, jnp.int32))
            zs.append(self.grid[jax.random.randint(keys[3], (n_grid, d), 0, cfg.num_bins)])
        amortized = n_cat or n_delta or (self.enumerate_k and cfg.amortized)
        if amortized:
            logits, torso = predictors("k_logits", latent)
        if n_cat:
            k_cat = self.sample_k(logits, keys[4], n_cat)
            bins = jax.random.categorical(keys[5], predictors("bin_logits", torso, k_cat))
            ks.append(k_cat)
            zs.append(self.grid[bins])
        if n_delta:
            k_delta = self.sample_k(logits, keys[6], n_delta).at[0].set(self.mode_k(logits))
            noise = cfg.delta_noise * jax.random.normal(keys[7], (n_delta, d), jnp.float32)
            noise = noise.at[0].set(0.0)
            ks.append(k_delta)
            zs.append(jnp.clip(predictors("delta", latent, k_delta) + noise, -1.0, 1.0))
        if self.enumerate_k:
            k_all = jnp.arange(big_k, dtype=jnp.int32)
            ks.append(k_all)
            zs.append(predictors("delta", latent, k_all) if cfg.amortized else
                      jax.random.uniform(keys[8], (big_k, d), jnp.float32, -1.0, 1.0))
        k = jnp.concatenate(ks)
        return k, self.mask(k, jnp.concatenate(zs))
