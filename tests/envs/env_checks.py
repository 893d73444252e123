"""Checks shared by the per-env test files."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from pamdp_bench.testing import check_env, random_rollout


def assert_deterministic_and_finite(env: Any, steps: int = 60) -> None:
    """A jitted random rollout (auto-reset included) repeats exactly under the same key, is
    finite (``pamdp_bench.testing.check_env``), and changes with the key."""
    params = env.default_params
    check_env(env, params, steps=steps, key=7)
    f = random_rollout(env, params, steps)
    assert not np.array_equal(np.asarray(f(jax.random.key(7))), np.asarray(f(jax.random.key(8))))


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

