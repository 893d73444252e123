"""Polyak (soft) target-network updates via ``optax.incremental_update``."""

from __future__ import annotations

from typing import Any

import optax


def soft_update(online: Any, target: Any, tau: float) -> Any:
    """``target <- tau * online + (1 - tau) * target`` (PyTorch ``soft_update_target_network``)."""
    return optax.incremental_update(online, target, tau)
