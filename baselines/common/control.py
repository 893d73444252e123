"""Tree-wise select, the vmap-friendly form of "apply this update only if".

Under the harness's seed ``vmap`` a ``lax.cond`` on a per-seed predicate runs both branches
anyway; the baselines compute the update and keep it with ``tree_where`` instead.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def tree_where(cond: jax.Array, a: Any, b: Any) -> Any:
    """Leaf-wise ``where(cond, a, b)`` for two trees of the same structure."""
    return jax.tree.map(lambda u, v: jnp.where(cond, u, v), a, b)
