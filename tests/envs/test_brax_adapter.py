"""brax adapter (``pamdp_bench.envs.brax_adapter``) and the brax PPO reference row.

Runs only with the ``brax`` extra installed (``pip install -e '.[dev,brax]'``).
"""

from __future__ import annotations

import importlib
import sys

import pytest

pytest.importorskip("brax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from brax.envs import training  # noqa: E402

from pamdp_bench.baselines import brax_ppo  # noqa: E402
from pamdp_bench.envs.brax_adapter import (  # noqa: E402
    BraxPAMDPEnv,
    decode_action,
    encode_action,
    training_env,
)
from pamdp_bench.harness.records import load_records, validate  # noqa: E402
from pamdp_bench.registry import make  # noqa: E402


def _actions(key: jax.Array, n: int, size: int) -> jax.Array:
    return jax.random.uniform(key, (n, size), jnp.float32, -1.0, 1.0)


def test_missing_brax_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "pamdp_bench.envs.brax_adapter"
    saved = sys.modules.pop(name)
    try:
        monkeypatch.setitem(sys.modules, "brax.envs.base", None)
        with pytest.raises(ImportError, match=r"pamdp-bench\[brax\]"):
            importlib.import_module(name)
    finally:
        sys.modules[name] = saved


def test_observation_size_follows_the_params_view() -> None:
    env = BraxPAMDPEnv("CatchPoint-v0", obs_view="hyar")
    assert env.observation_size == 4
    assert env.reset(jax.random.PRNGKey(0)).obs.shape == (4,)


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0", "HardMove-n4-v0"])
def test_reset_step_shapes(env_id: str) -> None:
    env = BraxPAMDPEnv(env_id)
    suite, _ = make(env_id)
    space = suite.pamdp_space
    assert env.action_size == space.num_actions + space.total_param_dim
    assert env.observation_size == suite.obs_dim
    assert isinstance(env.backend, str)
    state = env.reset(jax.random.PRNGKey(0))
    assert state.obs.shape == (suite.obs_dim,) and state.obs.dtype == jnp.float32
    nxt = env.step(state, _actions(jax.random.PRNGKey(1), 1, env.action_size)[0])
    assert nxt.obs.shape == state.obs.shape
    assert nxt.reward.shape == () and nxt.done.shape == ()
    assert jax.tree.structure(nxt) == jax.tree.structure(state)
    assert np.all(np.isfinite(np.asarray(nxt.obs)))


def test_decode_encode() -> None:
    a = jnp.array([0.1, 0.7, -0.2, 0.5, -0.5, 0.25], jnp.float32)
    k, z = decode_action(a, 3)
    assert int(k) == 1
    np.testing.assert_array_equal(np.asarray(z), [0.5, -0.5, 0.25])
    k2, z2 = decode_action(encode_action((jnp.int32(2), z), 3), 3)
    assert int(k2) == 2
    np.testing.assert_array_equal(np.asarray(z2), np.asarray(z))


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0"])
def test_matches_suite_env_stepped_with_decoded_action(env_id: str) -> None:
    """Same keys, decoded (k, z): the adapter reproduces the suite env's obs and reward."""
    env = BraxPAMDPEnv(env_id)
    suite, params = make(env_id)
    rng = jax.random.PRNGKey(3)
    state = env.reset(rng)
    chain, reset_key = jax.random.split(rng)
    obs, s = suite.reset_env(reset_key, params)
    np.testing.assert_array_equal(np.asarray(state.obs), np.asarray(obs))
    actions = _actions(jax.random.PRNGKey(4), 4, env.action_size)
    for a in actions:
        chain, step_key, _ = jax.random.split(chain, 3)
        k = jnp.argmax(a[: env.num_actions]).astype(jnp.int32)
        obs, s, reward, terminated, _ = suite.step_env(step_key, s, (k, a[env.num_actions:]),
                                                        params)
        state = env.step(state, a)
        np.testing.assert_array_equal(np.asarray(state.obs), np.asarray(obs))
        assert float(state.reward) == float(reward)
        assert float(state.info["terminated"]) == float(terminated)
        if bool(terminated):
            break


def test_jit_and_vmap_match_single() -> None:
    env = BraxPAMDPEnv("Goal-v0")
    keys = jax.random.split(jax.random.PRNGKey(5), 4)
    acts = _actions(jax.random.PRNGKey(6), 4, env.action_size)
    states = jax.jit(jax.vmap(env.reset))(keys)
    nxt = jax.jit(jax.vmap(env.step))(states, acts)
    assert nxt.obs.shape == (4, env.observation_size) and nxt.done.shape == (4,)
    one = env.step(env.reset(keys[2]), acts[2])
    np.testing.assert_allclose(np.asarray(nxt.obs[2]), np.asarray(one.obs), atol=1e-4)
    assert float(nxt.reward[2]) == pytest.approx(float(one.reward), abs=1e-4)


def _hold_still(env: BraxPAMDPEnv) -> jax.Array:
    """Hard Move action with zero force on every actuator (the episode cannot end early)."""
    return encode_action((jnp.int32(0), jnp.zeros(env.total_param_dim)), env.num_actions)


def test_done_and_truncation_flags_own_cap() -> None:
    env = BraxPAMDPEnv("HardMove-n4-v0", max_steps_in_episode=3)
    state = env.reset(jax.random.PRNGKey(0))
    a = _hold_still(env)
    flags = []
    for _ in range(3):
        state = env.step(state, a)
        flags.append((float(state.done), float(state.info["truncation"]),
                      float(state.info["terminated"])))
    assert flags == [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1.0, 1.0, 0.0)]
    off = BraxPAMDPEnv("HardMove-n4-v0", max_steps_in_episode=3, own_cap=False)
    state = off.reset(jax.random.PRNGKey(0))
    for _ in range(3):
        state = off.step(state, a)
    assert float(state.done) == 0.0 and float(state.info["truncation"]) == 0.0


def test_termination_is_not_truncation() -> None:
    """Platform: running left off the first platform's start ends the episode (terminal)."""
    env = BraxPAMDPEnv("Platform-v0")
    state = env.reset(jax.random.PRNGKey(0))
    a = encode_action((jnp.int32(2), jnp.ones(env.total_param_dim)), env.num_actions)  # leap
    for _ in range(20):
        state = env.step(state, a)
        if float(state.done):
            break
    assert float(state.done) == 1.0
    assert float(state.info["terminated"]) == 1.0 and float(state.info["truncation"]) == 0.0


def test_brax_episode_wrapper_truncates_at_the_cap() -> None:
    """Under brax's wrap with episode_length = cap: own_cap=False keeps truncation, own_cap=True
    loses it (brax's EpisodeWrapper writes truncation = 1 - done), as the docstring says."""
    env, cap = training_env("HardMove-n4-v0", max_steps_in_episode=3)
    assert cap == 3
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    a = jnp.stack([_hold_still(env)] * 2)
    for own_cap, want in ((False, 1.0), (True, 0.0)):
        base = BraxPAMDPEnv("HardMove-n4-v0", max_steps_in_episode=3, own_cap=own_cap)
        wrapped = training.wrap(base, episode_length=cap)
        state = wrapped.reset(keys)
        step = jax.jit(wrapped.step)
        for _ in range(3):
            state = step(state, a)
        np.testing.assert_array_equal(np.asarray(state.done), [1.0, 1.0])
        np.testing.assert_array_equal(np.asarray(state.info["truncation"]), [want, want])


@pytest.mark.parametrize("fresh, same", [(True, False), (False, True)])
def test_autoreset_draws_fresh_initial_states(fresh: bool, same: bool) -> None:
    """Goal's initial state is random: brax's AutoResetWrapper restarts from a new one."""
    base = BraxPAMDPEnv("Goal-v0", max_steps_in_episode=1, own_cap=False, fresh_resets=fresh)
    wrapped = training.wrap(base, episode_length=1)
    state = wrapped.reset(jax.random.split(jax.random.PRNGKey(2), 3))
    first = np.asarray(state.obs)
    step = jax.jit(wrapped.step)
    a = jnp.zeros((3, base.action_size), jnp.float32)
    restarts = []
    for _ in range(2):
        state = step(state, a)
        assert np.all(np.asarray(state.done) == 1.0)
        restarts.append(np.asarray(state.obs))
    assert np.array_equal(restarts[0], first) == same
    assert np.array_equal(restarts[0], restarts[1]) == same


def test_budget_check() -> None:
    cfg = brax_ppo.BraxPPOConfig()
    brax_ppo.check_budget(200_000, cfg)
    with pytest.raises(ValueError, match="multiple"):
        brax_ppo.check_budget(200_001, cfg)


def test_tiny_brax_ppo_run_writes_valid_records(tmp_path) -> None:
    cfg = brax_ppo.BraxPPOConfig(num_envs=4, batch_size=4, num_minibatches=2, unroll_length=5,
                                 num_updates_per_batch=1, num_evals=3)
    budget = 2 * 40 * 4  # two evaluations, 160 env steps each
    lines = []
    records = brax_ppo.run("Platform-v0", seeds=1, budget=budget, out_dir=str(tmp_path),
                           config=cfg, log=lines.append)
    assert sorted(r["env_steps"] for r in records) == [160, 320]
    final = [r for r in records if r["final"]]
    assert len(final) == 1 and final[0]["env_steps"] == budget
    rec = validate(final[0])
    assert rec["agent"] == "brax_ppo" and rec["protocol"] == "hyar"
    assert rec["eval_episodes"] == 100
    assert rec["train_metrics"]["hparams/num_envs"] == 4
    assert rec["train_metrics"]["hparams/episode_length"] == 200
    assert len(load_records([str(tmp_path)])) == 2
    # resuming: the final seed is skipped, nothing is appended
    brax_ppo.run("Platform-v0", seeds=1, budget=budget, out_dir=str(tmp_path), config=cfg,
                 log=lines.append)
    assert any("skipped" in line for line in lines)
    with open(tmp_path / "results.jsonl") as f:
        assert len(f.readlines()) == 2
