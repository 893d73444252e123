"""Registry: ids, overrides, close-match errors, gymnax registration, every env builds."""

from __future__ import annotations

import subprocess
import sys

import gymnax
import jax
import jax.numpy as jnp
import pytest

import pamdp_bench
from pamdp_bench.registry import BENCHMARK_IDS

EXPECTED = {  # id: (obs dim, K, param dims summary)
    "Platform-v0": (9, 3, (1, 1, 1)),
    "Goal-v0": (17, 3, (2, 1, 1)),
    "HardGoal-v0": (17, 11, (2,) + (1,) * 10),
    "CatchPoint-v0": (6, 2, (1, 0)),
    "HardMove-n4-v0": (4, 16, (1,) * 16),
    "HardMove-n6-v0": (4, 64, (1,) * 64),
    "HardMove-n8-v0": (4, 256, (1,) * 256),
    "HardMove-n10-v0": (4, 1024, (1,) * 1024),
}


@pytest.mark.parametrize("env_id", BENCHMARK_IDS)
def test_every_benchmark_builds_with_published_spaces(env_id: str) -> None:
    env, params = pamdp_bench.make(env_id)
    obs_dim, k, dims = EXPECTED[env_id]
    assert env.obs_dim == obs_dim
    assert env.pamdp_space.num_actions == k
    assert env.pamdp_space.param_dims == dims
    obs, state = env.reset(jax.random.key(0), params)
    assert obs.shape == (obs_dim,) and obs.dtype == jnp.float32


def test_unknown_id_lists_close_matches() -> None:
    with pytest.raises(ValueError, match="Did you mean: Platform-v0"):
        pamdp_bench.make("Platfrom-v0")
    with pytest.raises(ValueError, match="unknown env id"):
        pamdp_bench.make("Pong-v0")
    with pytest.raises(TypeError):
        pamdp_bench.make(3)  # type: ignore[arg-type]


def test_hard_move_family_bounds() -> None:
    env, _ = pamdp_bench.make("HardMove-n12-v0")
    assert env.pamdp_space.num_actions == 4096
    with pytest.raises(ValueError, match="2 <= n"):
        pamdp_bench.make("HardMove-n1-v0")
    with pytest.raises(ValueError, match="2 <= n"):
        pamdp_bench.make("HardMove-n40-v0")


def test_overrides_replace_params_and_reject_unknown_fields() -> None:
    _, params = pamdp_bench.make("Platform-v0", max_steps_in_episode=25)
    assert params.max_steps_in_episode == 25
    with pytest.raises(ValueError, match="unknown parameter"):
        pamdp_bench.make("Platform-v0", max_step=25)


def test_registered_with_gymnax() -> None:
    for env_id in BENCHMARK_IDS:
        assert env_id in gymnax.registered_envs
    env, params = gymnax.make("CatchPoint-v0")
    assert env.obs_dim == 6
    pamdp_bench.register_with_gymnax()  # idempotent


def test_import_registers_with_gymnasium_and_gymnax_lazily() -> None:
    """In a fresh process, ``import pamdp_bench`` (every CLI call) imports neither the
    gymnasium adapter (a string entry point) nor gymnax (its bundled envs pull in scipy,
    seaborn and matplotlib: ~2 s), yet ``gymnasium.make("pamdp_bench/Platform-v0")`` works
    (issue 16) and a later ``import gymnax`` knows the suite's ids."""
    code = (
        "import sys, gymnasium\n"
        "assert 'pamdp_bench/Platform-v0' not in gymnasium.registry\n"
        "import pamdp_bench\n"
        "assert 'pamdp_bench.envs.gymnasium_adapter' not in sys.modules, 'adapter imported'\n"
        "assert 'gymnax' not in sys.modules, 'gymnax imported'\n"
        "env = gymnasium.make('pamdp_bench/Platform-v0')\n"
        "assert env.reset(seed=0)[0].shape == (9,)\n"
        "import gymnax\n"
        "print(type(gymnax.make('HardMove-n6-v0')[0]).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "HardMove"


def test_env_table_drives_ids_golden_names_and_make() -> None:
    from pamdp_bench.registry import ENV_SPECS, GOLDEN_BENCHMARKS, env_spec, golden_spec

    assert tuple(s.id for s in ENV_SPECS) == BENCHMARK_IDS
    assert GOLDEN_BENCHMARKS == {s.golden_name: s.id for s in ENV_SPECS}
    assert [s.episode_cap for s in ENV_SPECS] == [200, 100, 100, 25, 25, 25, 25, 25]
    for spec in ENV_SPECS:
        assert env_spec(spec.id) is spec and golden_spec(spec.golden_name) is spec
        env, params = pamdp_bench.make(spec.id)
        assert type(env) is spec.env_class and type(env).__name__ == spec.kind
        assert env.name == spec.id
        assert params.max_steps_in_episode == spec.episode_cap
    assert {s.id: (s.family, s.group) for s in ENV_SPECS if s.hard_move_n is None} == {
        "Platform-v0": ("platform", "platform"),
        "Goal-v0": ("goal", "goal"),
        "HardGoal-v0": ("goal", "goal"),
        "CatchPoint-v0": ("catch", "mpe"),
    }
    assert [s.id for s in ENV_SPECS if not s.scripted] == ["Platform-v0"]  # envs §8.2
    hash(ENV_SPECS[4])  # frozen and hashable
    with pytest.raises(TypeError):
        ENV_SPECS[4].env_kwargs["n"] = 5  # type: ignore[index]


def test_env_spec_hard_move_any_n_and_errors() -> None:
    from pamdp_bench.registry import env_spec, golden_spec

    spec = env_spec("HardMove-n12-v0")
    assert (spec.hard_move_n, spec.family, spec.group, spec.kind) == (12, "move", "mpe", "HardMove")
    assert spec.display_name == "Hard Move (n=12)" and not spec.published
    assert golden_spec("hard_move_12") == spec and spec.build().n == 12
    with pytest.raises(ValueError, match="Did you mean: HardGoal-v0"):
        env_spec("HardGoal-v1")
    with pytest.raises(ValueError, match="2 <= n"):
        env_spec("HardMove-n21-v0")
    with pytest.raises(ValueError, match="has no env"):
        golden_spec("pong")


def test_resolve_episode_cap_prefers_the_given_cap_and_names_unknown_ids() -> None:
    from pamdp_bench.registry import resolve_episode_cap

    assert resolve_episode_cap("Platform-v0", None) == 200
    assert resolve_episode_cap("HardMove-n12-v0", None) == 25
    assert resolve_episode_cap("Platform-v0", 50) == 50
    assert resolve_episode_cap("not-an-env", 7) == 7  # a given cap needs no lookup
    with pytest.raises(ValueError, match="unknown env id 'not-an-env'"):
        resolve_episode_cap("not-an-env", None)
