"""Checks shared by the per-env test files."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def assert_deterministic_and_finite(env: Any, steps: int = 60) -> None:
    """A jitted random rollout (auto-reset included) repeats exactly under the same key, is
    finite, and changes with the key."""
    params = env.default_params

    def rollout(key: jax.Array) -> jax.Array:
        rk, key = jax.random.split(key)
        _, state = env.reset(rk, params)

        def body(state: Any, k: jax.Array) -> tuple[Any, jax.Array]:
            ak, sk = jax.random.split(k)
            obs, state, r, *_ = env.step(sk, state, env.pamdp_space.sample(ak), params)
            return state, jnp.concatenate([obs, r[None]])

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    f = jax.jit(rollout)
    a, b = f(jax.random.key(7)), f(jax.random.key(7))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.all(np.isfinite(np.asarray(a)))
    assert not np.array_equal(np.asarray(a), np.asarray(f(jax.random.key(8))))


def assert_step_traces_once(env: Any, steps: int = 5) -> None:
    """A jitted ``step`` compiles once across random actions and the states it returns."""
    import chex

    params = env.default_params
    chex.clear_trace_counter()

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(key: jax.Array, state: Any, action: Any) -> Any:
        return env.step(key, state, action, params)

    _, state = env.reset(jax.random.key(0), params)
    for i in range(steps):
        action = env.pamdp_space.sample(jax.random.key(100 + i))
        _, state, *_ = step(jax.random.key(i), state, action)

