"""Catch Point (``CatchPoint-v0``): contract, quirks C1-C4, golden replay, random-policy stats."""

from __future__ import annotations

import json
import os
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from env_checks import assert_deterministic_and_finite, assert_step_traces_once

import pamdp_bench
from pamdp_bench.envs.catch_point import CATCH, MOVE, CatchPoint, CatchPointParams
from pamdp_bench.harness.evaluate import random_policy_episodes

GOLDEN_DIR = os.environ.get("PAMDP_GOLDEN_DIR", "/work/shared/golden")
GOLDEN = os.path.join(GOLDEN_DIR, "catch_point.json")
needs_golden = pytest.mark.skipif(not os.path.isfile(GOLDEN), reason="golden data not found")

FAR = {"agent_pos": [0.0, 0.0], "agent_vel": [0.0, 0.0], "landmark_pos": [50.0, 50.0]}


@pytest.fixture(scope="module")
def env() -> CatchPoint:
    return CatchPoint()


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    with open(GOLDEN) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def step_env(env: CatchPoint) -> Any:
    return jax.jit(env.step_env)


def act(k: int, z: float = 0.0) -> tuple[jax.Array, jax.Array]:
    return jnp.int32(k), jnp.asarray([z], jnp.float32)


def run(step_env: Any, state: Any, params: Any, actions: list[tuple[int, float]]) -> list[Any]:
    out = []
    key = jax.random.key(0)
    for k, z in actions:
        obs, state, r, term, info = step_env(key, state, act(k, z), params)
        out.append((obs, state, r, term, info))
    return out


# --------------------------------------------------------------------------- contract
def test_registry_and_spaces(env: CatchPoint) -> None:
    made, params = pamdp_bench.make("CatchPoint-v0")
    assert isinstance(made, CatchPoint) and params == CatchPointParams()
    assert params.max_steps_in_episode == 25 and params.catch_budget == 11
    space = env.pamdp_space
    assert space.num_actions == 2 and space.param_dims == (1, 0) and space.max_param_dim == 1
    assert env.obs_dim == 6 and env.observation_space(params).shape == (6,)
    hyar = params.replace(obs_view="hyar")
    assert env.observation_space(hyar).shape == (4,)
    _, hp = pamdp_bench.make("CatchPoint-v0", obs_view="hyar")
    obs, _ = env.reset(jax.random.key(0), hp)
    assert obs.shape == (4,) and obs.dtype == jnp.float32
    with pytest.raises(ValueError, match="obs_view"):
        env.reset(jax.random.key(0), params.replace(obs_view="raw"))


def test_reset_and_step_structure_dtypes(env: CatchPoint) -> None:
    params = env.default_params
    obs0, s0 = env.reset(jax.random.key(1), params)
    obs1, s1, r, term, trunc, info = env.step(jax.random.key(2), s0, act(MOVE, 0.3), params)
    assert jax.tree.structure(s0) == jax.tree.structure(s1)
    for a, b in zip(jax.tree.leaves(s0), jax.tree.leaves(s1), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
    assert s0.agent_pos.dtype == jnp.float32 and s0.time.dtype == jnp.int32
    assert s0.fail_count.dtype == jnp.int32 and s0.valid_feat.dtype == jnp.float32
    assert obs0.shape == obs1.shape == (6,) and obs0.dtype == obs1.dtype == jnp.float32
    assert r.dtype == jnp.float32 and term.dtype == trunc.dtype == jnp.bool_
    assert info["success"].dtype == jnp.bool_ and info["force"].shape == (2,)
    assert info["force"].dtype == jnp.float32 and info["fail_count"].dtype == jnp.int32
    np.testing.assert_array_equal(obs0[:2], 0.0)
    np.testing.assert_array_equal(obs0[4:], -1.0)
    assert int(s1.time) == 1


def test_jit_compiles_once(env: CatchPoint) -> None:
    assert_step_traces_once(env)


def test_determinism_and_finite(env: CatchPoint) -> None:
    assert_deterministic_and_finite(env)


def test_auto_reset_terminated_on_exhausted_budget(env: CatchPoint) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    step = jax.jit(env.step)
    for t in range(1, 13):
        obs, state, r, term, trunc, info = step(jax.random.key(t), state, act(CATCH), params)
        if t < 12:
            assert not bool(term) and not bool(trunc) and int(state.time) == t
    # 12th catch: reward 0 (budget used up), terminated, not truncated, auto-reset.
    assert float(r) == 0.0 and bool(term) and not bool(trunc) and bool(info["budget_exhausted"])
    final = np.asarray(info["final_observation"])
    np.testing.assert_allclose(final[2:4], [50.0, 50.0])
    assert final[5] == pytest.approx(0.0, abs=1e-6)  # time feature after 12 steps
    assert int(state.time) == 0 and int(state.fail_count) == 0
    np.testing.assert_array_equal(np.asarray(obs)[[0, 1, 4, 5]], [0.0, 0.0, -1.0, -1.0])
    assert np.all(np.abs(np.asarray(obs)[2:4]) <= 2.0)


@pytest.mark.parametrize("cap", [25, 5])
def test_auto_reset_truncated_at_cap(env: CatchPoint, cap: int) -> None:
    params = env.default_params.replace(max_steps_in_episode=cap)
    state = env.state_from_golden(FAR, params)
    step = jax.jit(env.step)
    for t in range(1, cap + 1):
        obs, state, r, term, trunc, info = step(jax.random.key(t), state, act(MOVE, 0.25), params)
        assert not bool(term)
        assert bool(trunc) == (t == cap)
    assert float(r) < 0.0
    assert int(state.time) == 0
    np.testing.assert_allclose(np.asarray(info["final_observation"])[5], -1 + cap / 12, atol=1e-6)


def test_vmap_over_batch_and_params(env: CatchPoint) -> None:
    params = env.default_params
    keys = jax.random.split(jax.random.key(0), 64)
    obs, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    assert obs.shape == (64, 6)
    actions = jax.vmap(env.pamdp_space.sample)(keys)
    out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, states, actions, params)
    assert out[0].shape == (64, 6) and out[2].shape == (64,)

    # Batch over params: the reset range and the catch budget.
    batched = jax.tree.map(lambda x: jnp.broadcast_to(jnp.asarray(x), (2,)), params)
    batched = batched.replace(
        reset_range=jnp.asarray([0.1, 3.0], jnp.float32), catch_budget=jnp.asarray([1, 11])
    )
    _, st = jax.vmap(env.reset)(keys[:2], batched)
    assert np.all(np.abs(np.asarray(st.agent_pos[0])) <= 0.1)
    far = env.state_from_golden(FAR, params)
    far2 = jax.tree.map(lambda x: jnp.stack([x, x]), far)
    step = jax.jit(jax.vmap(env.step_env, in_axes=(None, 0, None, 0)))
    ends = []
    for _ in range(12):
        _, far2, r, term, _ = step(jax.random.key(0), far2, act(CATCH), batched)
        ends.append(np.asarray(term))
    ends = np.asarray(ends)
    assert np.argmax(ends[:, 0]) + 1 == 2  # budget 1: the 2nd catch ends the episode
    assert np.argmax(ends[:, 1]) + 1 == 12  # budget 11 (C1)


def test_invalid_actions_flagged(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    key = jax.random.key(0)
    _, s_bad, _, _, info = step_env(key, state, (jnp.int32(7), jnp.zeros(1)), params)
    _, s_ref, _, _, info_ref = step_env(key, state, act(CATCH), params)
    assert bool(info["invalid_action"]) and not bool(info_ref["invalid_action"])
    assert int(s_bad.fail_count) == int(s_ref.fail_count) == 1  # clipped to catch
    _, _, _, _, info = step_env(key, state, (jnp.int32(-3), jnp.zeros(1)), params)
    assert bool(info["invalid_action"])
    _, _, _, _, info = step_env(key, state, act(MOVE, float("nan")), params)
    assert bool(info["invalid_action"])
    np.testing.assert_allclose(np.asarray(info["force"]), [0.0, 2.0], atol=1e-7)  # NaN -> z = 0
    # A NaN in the move slice does not matter when the action is catch (no parameter).
    _, _, _, _, info = step_env(key, state, act(CATCH, float("nan")), params)
    assert not bool(info["invalid_action"])


# ----------------------------------------------------------------------------- quirks
def test_move_angle_in_float32_no_clip(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    key = jax.random.key(0)
    cases = {
        0.5: [2.0, 0.0],  # +x: angle measured clockwise from +y
        0.0: [0.0, 2.0],
        -1.0: [1.7484556e-07, -2.0],  # sin(-float32(pi)) in float64 is not 0 (golden README)
        1.5: [-2.0, 0.0],  # no clip: the angle wraps
    }
    for z, force in cases.items():
        _, s1, _, _, info = step_env(key, state, act(MOVE, z), params)
        np.testing.assert_allclose(np.asarray(info["force"]), force, rtol=1e-5, atol=2e-7)
        if z == -1.0:  # the float32 angle leaves a visible residue
            assert float(info["force"][0]) == pytest.approx(1.7484556e-07, rel=1e-3)
        np.testing.assert_allclose(np.asarray(s1.agent_vel), np.asarray(force) * 0.1, atol=1e-7)
    _, _, _, _, info = step_env(key, state, act(CATCH, 0.5), params)
    np.testing.assert_array_equal(np.asarray(info["force"]), [0.0, 0.0])


def test_C1_eleven_failed_catches_then_zero_reward(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    out = run(step_env, state, params, [(CATCH, 0.0)] * 12)
    rewards = [float(o[2]) for o in out]
    fails = [int(o[4]["fail_count"]) for o in out]
    terms = [bool(o[3]) for o in out]
    assert fails == [*range(1, 12), 11]
    assert rewards[:11] == pytest.approx([-5000.0] * 11)
    assert rewards[11] == 0.0 and terms == [False] * 11 + [True]
    # A budget of 10 (the "intended" count) ends one catch earlier.
    out = run(step_env, state, params.replace(catch_budget=10), [(CATCH, 0.0)] * 11)
    assert [bool(o[3]) for o in out] == [False] * 10 + [True]


def test_C1_moving_after_budget_also_pays_zero(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params.replace(catch_budget=1)
    state = env.state_from_golden(FAR, params)
    out = run(step_env, state, params, [(CATCH, 0.0), (MOVE, 0.25)])
    assert float(out[0][2]) < 0 and not bool(out[0][3])
    assert float(out[1][2]) == 0.0 and bool(out[1][3]) and not bool(out[1][4]["success"])


def test_C2_valid_feature_saturates_after_ten_failures(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    out = run(step_env, state, params, [(CATCH, 0.0)] * 12)
    valid = np.asarray([np.asarray(o[0])[4] for o in out], np.float32)
    timef = np.asarray([np.asarray(o[0])[5] for o in out], np.float32)
    # DLPA: float32(float64(f) + 1/6) while f <= 2/3 (float64 comparison).
    ref_v, ref_t, f, t = [], [], np.float32(-1), np.float32(-1)
    for _ in range(12):
        f = np.float32(float(f) + 1 / 6) if float(f) <= 2 / 3 else f
        t = np.float32(float(t) + 1 / 12)
        ref_v.append(f)
        ref_t.append(t)
    np.testing.assert_array_equal(valid, np.asarray(ref_v, np.float32))
    np.testing.assert_array_equal(timef, np.asarray(ref_t, np.float32))
    assert valid[9] == np.float32(0.6666667) and valid[10] == valid[9]  # saturated at 10
    assert valid[5] == np.float32(2.4835268e-08)  # float64-add rounding, not float32 adds
    # The env still allows the 11th failure (fail_count 11) although the feature stopped.
    assert int(out[10][4]["fail_count"]) == 11


def test_C2_feature_ignores_catches_inside_and_moves(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    out = run(step_env, state, params, [(MOVE, 0.1), (MOVE, -0.3)])
    assert [float(np.asarray(o[0])[4]) for o in out] == [-1.0, -1.0]


def test_C3_catch_has_no_parameter(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    state = env.state_from_golden(FAR, params)
    key = jax.random.key(0)
    a = step_env(key, state, act(CATCH, 0.9), params)
    b = step_env(key, state, act(CATCH, -0.2), params)
    chex.assert_trees_all_equal(a[1], b[1])
    assert env.pamdp_space.param_slices[CATCH] == slice(1, 1)


def test_C4_no_arena_bounds(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    start = {"agent_pos": [0.9, 0.9], "agent_vel": [0.0, 0.0], "landmark_pos": [-0.9, -0.9]}
    state = env.state_from_golden(start, params)
    out = run(step_env, state, params, [(MOVE, 0.25)] * 24)
    last = out[-1][1]
    assert float(last.agent_pos[0]) > 1.5 and float(last.agent_pos[1]) > 1.5
    rewards = [float(o[2]) for o in out]
    assert all(b < a for a, b in zip(rewards, rewards[1:], strict=False))  # d2 keeps growing


def test_success_reward_and_termination(env: CatchPoint, step_env: Any) -> None:
    params = env.default_params
    inside = {"agent_pos": [0.3, -0.2], "agent_vel": [0.0, 0.0], "landmark_pos": [0.35, -0.1]}
    state = env.state_from_golden(inside, params)
    (obs, s1, r, term, info), = run(step_env, state, params, [(CATCH, 0.0)])
    assert bool(info["success"]) and bool(term) and float(r) == pytest.approx(20 - 0.0125, 1e-6)
    assert int(s1.fail_count) == 0 and float(np.asarray(obs)[4]) == -1.0
    # Inside the radius but moving: no success, just -d2.
    (_, _, r, term, info), = run(step_env, state, params, [(MOVE, 0.0)])
    assert not bool(info["success"]) and not bool(term) and float(r) < 0


# ------------------------------------------------------------------------------ golden
@needs_golden
def test_golden_replay(env: CatchPoint, step_env: Any, golden: dict[str, Any]) -> None:
    """Every recorded episode, step by step (obs, reward, terminal incl. cap, success, force)."""
    params = env.noise_free(env.default_params)
    key = jax.random.key(0)
    for i, ep in enumerate(golden["episodes"]):
        state = env.state_from_golden(ep["init"], params)
        np.testing.assert_allclose(
            np.asarray(env.get_obs(state, params)), np.float32(ep["obs0"]), atol=1e-6
        )
        s = ep["steps"]
        for t in range(ep["length"]):
            k = s["k"][t]
            z = s["z"][t][0] if k == MOVE else 0.0
            obs, state, r, term, info = step_env(key, state, act(k, z), params)
            where = f"episode {i} ({ep['kind']}) step {t + 1}"
            terminal = bool(term) or bool(env.is_truncated(state, params))
            assert terminal == s["terminal"][t], where
            assert bool(info["success"]) == s["success"][t], where
            assert int(info["fail_count"]) == s["fail_count"][t], where
            np.testing.assert_allclose(obs, np.float32(s["obs"][t]), atol=2e-6, err_msg=where)
            np.testing.assert_allclose(float(r), s["reward"][t], rtol=1e-6, atol=2e-6)
            np.testing.assert_allclose(info["force"], s["force"][t], rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------- distribution
def test_reset_distribution(env: CatchPoint) -> None:
    keys = jax.random.split(jax.random.key(3), 4000)
    for r in (1.0, 2.5):
        params = env.default_params.replace(reset_range=r)
        _, st = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
        pos = np.concatenate([np.asarray(st.agent_pos), np.asarray(st.landmark_pos)], axis=1)
        assert np.all(np.abs(pos) <= r)
        np.testing.assert_allclose(pos.mean(0), 0.0, atol=0.06 * r)
        np.testing.assert_allclose(pos.std(0), r / np.sqrt(3), rtol=0.04)
        assert abs(np.corrcoef(pos[:, 0], pos[:, 2])[0, 1]) < 0.06  # independent draws
        np.testing.assert_array_equal(np.asarray(st.agent_vel), 0.0)


def _episodes(env: Any, params: Any, key: jax.Array, num: int) -> dict[str, np.ndarray]:
    """DLPA's random policy over ``num`` episodes via the harness's episode runner."""
    out = random_policy_episodes(env, params, key, num)
    return {"return": out["ret"].astype(np.float64), "length": out["len"],
            "success": out["success"], "term": out["terminated"]}


@needs_golden
def test_random_policy_matches_original_stats(env: CatchPoint) -> None:
    with open(os.path.join(GOLDEN_DIR, "stats.json")) as f:
        ref = json.load(f)["random_policy"]["catch_point"]
    num = 3000
    ep = _episodes(env, env.default_params, jax.random.key(11), num)
    sem = np.hypot(ep["return"].std(ddof=1) / np.sqrt(num), ref["return_sem"])
    assert abs(ep["return"].mean() - ref["return_mean"]) < 4 * sem
    s = ep["success"].mean()
    s_sem = np.hypot(np.sqrt(s * (1 - s) / num), ref["success_sem"])
    assert abs(s - ref["success_rate"]) < 4 * s_sem
    budget = (ep["term"] & ~ep["success"]).mean()
    assert abs(budget - ref["end_reason"]["catch_budget_exhausted"]) < 0.04
    assert abs(ep["length"].mean() - ref["length_mean"]) < 0.4
    assert ep["length"].max() == 25
