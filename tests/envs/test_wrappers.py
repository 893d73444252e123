"""Tests of ``envs/wrappers.py`` (LogWrapper).

Most tests use a tiny private env whose rewards, endings and success are known exactly, so the
logged statistics can be checked against hand-computed values and a host-side oracle; one test
runs the wrapper on every real benchmark whose module exists.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from toy_env import ToyEnv

from pamdp_bench.envs.wrappers import LogEnvState, LogWrapper
from pamdp_bench.registry import BENCHMARK_IDS, make

MOVE = (jnp.int32(0), jnp.array([1.0, 0.0, 0.0], jnp.float32))  # +1 in x, reward 1
STAY = (jnp.int32(2), jnp.zeros((3,), jnp.float32))  # reward 3


def test_scripted_episodes_logged_exactly() -> None:
    """Success episode (3 moves, return 3) then a truncated one (6 stays, return 18)."""
    env = LogWrapper(ToyEnv())
    params = env.default_params
    key = jax.random.PRNGKey(0)
    obs, state = env.reset(key, params)
    assert isinstance(state, LogEnvState)
    assert not bool(state.returned_episode_valid)
    script = [MOVE] * 3 + [STAY] * 6
    records = []
    for i, action in enumerate(script):
        obs, state, reward, term, trunc, info = env.step(
            jax.random.PRNGKey(i + 1), state, action, params
        )
        records.append((float(reward), bool(term), bool(trunc), jax.device_get(info)))
    ended = [i for i, r in enumerate(records) if r[3]["returned_episode"]]
    assert ended == [2, 8]
    # First episode: terminated with success on step 3.
    info = records[2][3]
    assert records[2][1] and not records[2][2]
    assert info["returned_episode_returns"] == pytest.approx(3.0)
    assert info["returned_episode_lengths"] == 3
    assert bool(info["returned_episode_success"])
    assert bool(info["returned_episode_valid"])
    # Between endings the last completed episode's numbers persist.
    for i in range(3, 8):
        assert records[i][3]["returned_episode_returns"] == pytest.approx(3.0)
        assert bool(records[i][3]["returned_episode_success"])
        assert not records[i][3]["returned_episode"]
    # Second episode: truncated at the cap, no success.
    info = records[8][3]
    assert records[8][2] and not records[8][1]
    assert info["returned_episode_returns"] == pytest.approx(18.0)
    assert info["returned_episode_lengths"] == 6
    assert not bool(info["returned_episode_success"])
    # Running counters restart after each ending.
    assert float(state.episode_returns) == 0.0
    assert int(state.episode_lengths) == 0
    assert not bool(state.episode_success)
    assert info["success"] is not None  # wrapped env's info is kept


def _host_oracle(rewards, dones, successes):  # noqa: ANN001, ANN202
    """Per-env numpy reimplementation of the returned_* statistics."""
    steps, batch = rewards.shape
    out_r = np.zeros((steps, batch), np.float32)
    out_l = np.zeros((steps, batch), np.int32)
    out_s = np.zeros((steps, batch), bool)
    for b in range(batch):
        run_r, run_l, run_s = np.float32(0.0), 0, False
        last_r, last_l, last_s = np.float32(0.0), 0, False
        for t in range(steps):
            run_r = np.float32(run_r + rewards[t, b])
            run_l += 1
            run_s = run_s or bool(successes[t, b])
            if dones[t, b]:
                last_r, last_l, last_s = run_r, run_l, run_s
                run_r, run_l, run_s = np.float32(0.0), 0, False
            out_r[t, b], out_l[t, b], out_s[t, b] = last_r, last_l, last_s
    return out_r, out_l, out_s


def _scan_random(env: LogWrapper, params: Any, key: jax.Array, batch: int, steps: int):  # noqa: ANN202
    space = env.pamdp_space

    @jax.jit
    def run(key: jax.Array):  # noqa: ANN202
        keys = jax.random.split(key, batch + 1)
        _, state = jax.vmap(env.reset, in_axes=(0, None))(keys[1:], params)

        def body(carry, key):  # noqa: ANN001, ANN202
            state = carry
            k_act, k_step = jax.random.split(key)
            actions = jax.vmap(space.sample)(jax.random.split(k_act, batch))
            _, state, reward, term, trunc, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_step, batch), state, actions, params
            )
            return state, (reward, term | trunc, info)

        return jax.lax.scan(body, state, jax.random.split(keys[0], steps))

    return run(key)


def test_vmap_scan_matches_host_oracle() -> None:
    env = LogWrapper(ToyEnv())
    params = env.default_params.replace(goal=1.0)  # short episodes, both endings occur
    _, (reward, done, info) = _scan_random(env, params, jax.random.PRNGKey(3), 16, 40)
    reward, done, info = jax.device_get((reward, done, info))
    assert done.any() and info["success"].any() and (done & ~info["success"]).any()
    np.testing.assert_array_equal(info["returned_episode"], done)
    r, length, s = _host_oracle(reward, done, info["success"])
    np.testing.assert_allclose(info["returned_episode_returns"], r, rtol=1e-6)
    np.testing.assert_array_equal(info["returned_episode_lengths"], length)
    np.testing.assert_array_equal(info["returned_episode_success"], s)
    valid = np.maximum.accumulate(done, axis=0)
    np.testing.assert_array_equal(info["returned_episode_valid"], valid)


def test_vmap_over_params_caps() -> None:
    """Each batch member truncates at its own max_steps_in_episode."""
    env = LogWrapper(ToyEnv())
    caps = jnp.array([2, 3, 5], jnp.int32)
    params = jax.vmap(lambda c: env.default_params.replace(max_steps_in_episode=c))(caps)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    _, state = jax.vmap(env.reset)(keys, params)
    stay = (jnp.full((3,), 2, jnp.int32), jnp.zeros((3, 3), jnp.float32))
    step = jax.jit(jax.vmap(env.step))
    lengths = np.zeros(3, np.int32)
    for i in range(5):
        _, state, _, term, trunc, info = step(jax.random.split(keys[i % 3], 3), state, stay, params)
        first = np.asarray(info["returned_episode"]) & (lengths == 0)
        lengths = np.where(first, np.asarray(info["returned_episode_lengths"]), lengths)
    np.testing.assert_array_equal(lengths, [2, 3, 5])
    np.testing.assert_allclose(state.returned_episode_returns, [6.0, 9.0, 15.0])


def test_reset_and_step_state_structure_and_dtypes_identical() -> None:
    env = LogWrapper(ToyEnv())
    params = env.default_params
    _, s0 = env.reset(jax.random.PRNGKey(0), params)
    _, s1, *_ = env.step(jax.random.PRNGKey(1), s0, MOVE, params)
    chex.assert_trees_all_equal_shapes_and_dtypes(s0, s1)
    assert s0.episode_returns.dtype == jnp.float32
    assert s0.episode_lengths.dtype == jnp.int32
    assert s0.returned_episode_success.dtype == jnp.bool_


def test_step_traces_once() -> None:
    inner = ToyEnv()
    env = LogWrapper(inner)
    params = env.default_params
    _, state = env.reset(jax.random.PRNGKey(0), params)
    for i in range(6):
        action = MOVE if i % 2 else STAY
        _, state, *_ = env.step(jax.random.PRNGKey(i), state, action, params)
    assert inner.transition_traces == 1


def test_deterministic_under_fixed_key() -> None:
    env = LogWrapper(ToyEnv())
    a = _scan_random(env, env.default_params, jax.random.PRNGKey(7), 4, 12)
    b = _scan_random(env, env.default_params, jax.random.PRNGKey(7), 4, 12)
    chex.assert_trees_all_equal(a, b)


def test_missing_success_is_a_clear_error() -> None:
    env = LogWrapper(ToyEnv(with_success=False))
    _, state = env.reset(jax.random.PRNGKey(0))
    with pytest.raises(KeyError, match="success"):
        env.step(jax.random.PRNGKey(1), state, MOVE)


def test_attributes_forwarded_and_unwrapped() -> None:
    inner = ToyEnv()
    env = LogWrapper(LogWrapper(inner))
    assert env.obs_dim == 3
    assert env.pamdp_space.num_actions == 3
    assert env.unwrapped is inner


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0", "CatchPoint-v0", "HardMove-n4-v0"])
def test_real_env_under_jit_vmap(env_id: str) -> None:
    """The wrapper runs on each real benchmark family and logs consistent numbers."""
    assert env_id in BENCHMARK_IDS
    env, params = make(env_id, max_steps_in_episode=10)
    env = LogWrapper(env)
    _, (reward, done, info) = _scan_random(env, params, jax.random.PRNGKey(0), 8, 25)
    reward, done, info = jax.device_get((reward, done, info))
    assert done.any()
    r, length, s = _host_oracle(reward, done, info["success"])
    np.testing.assert_allclose(info["returned_episode_returns"], r, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(info["returned_episode_lengths"], length)
    np.testing.assert_array_equal(info["returned_episode_success"], s)
    assert (info["returned_episode_lengths"] <= 10).all()
