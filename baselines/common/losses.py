"""Loss pieces shared across baseline families."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def invert_gradients(grad: jax.Array, x: jax.Array, low: float = -1.0,
                     high: float = 1.0) -> jax.Array:
    """Hausknecht & Stone's inverting gradients (ascent direction ``grad`` = dQ/dx).

    An upward gradient is scaled by ``(high - x) / (high - low)``, a downward one by
    ``(x - low) / (high - low)``: it shrinks to 0 at the bound it points to and reverses
    beyond it, which keeps unsquashed outputs inside [low, high]. Used by P-DQN (parameters),
    PA-DDPG and HyAR (scores / latent actions and parameters).
    """
    rng = high - low
    return jnp.where(grad > 0, grad * (high - x) / rng, grad * (x - low) / rng)
