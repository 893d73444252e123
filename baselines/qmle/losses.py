"""QMLE's losses (official ``qmle.py`` training step, spec §5.2, in hybrid form §5.3).

* ``sampled_max``: the target maximisation -- the largest target-network Q over a candidate
  set plus the stored argmax, and the candidate that attains it (the new stored argmax).
* ``q_loss``: PER-weighted squared TD error to ``y = r + gamma (1 - ends) max``; the absolute TD
  errors are the new priorities.
* ``predictor_loss``: the argmax predictors on the next observation's latent (no gradient into
  the encoder) toward the stored argmax the batch was sampled with: cross-entropy of the k head
  and of k*'s parameter bins, averaged over those heads (the official averages its per-dimension
  heads), plus the mean squared error of the delta prediction on k*'s dimensions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sampled_max(q_values: jax.Array, k: jax.Array, z: jax.Array
                ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(max Q, its k, its z)`` of one state's candidates ``q_values [M], k [M], z [M, D]``
    (the first maximiser on ties, as ``torch.max``)."""
    best = jnp.argmax(q_values)
    return q_values[best], k[best], z[best]


def td_target(reward: jax.Array, ends: jax.Array, next_max: jax.Array,
              gamma: float) -> jax.Array:
    """``r + gamma (1 - ends) max_a' Q'(s', a')``."""
    return reward + gamma * (1.0 - ends.astype(jnp.float32)) * next_max


def weighted_td_loss(q: jax.Array, target: jax.Array, weights: jax.Array
                     ) -> tuple[jax.Array, jax.Array]:
    """``(mean(w (q - y)^2), |q - y|)`` (official: ``(mse * weight).mean()``)."""
    err = q - jax.lax.stop_gradient(target)
    return jnp.mean(weights * err**2), jnp.abs(jax.lax.stop_gradient(err))


def cross_entropy(logits: jax.Array, label: jax.Array, official: bool) -> jax.Array:
    """``-log softmax(x)[label]`` over the last axis; ``official``: x is the softmax of the
    logits (the official loss feeds the heads' softmax outputs to ``F.cross_entropy``)."""
    x = jax.nn.softmax(logits, axis=-1) if official else logits
    logp = jax.nn.log_softmax(x, axis=-1)
    return -jnp.take_along_axis(logp, label[..., None], axis=-1)[..., 0]


def to_bins(z: jax.Array, num_bins: int) -> jax.Array:
    """Nearest grid bin of each z in [-1, 1] (official ``map_continuous_to_bins``)."""
    return jnp.round((z + 1.0) / 2.0 * (num_bins - 1)).astype(jnp.int32)


def predictor_loss(k_logits: jax.Array, bin_logits: jax.Array, delta: jax.Array,
                   k_label: jax.Array, z_star: jax.Array,
                   dim_mask: jax.Array, num_bins: int, official: bool
                   ) -> tuple[jax.Array, jax.Array]:
    """``(categorical loss, delta loss)`` of one transition.

    ``k_logits``: [K] or [bits, 2] with ``k_label`` k* or its bits; ``bin_logits`` [D, bins] and
    ``delta`` [D] are the predictors for k*; ``dim_mask`` [D] marks k*'s dimensions.
    """
    ce_k = cross_entropy(k_logits, k_label, official)
    ce_k = jnp.atleast_1d(ce_k)
    ce_bins = cross_entropy(bin_logits, to_bins(z_star, num_bins), official)
    m = dim_mask.astype(jnp.float32)
    n_heads = ce_k.shape[0] + jnp.sum(m)
    cat = (jnp.sum(ce_k) + jnp.sum(m * ce_bins)) / n_heads
    delta_loss = jnp.sum(m * (delta - z_star) ** 2) / jnp.maximum(jnp.sum(m), 1.0)
    return cat, delta_loss
