"""One optimiser factory and the (params, optimiser state, transformation) pairing.

Every baseline trains with Adam, some with a global-norm gradient clip in front (the PyTorch
originals' ``clip_grad_norm_``); ``adam`` builds that chain. ``train_state`` pairs parameters
with their optimiser through ``flax.training.train_state.TrainState`` (``apply_gradients`` is
exactly ``tx.update`` then ``optax.apply_updates``), with an int32 step counter so a train
chunk's state keeps fixed avals (a Python ``0`` would retrace the second chunk).
``adam_step_rows``: Adam on the touched rows of an embedding table only (optax has no sparse
update; written here for DLPA's K = 65,536 action embeddings).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState


def adam(lr: float, max_grad_norm: float = 0.0) -> optax.GradientTransformation:
    """Adam, after a global-norm clip of the gradients when ``max_grad_norm > 0``."""
    if max_grad_norm > 0:
        return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(lr))
    return optax.adam(lr)


def train_state(params: Any, tx: optax.GradientTransformation) -> TrainState:
    """``params`` with a fresh ``tx`` state and step 0 (int32)."""
    return TrainState(step=jnp.int32(0), apply_fn=None, params=params, tx=tx,
                      opt_state=tx.init(params))


__all__ = ["TrainState", "adam", "adam_step_rows", "train_state"]


def adam_step_rows(param: jax.Array, mu: jax.Array, nu: jax.Array, grad_rows: jax.Array,
                   rows: jax.Array, count: jax.Array, lr: float, b1: float = 0.9,
                   b2: float = 0.999, eps: float = 1e-8
                   ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Adam on some rows of an embedding table (axis -2), the others untouched ("lazy" Adam).

    ``param``, ``mu``, ``nu``: ``[..., K, H]``; ``grad_rows``: ``[..., N, H]``, the gradient of
    the rows ``rows [N]`` (distinct; an index >= K marks an unused slot and is dropped);
    ``count``: the Adam step count after this step (optax's bias correction). Same arithmetic
    as ``optax.adam`` on the rows it touches: dense Adam would also decay the moments of rows
    with zero gradient and keep moving them, which costs a pass over the whole ``K x H`` table
    per step (the point of this function: K = 65,536 embeddings at 25 updates per env step).
    """
    safe = jnp.minimum(rows, param.shape[-2] - 1)
    m = b1 * jnp.take(mu, safe, axis=-2) + (1.0 - b1) * grad_rows
    v = b2 * jnp.take(nu, safe, axis=-2) + (1.0 - b2) * jnp.square(grad_rows)
    c = count.astype(jnp.float32)
    m_hat = m / (1.0 - b1**c)
    v_hat = v / (1.0 - b2**c)
    p = jnp.take(param, safe, axis=-2) - lr * m_hat / (jnp.sqrt(v_hat) + eps)

    def put(table: jax.Array, new: jax.Array) -> jax.Array:
        return table.at[..., rows, :].set(new.astype(table.dtype), mode="drop")

    return put(param, p), put(mu, m), put(nu, v)
