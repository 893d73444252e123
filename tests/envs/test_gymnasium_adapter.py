"""Tests of ``envs/gymnasium_adapter.py``.

``gymnasium.utils.env_checker.check_env`` is run on a private toy env and on one env per real
benchmark family (through ``gymnasium.make``, so its render-mode checks run too). What
check_env cannot check for our Tuple(Discrete, Tuple(Box...)) action space, and is therefore
tested here directly:

* that only the chosen action's parameters matter and that structurally wrong actions (wrong
  nesting, k out of range, wrong parameter shape or dtype, NaN) are rejected before anything
  changes: check_env only ever steps with ``action_space.sample()``, which is always valid;
* episode endings (terminated vs truncated, no auto-reset, stepping after the end): check_env
  takes a single step;
* compile-once behaviour and equivalence with the pure-JAX env.

(check_env itself accepts Tuple-of-Tuple spaces, including the ``Box(0,)`` of a parameterless
action; it warns about the unbounded observation Box, which is intended: the originals'
scaled observations are not clipped.)
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from toy_env import ToyEnv

from pamdp_bench.envs.gymnasium_adapter import GymnasiumPAMDPEnv
from pamdp_bench.registry import BENCHMARK_IDS, register_with_gymnasium


def _f32(*values: float) -> np.ndarray:
    return np.asarray(values, np.float32)


EMPTY = np.zeros((0,), np.float32)
MOVE = (0, (_f32(1.0, 0.0), _f32(0.0), EMPTY))
STAY = (2, (_f32(0.0, 0.0), _f32(0.0), EMPTY))


def _toy(**kwargs: Any) -> GymnasiumPAMDPEnv:
    return GymnasiumPAMDPEnv(env=ToyEnv(), **kwargs)


def _check_env_quietly(env: gymnasium.Env) -> None:
    """check_env, failing on any warning except the intended unbounded-observation ones."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    allowed = ("infinity", "not able to test alternative render modes")
    unexpected = [
        str(w.message) for w in caught if not any(a in str(w.message).lower() for a in allowed)
    ]
    assert not unexpected, unexpected


def test_check_env_toy() -> None:
    _check_env_quietly(_toy())
    _check_env_quietly(_toy(render_mode="rgb_array"))
    _check_env_quietly(_toy(flat_params=True))


def test_spaces_follow_original_gym_layout() -> None:
    env = _toy()
    assert env.action_space == spaces.Tuple(
        (
            spaces.Discrete(3),
            spaces.Tuple(
                (
                    spaces.Box(-1, 1, (2,), np.float32),
                    spaces.Box(-1, 1, (1,), np.float32),
                    spaces.Box(-1, 1, (0,), np.float32),
                )
            ),
        )
    )
    assert env.observation_space == spaces.Box(-np.inf, np.inf, (3,), np.float32)
    flat = _toy(flat_params=True)
    assert flat.action_space[1] == spaces.Box(-1, 1, (3,), np.float32)


def test_reset_seeding_matches_pure_jax() -> None:
    env = _toy()
    obs_a, info = env.reset(seed=5)
    assert obs_a.dtype == np.float32 and obs_a.shape == (3,) and info == {}
    obs_b, _ = env.reset()
    obs_c, _ = env.reset(seed=5)
    obs_d, _ = env.reset()
    np.testing.assert_array_equal(obs_a, obs_c)
    np.testing.assert_array_equal(obs_b, obs_d)
    assert not np.array_equal(obs_a, obs_b)
    toy = ToyEnv()
    ref, _ = toy.reset(jax.random.split(jax.random.PRNGKey(5))[1], toy.default_params)
    np.testing.assert_array_equal(obs_a, np.asarray(ref))
    # Seeds beyond 32 bits are not truncated onto small ones.
    big, _ = env.reset(seed=5 + 2**32)
    assert not np.array_equal(big, obs_a)


def test_terminated_episode_then_no_auto_reset() -> None:
    env = _toy()
    env.reset(seed=0)
    out = [env.step(MOVE) for _ in range(3)]
    for obs, reward, term, trunc, info in out:
        assert obs.dtype == np.float32 and isinstance(reward, float)
        assert isinstance(term, bool) and isinstance(trunc, bool)
        assert set(info) >= {"success", "invalid_action", "pos"}
        assert reward == 1.0
    assert [o[2] for o in out] == [False, False, True]
    assert out[-1][4]["success"] is True and out[-1][3] is False
    # The final observation is the terminal one (x >= 3), not a reset.
    assert out[-1][0][0] >= 3.0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(MOVE)
    obs, _ = env.reset()
    assert obs[0] < 0.1


def test_truncation_at_step_cap_and_override() -> None:
    env = _toy(max_steps_in_episode=4)
    env.reset(seed=1)
    flags = [env.step(STAY)[2:4] for _ in range(4)]
    assert flags == [(False, False)] * 3 + [(False, True)]
    with pytest.raises(RuntimeError, match="ended"):
        env.step(STAY)
    with pytest.raises(ValueError, match="unknown parameter"):
        _toy(max_step=4)


def test_step_before_reset_raises() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        _toy().step(STAY)


@pytest.mark.parametrize(
    ("action", "exc", "match"),
    [
        (3, TypeError, "pair"),
        ((0, _f32(1.0, 0.0)), TypeError, "tuple of 3 arrays"),
        ((0, (_f32(1.0, 0.0), _f32(0.0))), ValueError, "3 arrays"),
        ((3, MOVE[1]), ValueError, "out of range"),
        ((-1, MOVE[1]), ValueError, "out of range"),
        ((0.0, MOVE[1]), TypeError, "integer"),
        ((True, MOVE[1]), TypeError, "integer"),
        ((np.array([0]), MOVE[1]), ValueError, "scalar"),
        ((0, (_f32(1.0), _f32(0.0), EMPTY)), ValueError, r"action 0 must have shape \(2,\)"),
        ((1, (_f32(1.0, 0.0), np.float32(0.5), EMPTY)), ValueError, r"shape \(1,\)"),
        ((0, (_f32(np.nan, 0.0), _f32(0.0), EMPTY)), ValueError, "non-finite"),
        ((0, (_f32(1.0, 0.0), _f32(np.inf), EMPTY)), ValueError, "action 1 has non-finite"),
        ((0, (np.array([1e39, 0.0]), _f32(0.0), EMPTY)), ValueError, "float32"),
        ((0, (np.array([1, 0]), _f32(0.0), EMPTY)), TypeError, "floating point"),
        ((0, (["a", "b"], _f32(0.0), EMPTY)), TypeError, "floating point"),
        ((0, ([[1.0], [2.0, 3.0]], _f32(0.0), EMPTY)), TypeError, "numeric array"),
    ],
)
def test_invalid_actions_rejected_without_side_effects(action: Any, exc: type, match: str) -> None:
    toy = ToyEnv()  # shared: both adapters use one compiled step
    env, ref = GymnasiumPAMDPEnv(env=toy), GymnasiumPAMDPEnv(env=toy)
    env.reset(seed=2)
    ref.reset(seed=2)
    env.step(MOVE)
    ref.step(MOVE)
    with pytest.raises(exc, match=match):
        env.step(action)
    # Nothing changed: the next valid step equals that of an env that never saw the bad call.
    a, b = env.step(MOVE), ref.step(MOVE)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:4] == b[1:4]


def test_flat_params_mode_validation_and_equivalence() -> None:
    tup, flat = _toy(), _toy(flat_params=True)
    tup.reset(seed=4)
    flat.reset(seed=4)
    a = tup.step((1, (_f32(0.3, 0.9), _f32(0.25), EMPTY)))
    b = flat.step((1, _f32(0.3, 0.9, 0.25)))
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        flat.step((1, _f32(0.3, 0.9)))


def test_only_chosen_params_matter_and_out_of_range_accepted() -> None:
    a, b = _toy(), _toy()
    a.reset(seed=6)
    b.reset(seed=6)
    oa = a.step((1, (_f32(0.0, 0.0), _f32(0.7), EMPTY)))[0]
    ob = b.step((1, (_f32(-0.9, 0.4), _f32(0.7), EMPTY)))[0]
    np.testing.assert_array_equal(oa, ob)
    obs, _, _, _, info = a.step((0, (_f32(1.5, -2.0), _f32(0.0), EMPTY)))  # finite, outside
    assert np.isfinite(obs).all() and info["invalid_action"] is False


def test_matches_pure_jax_step_env() -> None:
    env = _toy()
    obs0, _ = env.reset(seed=11)
    toy = ToyEnv()
    params = toy.default_params
    key, reset_key = jax.random.split(jax.random.PRNGKey(11))
    ref_obs, state = toy.reset_env(reset_key, params)
    np.testing.assert_array_equal(obs0, ref_obs)
    action = (1, (_f32(0.1, 0.2), _f32(0.4), EMPTY))
    obs, reward, term, _, _ = env.step(action)
    key, step_key = jax.random.split(key)
    r_obs, _, r_rew, r_term, _ = toy.step_env(
        step_key, state, (jnp.int32(1), jnp.array([0.1, 0.2, 0.4], jnp.float32)), params
    )
    np.testing.assert_allclose(obs, r_obs)
    assert reward == float(r_rew) and term == bool(r_term)


def test_compiles_once() -> None:
    env = _toy()
    for seed in range(3):
        env.reset(seed=seed)
        for action in (MOVE, STAY, (1, (_f32(0.5, 0.5), np.array([0.2]), [])), MOVE):
            env.step(action)
    assert env.pamdp_env.traces == {"reset": 1, "transition": 1}


def test_render_rgb_array() -> None:
    env = _toy(render_mode="rgb_array")
    env.reset(seed=0)
    env.step(MOVE)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.min() < 100 < frame.max()  # something was drawn on the white canvas
    assert _toy().render() is None
    with pytest.raises(ValueError, match="render_mode"):
        _toy(render_mode="human")


def test_register_with_gymnasium_is_idempotent() -> None:
    """(What ``import pamdp_bench`` registers, in a fresh process: test_registry.)"""
    ids = register_with_gymnasium()  # idempotent
    assert ids == [f"pamdp_bench/{i}" for i in BENCHMARK_IDS]
    assert all(i in gymnasium.registry for i in ids)


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0", "CatchPoint-v0", "HardMove-n4-v0"])
def test_check_env_real(env_id: str) -> None:
    env = gymnasium.make(f"pamdp_bench.envs.gymnasium_adapter:pamdp_bench/{env_id}")
    _check_env_quietly(env.unwrapped)
    base = env.unwrapped
    assert isinstance(base, GymnasiumPAMDPEnv)
    dims = base.pamdp_env.pamdp_space.param_dims
    assert [s.shape for s in base.action_space[1]] == [(d,) for d in dims]
    # A short random episode through the wrapped (order-enforcing, checking) env.
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(30):
        obs, reward, term, trunc, info = env.step(env.action_space.sample())
        assert np.isfinite(obs).all() and np.isfinite(reward)
        assert isinstance(info["success"], bool)
        if term or trunc:
            break
    env.close()


def test_observation_space_follows_the_params_view() -> None:
    """Catch Point's ``obs_view="hyar"`` (4 raw dims) reaches the gymnasium space."""
    env = GymnasiumPAMDPEnv("CatchPoint-v0", obs_view="hyar")
    assert env.observation_space.shape == (4,)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert GymnasiumPAMDPEnv("CatchPoint-v0").observation_space.shape == (6,)


def test_observations_are_writable() -> None:
    """Issue 16: torch warns on read-only numpy arrays (``np.asarray`` of a jax array)."""
    env = gymnasium.make("pamdp_bench/CatchPoint-v0")
    obs, _ = env.reset(seed=1)
    assert obs.flags.writeable
    obs2, *_ = env.step((0, (np.zeros(1, np.float32), np.zeros(0, np.float32))))
    assert obs2.flags.writeable
    obs2[0] = 123.0  # the env's own state is not aliased
    obs3, *_ = env.step((0, (np.zeros(1, np.float32), np.zeros(0, np.float32))))
    assert obs3[0] != 123.0


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0", "HardMove-n16-v0"])
def test_nested_parameter_space_samples_and_seeds_like_a_tuple(env_id: str) -> None:
    """Issue 16: the nested Tuple of K boxes (K = 65,536 for Hard Move n=16) builds, samples
    and seeds at once (one draw split per action), with the plain Tuple's structure."""
    env = GymnasiumPAMDPEnv(env_id)
    space = env.action_space
    dims = env.pamdp_env.pamdp_space.param_dims
    space.seed(3)
    a = space.sample()
    space.seed(3)
    b = space.sample()
    assert [p.shape for p in a[1]] == [(d,) for d in dims]
    assert all(np.array_equal(x, y) for x, y in zip(a[1], b[1], strict=True))
    assert space.contains(a) and all(p.dtype == np.float32 for p in a[1])
    flat = np.concatenate(a[1])
    assert flat.min() >= -1.0 and flat.max() <= 1.0
    assert np.unique(flat).size > 0.99 * flat.size  # independent draws (float32 ties aside)
    if len(dims) <= 16:
        env.reset(seed=0)
        env.step(a)  # the adapter accepts its own samples


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0"])
def test_raw_param_space_is_where_the_agent_range_lands(env_id: str) -> None:
    """Issue 16: the raw bounds agents initialise from (Platform's 30 / 720 / 430) are on the
    adapter; agent-side z and ``raw_params=True`` with ``low + (z + 1) / 2 * (high - low)``
    step to the same state."""
    from pamdp_bench.registry import make

    adapter = GymnasiumPAMDPEnv(env_id, flat_params=True)
    low, high = adapter.raw_param_space.low, adapter.raw_param_space.high
    env, params = make(env_id)
    _, raw_params = make(env_id, raw_params=True)
    key = jax.random.key(0)
    _, state = env.reset_env(key, params)
    z = np.linspace(-0.8, 0.9, low.size).astype(np.float32)
    raw = (low + (z + 1.0) / 2.0 * (high - low)).astype(np.float32)
    step = jax.jit(lambda k, z, p: env.step_env(key, state, (k, z), p)[1])  # params traced
    for k in range(env.pamdp_space.num_actions):
        a = step(jnp.int32(k), jnp.asarray(z), params)
        b = step(jnp.int32(k), jnp.asarray(raw), raw_params)
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-4)
    assert GymnasiumPAMDPEnv("HardGoal-v0").raw_param_space is None


def test_vector_env_plays_the_single_adapters_episodes() -> None:
    """Issue 16: a batched VectorEnv (one jitted vmap per step, same-step auto-reset). Env i
    plays the episodes of a single adapter seeded seed + i and reset without a seed after
    each episode; final observations and masks follow gymnasium's convention."""
    from pamdp_bench.envs.gymnasium_adapter import PAMDPVectorEnv

    n, seed = 3, 11
    venv = PAMDPVectorEnv("CatchPoint-v0", num_envs=n)
    singles = [GymnasiumPAMDPEnv("CatchPoint-v0", flat_params=True) for _ in range(n)]
    obs, _ = venv.reset(seed=seed)
    assert obs.shape == (n, 6) and venv.action_space[1].shape == (n, 1)
    for i, env in enumerate(singles):
        np.testing.assert_allclose(obs[i], env.reset(seed=seed + i)[0], rtol=1e-6, atol=1e-6)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(60):
        k = rng.integers(0, 2, n)
        z = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
        obs, reward, term, trunc, infos = venv.step((k, z))
        for i, env in enumerate(singles):
            o, r, te, tr, info = env.step((int(k[i]), z[i]))
            assert (te, tr) == (bool(term[i]), bool(trunc[i]))
            assert abs(r - reward[i]) <= 1e-4 * max(1.0, abs(r))
            assert info["success"] == bool(infos["success"][i])
            if te or tr:
                ended += 1
                assert infos["_final_obs"][i]
                np.testing.assert_allclose(infos["final_obs"][i], o, rtol=1e-5, atol=1e-5)
                o, _ = env.reset()
            else:
                assert not infos["_final_obs"][i] and infos["final_obs"][i] is None
            np.testing.assert_allclose(obs[i], o, rtol=1e-5, atol=1e-5)
    assert ended >= n  # every env went through at least one auto-reset
    with pytest.raises(ValueError, match="z must have shape"):
        venv.step((np.zeros(n, np.int64), np.zeros((n, 2), np.float32)))


def test_adapter_bench_writes_its_rows(tmp_path) -> None:
    """The `make bench-adapter` code path (tiny windows: a smoke test, not a measurement)."""
    from pamdp_bench.tools import bench_adapter

    rec = {"schema": "x", "repeats": 1, "async_dispatch": True, "provenance": {},
           "rows": [{"env_id": "CatchPoint-v0", "api": "GymnasiumPAMDPEnv", "num_envs": 1,
                     "env_steps_per_s": bench_adapter.bench_single("CatchPoint-v0", 20, 1)},
                    {"env_id": "CatchPoint-v0", "api": "PAMDPVectorEnv", "num_envs": 4,
                     "env_steps_per_s": bench_adapter.bench_vector("CatchPoint-v0", 4, 5, 1)}]}
    rec["rows"].append({**rec["rows"][0], "cpus": 1})
    assert all(r["env_steps_per_s"] > 0 for r in rec["rows"])
    json_path, md_path = bench_adapter.write(rec, str(tmp_path))
    md = open(md_path).read()
    assert "| CatchPoint-v0 | `PAMDPVectorEnv` | 4 | ? |" in md and "| n/a |" in md
    assert "| CatchPoint-v0 | `GymnasiumPAMDPEnv` | 1 | 1 |" in md


# make test-long: 15-20 s (a child process imports jax and compiles the step); CI runs the
# in-process rows above, `make bench-adapter` this path
@pytest.mark.long
def test_adapter_bench_one_cpu_row_runs_confined() -> None:
    from pamdp_bench.tools import bench_adapter

    row = bench_adapter.single_row_on_one_cpu("CatchPoint-v0", 1, steps=20)
    assert row["cpus"] == 1 and row["api"] == "GymnasiumPAMDPEnv"
    assert row["env_steps_per_s"] > 0
