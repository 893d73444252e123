"""Registry: ids, overrides, close-match errors, gymnax registration, every env builds."""

from __future__ import annotations

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
