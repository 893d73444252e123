"""Hard Move n (``HardMove-n<N>-v0``): tables, quirks M1-M2, contract, golden replay, stats."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from env_checks import assert_deterministic_and_finite, assert_step_traces_once

import pamdp_bench
from pamdp_bench.envs.hard_move import (
    HardMove,
    HardMoveParams,
    motion_table,
    movement_table,
    raw_motion_table,
)
from pamdp_bench.harness.evaluate import random_policy_episodes

GOLDEN_DIR = os.environ.get("PAMDP_GOLDEN_DIR", "/work/shared/golden")
needs_golden = pytest.mark.skipif(
    not os.path.isfile(os.path.join(GOLDEN_DIR, "hard_move_4.json")), reason="golden data not found"
)
#: Spec §6.1: normalisers max_k |raw_motion[k]| and zero-motion counts, measured on the original.
NORMALISERS = {4: 1.414214, 6: 2.0, 8: 2.612929, 10: 3.236369}
ZERO_MOTIONS = {4: 4, 6: 10, 8: 16, 10: 34}
FAR = {"agent_pos": [0.0, 0.0], "agent_vel": [0.0, 0.0], "landmark_pos": [50.0, -50.0]}


def golden(n: int) -> dict[str, Any]:
    with open(os.path.join(GOLDEN_DIR, f"hard_move_{n}.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def env() -> HardMove:
    return HardMove(4)


@pytest.fixture(scope="module")
def step_env(env: HardMove) -> Any:
    return jax.jit(env.step_env)


def act(env: HardMove, k: int, p: float) -> tuple[jax.Array, jax.Array]:
    z = np.zeros(env.pamdp_space.total_param_dim, np.float32)
    z[k] = p
    return jnp.int32(k), jnp.asarray(z)


# ------------------------------------------------------------------------------ tables
def test_n4_table_from_spec() -> None:
    motions, norm = motion_table(4)
    s = np.sqrt(0.5)
    table = [
        (0, 0), (0, -s), (-s, 0), (-s, -s), (0, s), (0, 0), (-s, s), (-s, 0),
        (s, 0), (s, -s), (0, 0), (0, -s), (s, s), (s, 0), (0, s), (0, 0),
    ]  # fmt: skip
    np.testing.assert_allclose(motions, table, atol=1e-12)
    assert norm == pytest.approx(np.sqrt(2.0), abs=1e-12)


@pytest.mark.parametrize("n", [4, 6, 8, 10])
def test_tables_match_original(n: int) -> None:
    motions, norm = motion_table(n)
    assert norm == pytest.approx(NORMALISERS[n], abs=5e-7)
    zero = np.hypot(motions[:, 0], motions[:, 1]) < 1e-9
    assert int(zero.sum()) == ZERO_MOTIONS[n]
    assert motions.shape == (2**n, 2)
    if os.path.isfile(os.path.join(GOLDEN_DIR, f"hard_move_{n}.json")):
        g = golden(n)
        np.testing.assert_array_equal(movement_table(n), np.asarray(g["movement"]))
        np.testing.assert_allclose(motions, np.asarray(g["motions"]), rtol=1e-8, atol=1e-9)


def test_M1_actuator_directions_rounded_to_3_decimals() -> None:
    m6, m10 = movement_table(6), movement_table(10)
    assert m6[1, 1] == 0.866 and m6[1, 0] == 0.5  # sin 60 deg, cos 60 deg
    assert m10[1, 0] == 0.809 and m10[1, 1] == 0.588  # cos 36 deg, sin 36 deg
    assert np.signbit(movement_table(4)[3, 0])  # the harmless -0.0 of cos(270 deg)
    # The rounding shows up in the normalised motions (1e-4 level): unrounded would differ.
    raw = raw_motion_table(6)
    assert raw[0b010000, 1] == 0.866 and raw[0b010000, 1] != np.sin(np.pi / 3)
    # k = 0b011000 switches on actuators 1 and 2: (0.5 + -0.5, 0.866 + 0.866).
    np.testing.assert_array_equal(raw[0b011000], [0.0, 1.732])


def test_M2_one_scalar_parameter_scales_the_whole_force(env: HardMove, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    key = jax.random.key(0)
    assert env.pamdp_space.param_dims == (1,) * 16
    k = 0b1100  # actuators 0 (+x) and 1 (+y): the (1, 1)/sqrt(2) diagonal
    forces = {}
    for p in (1.0, -1.0, 1.7, -1.5, 0.0):
        _, _, _, _, info = step_env(key, state, act(env, k, p), params)
        forces[p] = np.asarray(info["force"])
    np.testing.assert_allclose(forces[1.0], [np.sqrt(2.0), np.sqrt(2.0)], rtol=1e-6)
    np.testing.assert_allclose(forces[-1.0], -forces[1.0], rtol=1e-7)  # p < 0 reverses
    np.testing.assert_allclose(forces[1.7], 1.7 * forces[1.0], rtol=1e-6)  # no clip
    np.testing.assert_allclose(forces[-1.5], -1.5 * forces[1.0], rtol=1e-6)
    np.testing.assert_array_equal(forces[0.0], [0.0, 0.0])
    # Zero-motion combinations (opposite actuators cancel): no force whatever p is.
    for k0 in (0b0000, 0b0101, 0b1010, 0b1111):
        _, s1, _, _, info = step_env(key, state, act(env, k0, 1.0), params)
        np.testing.assert_array_equal(np.asarray(info["force"]), [0.0, 0.0])
        np.testing.assert_array_equal(np.asarray(s1.agent_pos), [0.0, 0.0])


@pytest.mark.parametrize("n", [12, 14, 16])
def test_large_n_builds_linear_in_K(n: int) -> None:
    t0 = time.perf_counter()
    env = HardMove(n)
    assert time.perf_counter() - t0 < 5.0
    K = 2**n
    assert env.num_actions == K and env.pamdp_space.total_param_dim == K
    assert env.motions_f64.shape == (K, 2)
    assert np.max(np.hypot(env.motions_f64[:, 0], env.motions_f64[:, 1])) == pytest.approx(1.0)
    if n == 16:  # one jitted step with the full flat z of 65536 parameters
        params = env.default_params
        state = env.state_from_golden(FAR, params)
        k = K - 2  # all actuators but the last
        z = jnp.zeros(K, jnp.float32).at[k].set(1.0)
        _, s1, r, term, info = jax.jit(env.step_env)(jax.random.key(0), state, (k, z), params)
        np.testing.assert_allclose(np.asarray(info["force"]), 2 * env.motions_f64[k], rtol=1e-6)
        assert np.isfinite(float(r)) and not bool(term)


def test_invalid_n_rejected() -> None:
    for n in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n >= 1"):
            HardMove(n)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- contract
def test_registry(env: HardMove) -> None:
    for n in (4, 6, 8, 10):
        made, params = pamdp_bench.make(f"HardMove-n{n}-v0")
        assert isinstance(made, HardMove) and made.n == n and made.num_actions == 2**n
        assert params == HardMoveParams() and params.max_steps_in_episode == 25
    _, hyar = pamdp_bench.make("HardMove-n4-v0", max_steps_in_episode=30)
    assert hyar.max_steps_in_episode == 30
    assert env.obs_dim == 4 and env.observation_space(env.default_params).shape == (4,)


def test_reset_and_step_structure_dtypes(env: HardMove) -> None:
    params = env.default_params
    obs0, s0 = env.reset(jax.random.key(1), params)
    obs1, s1, r, term, trunc, info = env.step(jax.random.key(2), s0, act(env, 3, 0.4), params)
    assert jax.tree.structure(s0) == jax.tree.structure(s1)
    for a, b in zip(jax.tree.leaves(s0), jax.tree.leaves(s1), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
    assert s0.agent_pos.dtype == jnp.float32 and s0.time.dtype == jnp.int32
    assert obs0.shape == obs1.shape == (4,) and obs0.dtype == obs1.dtype == jnp.float32
    assert r.dtype == jnp.float32 and term.dtype == trunc.dtype == jnp.bool_
    assert info["success"].dtype == jnp.bool_
    assert info["force"].shape == (2,) and info["force"].dtype == jnp.float32
    np.testing.assert_array_equal(obs0[:2], 0.0)
    np.testing.assert_allclose(obs0[2:], s0.landmark_pos - s0.agent_pos)


def test_jit_compiles_once(env: HardMove) -> None:
    assert_step_traces_once(env)


def test_determinism_and_finite(env: HardMove) -> None:
    assert_deterministic_and_finite(env)


@pytest.mark.parametrize("cap", [25, 30])
def test_auto_reset_truncated_at_cap(env: HardMove, cap: int) -> None:
    params = env.default_params.replace(max_steps_in_episode=cap)
    state = env.state_from_golden(FAR, params)
    step = jax.jit(env.step)
    for t in range(1, cap + 1):
        obs, state, r, term, trunc, info = step(jax.random.key(t), state, act(env, 9, 1.0), params)
        assert not bool(term) and bool(trunc) == (t == cap)
    final = np.asarray(info["final_observation"])
    assert final[2] < 50.0 and final[3] > -50.0  # moved towards (50, -50) with k = 0b1001
    assert int(state.time) == 0
    np.testing.assert_array_equal(np.asarray(obs)[:2], 0.0)
    assert np.all(np.abs(np.asarray(obs)[2:]) <= 2.0)


def test_auto_reset_terminated_on_success(env: HardMove) -> None:
    params = env.default_params
    start = {"agent_pos": [0.0, 0.0], "agent_vel": [0.0, 0.0], "landmark_pos": [0.1, 0.0]}
    state = env.state_from_golden(start, params)
    _, s1, r, term, trunc, info = jax.jit(env.step)(
        jax.random.key(0), state, act(env, 0b1000, 1.0), params
    )
    assert bool(term) and not bool(trunc) and bool(info["success"])
    d2 = (0.1 - 0.1 * 0.1 * 2 * np.sqrt(0.5)) ** 2
    assert float(r) == pytest.approx(20.0 - d2, rel=1e-6)
    assert int(s1.time) == 0
    np.testing.assert_allclose(np.asarray(info["final_observation"])[0], 0.2 * np.sqrt(0.5))
    # Just outside the radius: -d2, no success.
    start["landmark_pos"] = [0.25, 0.0]
    state = env.state_from_golden(start, params)
    _, _, r, term, info = jax.jit(env.step_env)(jax.random.key(0), state, act(env, 0, 0), params)
    assert not bool(term) and float(r) == pytest.approx(-0.0625)


def test_vmap_over_batch_and_params(env: HardMove) -> None:
    params = env.default_params
    keys = jax.random.split(jax.random.key(0), 64)
    obs, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    actions = jax.vmap(env.pamdp_space.sample)(keys)
    out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, states, actions, params)
    assert out[0].shape == (64, 4) and out[2].shape == (64,)
    batched = jax.tree.map(lambda x: jnp.broadcast_to(jnp.asarray(x), (2,)), params)
    batched = batched.replace(
        max_steps_in_episode=jnp.asarray([25, 30]), force_scale=jnp.asarray([2.0, 4.0])
    )
    state = env.state_from_golden(FAR, params)
    step = jax.jit(jax.vmap(env.step, in_axes=(None, None, None, 0)))
    _, s1, _, _, _, info = step(jax.random.key(0), state, act(env, 8, 1.0), batched)
    expected = np.sqrt(0.5) * np.asarray([[2.0, 0.0], [4.0, 0.0]])
    np.testing.assert_allclose(np.asarray(info["force"]), expected, rtol=1e-6)
    trunc = jax.vmap(env.is_truncated)(s1.replace(time=jnp.asarray([25, 25])), batched)
    np.testing.assert_array_equal(np.asarray(trunc), [True, False])


def test_invalid_actions_flagged(env: HardMove, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    key = jax.random.key(0)
    z = jnp.zeros(16, jnp.float32)
    _, _, _, _, info = step_env(key, state, (jnp.int32(16), z.at[15].set(1.0)), params)
    assert bool(info["invalid_action"])
    np.testing.assert_array_equal(np.asarray(info["force"]), [0.0, 0.0])  # clipped to k = 15
    _, _, _, _, info = step_env(key, state, (jnp.int32(-1), z), params)
    assert bool(info["invalid_action"])
    _, _, _, _, info = step_env(key, state, (jnp.int32(8), z.at[8].set(jnp.nan)), params)
    assert bool(info["invalid_action"])
    np.testing.assert_array_equal(np.asarray(info["force"]), [0.0, 0.0])  # NaN -> p = 0
    z_other_nan = z.at[3].set(jnp.nan).at[8].set(1.0)
    _, _, _, _, info = step_env(key, state, (jnp.int32(8), z_other_nan), params)
    assert not bool(info["invalid_action"])  # another action's NaN is not read


# ------------------------------------------------------------------------------ golden
@needs_golden
@pytest.mark.parametrize("n", [4, 6, 8, 10])
def test_golden_replay(n: int) -> None:
    """Every recorded episode, step by step (obs, reward, terminal incl. cap, success, force)."""
    env = HardMove(n)
    params = env.noise_free(env.default_params)
    step = jax.jit(env.step_env)
    key = jax.random.key(0)
    for i, ep in enumerate(golden(n)["episodes"]):
        state = env.state_from_golden(ep["init"], params)
        np.testing.assert_allclose(
            np.asarray(env.get_obs(state, params)), np.float32(ep["obs0"]), atol=1e-6
        )
        s = ep["steps"]
        for t in range(ep["length"]):
            k = s["k"][t]
            obs, state, r, term, info = step(key, state, act(env, k, s["z"][t][0]), params)
            where = f"n={n} episode {i} ({ep['kind']}) step {t + 1}"
            terminal = bool(term) or bool(env.is_truncated(state, params))
            assert terminal == s["terminal"][t], where
            assert bool(info["success"]) == s["success"][t], where
            np.testing.assert_allclose(obs, np.float32(s["obs"][t]), atol=2e-6, err_msg=where)
            np.testing.assert_allclose(float(r), s["reward"][t], rtol=1e-6, atol=2e-6)
            np.testing.assert_allclose(info["force"], s["force"][t], rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------- distribution
def _episodes(env: Any, params: Any, key: jax.Array, num: int) -> dict[str, np.ndarray]:
    """DLPA's random policy over ``num`` episodes via the harness's episode runner."""
    out = random_policy_episodes(env, params, key, num)
    return {"return": out["ret"].astype(np.float64), "length": out["len"],
            "success": out["success"], "term": out["terminated"]}


@needs_golden
@pytest.mark.parametrize("n", [4, 8])
def test_random_policy_matches_original_stats(n: int) -> None:
    with open(os.path.join(GOLDEN_DIR, "stats.json")) as f:
        ref = json.load(f)["random_policy"][f"hard_move_{n}"]
    env = HardMove(n)
    num = 3000
    ep = _episodes(env, env.default_params, jax.random.key(5 + n), num)
    sem = np.hypot(ep["return"].std(ddof=1) / np.sqrt(num), ref["return_sem"])
    assert abs(ep["return"].mean() - ref["return_mean"]) < 4 * sem
    s = ep["success"].mean()
    s_sem = np.hypot(np.sqrt(s * (1 - s) / num), ref["success_sem"])
    assert abs(s - ref["success_rate"]) < 4 * s_sem
    assert np.array_equal(ep["term"], ep["success"])  # the only ending besides the cap
    assert abs(ep["length"].mean() - ref["length_mean"]) < 0.3
