"""Ornstein-Uhlenbeck exploration noise as an explicit, jittable state.

Hand-written because it is four lines: no maintained JAX library ships a stateful OU process
(rlax has Gaussian and epsilon-greedy only). Discretisation as in the MP-DQN code's
``OrnsteinUhlenbeckActionNoise``: ``x <- x + theta * (mu - x) + sigma * N(0, 1)`` per call.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

OUState = jax.Array


def ou_init(dim: int, mu: float = 0.0) -> OUState:
    """The process starts at its mean."""
    return jnp.full((dim,), mu, jnp.float32)


def ou_step(key: jax.Array, x: OUState, mu: float, theta: float, sigma: float) -> OUState:
    """One step of the process; returns the new state, which is also the noise sample."""
    eps = jax.random.normal(key, x.shape, jnp.float32)
    return x + theta * (mu - x) + sigma * eps
