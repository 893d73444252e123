"""Small in-memory datasets for the offline agents' unit tests (no Minari files needed)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pamdp_bench.datasets import collect
from pamdp_bench.registry import make


def random_dataset(env_id: str, transitions: int = 2_000, seed: int = 0) -> dict:
    """Uniform-random-policy episodes of ``env_id`` as ``load_arrays`` returns them."""
    env, params = make(env_id)
    space = env.pamdp_space

    def policy(obs: jax.Array, key: jax.Array):
        return space.sample_rand_action(key)

    data = collect.collect_episodes(env, params, policy, num_transitions=transitions,
                                    salt=seed + 1, policy_key=jax.random.key(seed), lanes=64)
    out = {k: jnp.asarray(v) for k, v in data.items() if k in (
        "obs", "next_obs", "k", "z", "reward", "terminated", "truncated", "success",
        "episode", "step")}
    out["z_pad"] = jax.vmap(lambda k, z: space.to_padded((k, z))[1])(out["k"], out["z"])
    return out
