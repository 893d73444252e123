"""Platform-v0: conformance with the original (golden set A and B), API and quirk checks."""

from __future__ import annotations

import json
from pathlib import Path

import chex
import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pamdp_bench
from pamdp_bench.envs import platform as plat
from pamdp_bench.envs.platform import Platform, PlatformParams, PlatformState

GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "golden"
needs_golden = pytest.mark.skipif(
    not (GOLDEN / "platform.json").exists(), reason="shared/golden not next to the repo"
)

# Spec §2.3, measured on the original.
RESET_OBS = [-0.962085, -1, -0.555556, -1, 0.818182, 1, 0.914894, -1, -1]


@pytest.fixture(scope="module")
def env_params():
    return pamdp_bench.make("Platform-v0")


@pytest.fixture(scope="module")
def jitted(env_params):
    env, _ = env_params
    return {
        "step": jax.jit(env.step),
        "step_env": jax.jit(env.step_env),
        "reset": jax.jit(env.reset),
    }


def action(k: int, zk: float) -> tuple[jax.Array, jax.Array]:
    z = np.zeros(3, np.float32)
    z[k] = zk
    return jnp.int32(k), jnp.asarray(z)


# ---------------------------------------------------------------------------- golden A
def _golden_episodes():
    if not (GOLDEN / "platform.json").exists():
        return []
    return json.loads((GOLDEN / "platform.json").read_text())["episodes"]


EPISODES = _golden_episodes()


@needs_golden
def test_golden_has_39_episodes():
    assert len(EPISODES) == 39


@needs_golden
@pytest.mark.parametrize("idx", range(len(EPISODES)))
def test_golden_episode_step_by_step(idx, env_params, jitted):
    """Noise off: every step's obs, reward, flags, substeps, raw state and parameters."""
    env, params = env_params
    params = env.noise_free(params)
    ep = EPISODES[idx]
    obs, state = jitted["reset"](jax.random.key(0), params)
    np.testing.assert_allclose(obs, np.float32(ep["obs0"]), atol=1e-6)
    np.testing.assert_allclose(state.as_vector(), ep["state0"], atol=0)
    gstate = env.state_from_golden(ep["init"], params)
    chex.assert_trees_all_equal(gstate, state)
    steps = ep["steps"]
    key = jax.random.key(idx)
    for t in range(ep["length"]):
        k, zk = steps["k"][t], steps["z"][t][0]
        wrapped, clipped = plat.map_parameter(jnp.int32(k), jnp.float32(zk), params)
        np.testing.assert_allclose(wrapped, steps["param_wrapped"][t][0], rtol=1e-7, atol=1e-6)
        np.testing.assert_allclose(clipped, steps["param_env"][t][0], rtol=1e-7, atol=1e-6)
        key, sk = jax.random.split(key)
        obs, state, reward, terminated, info = jitted["step_env"](sk, state, action(k, zk), params)
        truncated = env.is_truncated(state, params)
        where = f"episode {idx} ({ep['kind']}) step {t}"
        assert int(info["substeps"]) == steps["substeps"][t], where
        assert bool(terminated | truncated) == steps["terminal"][t], where
        assert bool(truncated & ~terminated) == steps["timeout"][t], where
        assert bool(info["success"]) == steps["success"][t], where
        assert not bool(info["inner_cap_hit"]), where
        np.testing.assert_allclose(obs, np.float32(steps["obs"][t]), atol=2e-5, err_msg=where)
        np.testing.assert_allclose(reward, steps["reward"][t], atol=5e-6, err_msg=where)
        np.testing.assert_allclose(
            state.as_vector(), steps["state"][t], rtol=2e-6, atol=2e-3, err_msg=where
        )
        # P3: on the ground y is exactly 40 and vy exactly 0, never merely close.
        if not steps["terminal"][t]:
            assert float(state.y) == 40.0 and float(state.vy) == 0.0, where
    assert bool(terminated | truncated)


@needs_golden
def test_golden_episode_through_public_step(env_params, jitted):
    """The same trajectory through gymnax's ``step`` (auto-reset, final_observation)."""
    env, params = env_params
    params = env.noise_free(params)
    ep = next(e for e in EPISODES if e["kind"] == "scripted_success")
    _, state = jitted["reset"](jax.random.key(0), params)
    total = 0.0
    for t in range(ep["length"]):
        a = action(ep["steps"]["k"][t], ep["steps"]["z"][t][0])
        obs, state, reward, terminated, truncated, info = jitted["step"](
            jax.random.key(t), state, a, params
        )
        total += float(reward)
        np.testing.assert_allclose(
            info["final_observation"], np.float32(ep["steps"]["obs"][t]), atol=2e-5
        )
    assert bool(terminated) and not bool(truncated) and bool(info["success"])
    assert total == pytest.approx(1.0, abs=1e-5)
    # auto-reset: the returned obs/state are the reset ones
    np.testing.assert_allclose(obs, RESET_OBS, atol=1e-6)
    assert int(state.time) == 0


# ------------------------------------------------------------------------ reset, spaces
def test_reset(env_params):
    env, params = env_params
    obs, state = env.reset(jax.random.key(1), params)
    assert obs.shape == (9,) and obs.dtype == jnp.float32
    np.testing.assert_allclose(obs, RESET_OBS, atol=1e-6)
    np.testing.assert_array_equal(state.as_vector(), [0, 40, 0, 0, 230, -30, 730, -30])
    obs2, _ = env.reset(jax.random.key(2), params)
    np.testing.assert_array_equal(obs, obs2)  # the reset is deterministic


def test_spaces_and_registry(env_params):
    env, params = env_params
    assert isinstance(env, Platform) and isinstance(params, PlatformParams)
    space = env.action_space(params)
    assert space.num_actions == 3 and space.param_dims == (1, 1, 1)
    assert env.observation_space(params).shape == (9,)
    assert params.max_steps_in_episode == 200 and params.max_substeps == 200
    assert params.player_noise_std == pytest.approx(0.025)
    assert params.enemy_noise_std == pytest.approx(0.025)
    assert params.hop_noise_std == params.leap_noise_std == 1.0
    env2, params2 = gymnax.make("Platform-v0")
    assert isinstance(env2, Platform)
    _, p25 = pamdp_bench.make("Platform-v0", max_steps_in_episode=25)
    assert p25.max_steps_in_episode == 25


def test_raw_obs_view(env_params):
    env, params = env_params
    obs, _ = env.reset(jax.random.key(0), params.replace(raw_obs=True))
    np.testing.assert_array_equal(obs, [0, 0, 230, -30, 250, 275, 225, 0, 0])


def test_platform_features_and_enemy_choice():
    """x == 475: second platform's features but still enemy 1 (spec §2.5 boundary)."""
    s = plat.initial_state().replace(x=jnp.float32(475.0))
    raw = plat.raw_features(s)
    np.testing.assert_array_equal(raw, [475, 0, 230, -30, 275, 50, 235, 475, 0])
    s = s.replace(x=jnp.float32(985.0))
    np.testing.assert_array_equal(plat.raw_features(s), [985, 0, 730, -30, 50, 0, 0, 985, 0])


def test_parameter_mapping(env_params):
    _, params = env_params
    for k, hi in enumerate(plat.PARAMETERS_MAX):
        w, c = plat.map_parameter(jnp.int32(k), jnp.float32(1.7), params)
        assert float(w) == pytest.approx(hi * 1.35) and float(c) == hi
        w, c = plat.map_parameter(jnp.int32(k), jnp.float32(-1.5), params)
        assert float(w) == pytest.approx(-hi / 4) and float(c) == 0.0
    raw = params.replace(raw_params=True)
    w, c = plat.map_parameter(jnp.int32(1), jnp.float32(500.0), raw)
    assert float(w) == float(c) == 500.0


def test_raw_params_view_matches_agent_view(env_params, jitted):
    env, params = env_params
    params = env.noise_free(params)
    _, s = env.reset(jax.random.key(0), params)
    _, s_agent, r_agent, *_ = jitted["step_env"](jax.random.key(0), s, action(1, 0.25), params)
    raw_value = float(plat.map_parameter(jnp.int32(1), jnp.float32(0.25), params)[1])
    _, s_raw, r_raw, *_ = jitted["step_env"](
        jax.random.key(0), s, action(1, raw_value), params.replace(raw_params=True)
    )
    chex.assert_trees_all_equal(s_agent, s_raw)
    assert float(r_agent) == float(r_raw)


# ---------------------------------------------------------------------------- dynamics
def test_run_is_exactly_20_ticks_and_stays_on_ground(env_params):
    env, params = env_params
    _, s = env.reset(jax.random.key(0), params)
    _, s, r, term, info = env.step_env(jax.random.key(3), s, action(0, 0.0), params)
    assert int(info["substeps"]) == 20 and not bool(term)
    assert float(s.y) == 40.0 and float(s.vy) == 0.0  # P3, noise on
    assert 0.0 < float(s.vx) <= np.float32(70.0) * np.float32(0.99)


def test_first_enemy_update_flips_direction(env_params):
    """P2 (and P1): from reset one run tick moves enemy 1 right; enemy 2 stays frozen."""
    env, params = env_params
    params = env.noise_free(params).replace(max_substeps=1)
    _, s = env.reset(jax.random.key(0), params)
    _, s, *_ = env.step_env(jax.random.key(0), s, action(0, -1.0), params)
    assert float(s.enemy1_dx) == 30.0 and float(s.enemy1_x) == 230.0  # flipped, clipped
    assert float(s.enemy2_x) == 730.0 and float(s.enemy2_dx) == -30.0


def test_hop_and_leap_land_on_platform(env_params):
    """Noise off: hop and leap air times are 144 / 104 ticks; vx is zeroed on landing (P4)."""
    env, params = env_params
    params = env.noise_free(params)
    # on the last platform, away from both enemies: jump straight up and land again
    s = plat.initial_state().replace(x=jnp.float32(1000.0))
    _, s1, r, term, info = env.step_env(jax.random.key(0), s, action(1, -1.0), params)
    assert int(info["substeps"]) == 144 and not bool(term)
    assert float(s1.y) == 40.0 and float(s1.vy) == 0.0 and float(s1.vx) == 0.0
    _, s2, r, term, info = env.step_env(jax.random.key(0), s, action(2, -1.0), params)
    assert int(info["substeps"]) == 104 and not bool(term)
    assert float(r) == 0.0


def test_falling_into_gap_ends_episode(env_params):
    """P6: running off the first platform ends the episode on the first tick below y = 40."""
    env, params = env_params
    params = env.noise_free(params)
    s = plat.initial_state().replace(x=jnp.float32(245.0), vx=jnp.float32(60.0))
    s = s.replace(enemy1_x=jnp.float32(0.0), enemy1_dx=jnp.float32(30.0))
    _, s, r, term, info = env.step_env(jax.random.key(0), s, action(0, 1.0), params)
    assert bool(term) and not bool(info["success"])
    assert float(s.y) < 40.0 and int(info["substeps"]) < 20


def test_reaching_goal_is_success(env_params):
    env, params = env_params
    params = env.noise_free(params)
    s = plat.initial_state().replace(
        x=jnp.float32(1000.0), vx=jnp.float32(70.0), enemy2_x=jnp.float32(475.0)
    )
    _, s, r, term, info = env.step_env(jax.random.key(0), s, action(0, 1.0), params)
    assert bool(term) and bool(info["success"])
    assert float(s.x) == 1035.0
    assert float(r) == pytest.approx(35.0 / 1035.0, rel=1e-6)


def test_inner_cap_flag(env_params):
    env, params = env_params
    _, s = env.reset(jax.random.key(0), params)
    capped = params.replace(max_substeps=10)
    for k in (0, 1, 2):
        _, s2, _, term, info = env.step_env(jax.random.key(0), s, action(k, 0.0), capped)
        assert int(info["substeps"]) == 10 and bool(info["inner_cap_hit"]) and not bool(term)
        _, _, _, _, info = env.step_env(jax.random.key(0), s, action(k, 0.0), params)
        assert not bool(info["inner_cap_hit"])


def test_time_limit_truncates(env_params, jitted):
    env, params = env_params
    params = params.replace(max_steps_in_episode=5)
    _, s = env.reset(jax.random.key(0), params)
    for t in range(5):
        _, s, r, term, trunc, info = jitted["step"](jax.random.key(t), s, action(0, -1.0), params)
        assert not bool(term)
        assert bool(trunc) == (t == 4)
    assert int(s.time) == 0  # auto-reset after truncation


def test_invalid_actions_are_sanitised(env_params):
    env, params = env_params
    _, s = env.reset(jax.random.key(0), params)
    k, z = action(0, 0.0)
    _, _, _, _, _, info = env.step(jax.random.key(0), s, (jnp.int32(7), z), params)
    assert bool(info["invalid_action"])
    bad = z.at[0].set(jnp.nan)
    obs, *_, info = env.step(jax.random.key(0), s, (k, bad), params)
    assert bool(info["invalid_action"]) and bool(jnp.all(jnp.isfinite(obs)))


# ---------------------------------------------------------------------- jax properties
def test_jit_once_deterministic_and_structure(env_params):
    env, params = env_params

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(key, state, a):
        return env.step(key, state, a, params)

    obs0, s0 = env.reset(jax.random.key(0), params)
    s = s0
    outs = []
    for t, (k, zk) in enumerate([(0, 0.3), (1, -0.2), (2, 0.9), (0, -1.0), (1, 1.0)]):
        out = step(jax.random.key(t), s, action(k, zk))
        outs.append(out)
        obs, s_next, r, term, trunc, info = out
        assert bool(jnp.all(jnp.isfinite(obs))) and bool(jnp.isfinite(r))
        chex.assert_trees_all_equal_shapes_and_dtypes(s_next, s0)
        assert r.dtype == jnp.float32 and obs.dtype == jnp.float32
        s = s_next
    # same key, same result
    again = step(jax.random.key(0), s0, action(0, 0.3))
    chex.assert_trees_all_equal(again, outs[0])
    other = step(jax.random.key(99), s0, action(0, 0.3))
    assert float(other[1].x) != float(outs[0][1].x)  # the noise depends on the key


def test_vmap_over_states_and_params(env_params):
    env, params = env_params
    batch = 64
    keys = jax.random.split(jax.random.key(0), batch)
    stds = jnp.linspace(0.0, 0.05, batch)
    pb = params.replace(player_noise_std=stds)
    in_axes = PlatformParams(
        max_steps_in_episode=None, player_noise_std=0, enemy_noise_std=None,
        hop_noise_std=None, leap_noise_std=None, max_substeps=None,
        raw_obs=None, raw_params=None,
    )  # fmt: skip
    _, s = jax.vmap(env.reset, (0, None))(keys, params)
    a = (jnp.zeros(batch, jnp.int32), jnp.full((batch, 3), -0.95, jnp.float32))  # run 0.75
    _, s2, r, *_ = jax.vmap(env.step, (0, 0, 0, in_axes))(keys, s, a, pb)
    assert isinstance(s2, PlatformState) and r.shape == (batch,)
    vx = np.asarray(s2.vx)
    assert vx[0] > vx[-1]  # more vx noise, less speed


def test_draw(env_params):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env, params = env_params
    _, s = env.reset(jax.random.key(0), params)
    fig, ax = plt.subplots()
    env.draw(ax, s, params)
    assert len(ax.patches) == 6
    plt.close(fig)


# ------------------------------------------------------------------------ golden B
def _stats():
    return json.loads((GOLDEN / "stats.json").read_text())


@needs_golden
def test_noisy_transitions_match_stats(env_params):
    """One step from reset with noise on: means within 5 combined standard errors."""
    env, params = env_params
    n = 4000
    s0 = plat.initial_state()
    one_step = jax.jit(
        jax.vmap(lambda key, k, z: env.transition(key, s0, k, z, params), (0, None, None))
    )
    for tr in _stats()["platform_transitions"]:
        k, zk = tr["k"], tr["z"][0]
        keys = jax.random.split(jax.random.key(1000 + 10 * k + int(3 * zk)), n)
        _, s, r, term, info = one_step(keys, jnp.int32(k), jnp.full((1,), zk, jnp.float32))
        where = f"{tr['action']} z={zk}"
        for name, ours, ref in [
            ("state", np.asarray(jax.vmap(PlatformState.as_vector)(s), np.float64), tr["state"]),
            ("reward", np.asarray(r, np.float64), tr["reward"]),
            ("substeps", np.asarray(info["substeps"], np.float64), tr["substeps"]),
        ]:
            m, sd = ours.mean(0), ours.std(0, ddof=1)
            rm, rs = np.asarray(ref["mean"]), np.asarray(ref["std"])
            se = np.sqrt(rs**2 / tr["samples"] + sd**2 / n)
            # components that are deterministic in both (std ~ 0) must agree to float32
            tol = np.maximum(5 * se, 1e-5 * np.maximum(1.0, np.abs(rm)))
            assert np.all(np.abs(m - rm) <= tol), (where, name, m, rm, se)
        p = tr["p_terminal"]
        se = np.sqrt(max(p * (1 - p), 1e-4) * (1 / tr["samples"] + 1 / n))
        assert abs(float(jnp.mean(term)) - p) <= 5 * se, where


@needs_golden
def test_random_policy_return_matches_stats(env_params):
    """DLPA's rand_action under the 200-step cap: mean return within 4 combined SEMs."""
    env, params = env_params
    ref = _stats()["random_policy"]["platform"]
    space = env.action_space(params)
    episodes = 4000

    def episode(key):
        _, state = env.reset(key, params)

        def body(c):
            key, state, ret, length, _ = c
            key, ka, ks = jax.random.split(key, 3)
            _, state, r, term, trunc, _ = env.step(ks, state, space.sample(ka), params)
            return key, state, ret + r, length + 1, term | trunc

        init = (key, state, jnp.float32(0.0), jnp.int32(0), jnp.bool_(False))
        _, _, ret, length, _ = jax.lax.while_loop(lambda c: ~c[4], body, init)
        return ret, length

    ret, length = jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(3), episodes))
    ret = np.asarray(ret, np.float64)
    sem = ret.std(ddof=1) / np.sqrt(episodes)
    assert abs(ret.mean() - ref["return_mean"]) <= 4 * np.hypot(sem, ref["return_sem"])
    assert ret.std(ddof=1) == pytest.approx(ref["return_std"], rel=0.1)
    length = np.asarray(length, np.float64)
    len_sem = np.hypot(length.std(ddof=1) / np.sqrt(episodes), ref["length_std"] / np.sqrt(5000))
    assert abs(length.mean() - ref["length_mean"]) <= 4 * len_sem
