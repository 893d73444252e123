"""Every key of a run is a function of (``BASE_SEED``, seed index, purpose, eval point) only.

``seed_key(s) = fold_in(key(BASE_SEED), s)``; ``init`` gets ``fold_in(seed_key(s), 0)``; the
evaluation at ``p`` env steps uses ``split(fold_in(fold_in(seed_key(s), 1), p), E)``. So seed
``s`` gets the same keys whether it runs alone or among others, and a resumed run needs nothing
from the host beyond the train state and the step count.
"""

from __future__ import annotations

import jax

#: The root of every key of a run.
BASE_SEED = 0
_INIT_STREAM = 0
_EVAL_STREAM = 1


def seed_key(seed: int | jax.Array) -> jax.Array:
    """The root key of seed index ``seed``."""
    return jax.random.fold_in(jax.random.key(BASE_SEED), seed)


def init_key(seed: int | jax.Array) -> jax.Array:
    """The key given to the agent's ``init`` for seed ``seed``."""
    return jax.random.fold_in(seed_key(seed), _INIT_STREAM)


def eval_keys(seed: int | jax.Array, env_steps: int | jax.Array, episodes: int) -> jax.Array:
    """``[episodes]`` episode keys of seed ``seed``'s evaluation at ``env_steps``."""
    point = jax.random.fold_in(jax.random.fold_in(seed_key(seed), _EVAL_STREAM), env_steps)
    return jax.random.split(point, episodes)
