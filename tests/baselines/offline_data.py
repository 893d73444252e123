"""Small in-memory datasets for the offline agents' unit tests (no Minari files needed)."""

from __future__ import annotations

from pamdp_bench.datasets.collect import random_policy_arrays
from pamdp_bench.registry import make


def random_dataset(env_id: str, transitions: int = 2_000, seed: int = 0) -> dict:
    """Uniform-random-policy episodes of ``env_id`` as ``load_arrays`` returns them."""
    env, params = make(env_id)
    return random_policy_arrays(env, params, transitions, seed=seed, lanes=64)
