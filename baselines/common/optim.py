"""One optimiser factory and the (params, optimiser state, transformation) pairing.

Every baseline trains with Adam, some with a global-norm gradient clip in front (the PyTorch
originals' ``clip_grad_norm_``); ``adam`` builds that chain. ``train_state`` pairs parameters
with their optimiser through ``flax.training.train_state.TrainState`` (``apply_gradients`` is
exactly ``tx.update`` then ``optax.apply_updates``), with an int32 step counter so a train
chunk's state keeps fixed avals (a Python ``0`` would retrace the second chunk).
"""

from __future__ import annotations

from typing import Any

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


__all__ = ["TrainState", "adam", "train_state"]
