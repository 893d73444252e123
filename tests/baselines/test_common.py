"""``common.ends_value``: which episode ends a value target does not bootstrap through, and the
off-policy agents storing it (Catch Point's DLPA view carries a step clock; HyAR's does not)."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bandit_env import Bandit

from pamdp_bench.agents import get_agent
from pamdp_bench.baselines.common import ends_value
from pamdp_bench.registry import make

T, F = jnp.array([True, False, True, False]), jnp.array([False, False, True, True])


@pytest.mark.parametrize(
    ("env_id", "overrides", "clock"),
    [("CatchPoint-v0", {}, True), ("CatchPoint-v0", {"obs_view": "hyar"}, False),
     ("Platform-v0", {}, False), ("HardMove-n4-v0", {}, False)],
)
def test_truncation_ends_the_value_only_with_a_clock(env_id: str, overrides: dict,
                                                     clock: bool) -> None:
    env, params = make(env_id, **overrides)
    assert env.observes_time(params) is clock
    want = (T | F) if clock else T
    np.testing.assert_array_equal(ends_value(env, params, T, F), want)


def test_envs_without_the_hook_count_as_clockless() -> None:
    class Bare:
        pass

    np.testing.assert_array_equal(ends_value(Bare(), None, T, F), T)
    env = Bandit()
    np.testing.assert_array_equal(ends_value(env, env.default_params, T, F), T)


def _small(name: str, cfg: Any) -> Any:
    if name == "pdqn":
        return dataclasses.replace(cfg, hidden_q=(8,), hidden_param=(8,), batch_size=8,
                                   learning_starts=8)
    if name == "paddpg":
        return dataclasses.replace(cfg, hidden_actor=(8,), hidden_critic=(8,), batch_size=8,
                                   learning_starts=8)
    return dataclasses.replace(cfg, hidden=(8,), vae_hidden=8, batch_size=8, vae_batch_size=8,
                               warmup_episodes=1, warmup_block=1, vae_pretrain_steps=2,
                               lsc_samples=50, learning_starts=8)


@pytest.mark.parametrize(("name", "obs_view"), [
    pytest.param("pdqn", "dlpa", marks=pytest.mark.long), ("pdqn", "hyar"),
    pytest.param("paddpg", "dlpa", marks=pytest.mark.long),
    pytest.param("hyar_td3", "dlpa", marks=pytest.mark.long)])  # CI time: 12-27 s each
def test_stored_cap_transitions(name: str, obs_view: str) -> None:
    """Over 60 training steps the replay marks a transition "terminated" exactly when the env
    terminated it (a catch) or, with the DLPA clock, when it hit the 25-step cap. An unlimited
    catch budget keeps random catches from ending episodes before the cap."""
    cls = get_agent(name)
    env, params = make("CatchPoint-v0", obs_view=obs_view, catch_budget=10_000)
    agent = cls(env, params, _small(name, cls.default_config("CatchPoint-v0")))
    state = agent.init(jax.random.key(3))
    # HyAR's warm-up and the first steps run inside train; its buffer holds training steps only.
    state, _ = jax.jit(lambda s: agent.train(s, 60))(state)
    buf = state.buffer
    n = int(np.asarray(buf.current_index).reshape(-1)[0])
    ex = jax.tree.map(lambda a: np.asarray(a).reshape((-1,) + np.asarray(a).shape[2:])[:n],
                      buf.experience)
    flags = ex["terminated"]
    real = ex["reward"] > 4  # a successful catch
    if obs_view == "dlpa":
        at_cap = np.isclose(ex["next_obs"][:, 5], -1.0 + 25.0 / 12.0, atol=1e-5)  # the clock
        assert at_cap.sum() >= 1  # the case under test happened
        np.testing.assert_array_equal(flags, real | at_cap)
    else:
        np.testing.assert_array_equal(flags, real)


def _counting_agent() -> Any:
    """A minimal ``OffPolicyAgent`` learning every 3 env steps: its learner counts updates and
    its metric is the env step they happened at (cheap to compile)."""
    from types import SimpleNamespace

    from pamdp_bench.baselines.common.offpolicy import OffPolicyAgent

    class Counting(OffPolicyAgent):
        train_every = 3

        def init_parts(self, keys: Any, obs: jax.Array) -> tuple:
            return jnp.int32(0), {"obs": obs}, {}

        def explore(self, s: Any, keys: Any) -> tuple:
            return (jnp.int32(0), jnp.zeros((3,), jnp.float32)), None, s

        def transition(self, s: Any, aux: Any, reward: jax.Array, next_obs: jax.Array,
                       ends: jax.Array) -> dict:
            return {"obs": s.obs}

        def update(self, learner: jax.Array, s: Any, key: jax.Array) -> tuple:
            return learner + 1, {"at": s.env_steps.astype(jnp.float32)}

    env = Bandit()
    cfg = SimpleNamespace(buffer_size=8, batch_size=2, learning_starts=2)
    return Counting(env, env.default_params, cfg)


def test_train_every_blocks_and_single_steps_share_one_schedule() -> None:
    """``train_every = 3``: a chunk of whole blocks (6 steps) and chunks that are not (4 + 2,
    the per-step path) learn after the same env steps, 3 and 6."""
    agent = _counting_agent()
    s0 = agent.init(jax.random.key(0))
    blocks, m = agent.train(s0, 6)
    assert int(blocks.learner) == 2 and float(m["at"]) == (3 + 6) / 2
    steps, m4 = agent.train(s0, 4)
    steps, m2 = agent.train(steps, 2)
    assert int(steps.learner) == 2 and int(steps.updates) == int(blocks.updates) == 2
    assert float(m4["at"]) == 3.0 and float(m2["at"]) == 6.0


def test_td3_delay_counts_updates_from_one() -> None:
    """TD3's ``total_it += 1`` before ``total_it % policy_delay == 0``: with delay 2 the actor
    and targets move on the 2nd, 4th, ... update (0-based 1, 3, ...); delay 1 is every update."""
    from pamdp_bench.baselines.common.td3 import is_delayed

    updates = jnp.arange(6)
    assert np.asarray(is_delayed(updates, 2)).tolist() == [False, True] * 3
    assert np.asarray(is_delayed(updates, 1)).all()
