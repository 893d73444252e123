"""``pamdp_bench.testing``: the contract checks pass on good envs/agents and name what a broken
one breaks."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import pytest
import toy_agent

from pamdp_bench.registry import make
from pamdp_bench.testing import ContractError, check_agent, check_env


@pytest.mark.parametrize("env_id", ["Platform-v0", "CatchPoint-v0", "HardMove-n4-v0"])
def test_check_env_passes_on_suite_envs(env_id: str) -> None:
    env, params = make(env_id)
    check_env(env, params, steps=20)


def test_check_env_names_a_state_that_changes_dtype() -> None:
    env, params = make("CatchPoint-v0")

    class Drifting(type(env)):  # the step state's time counter becomes float32
        def step(self, key: Any, state: Any, action: Any, params: Any = None) -> Any:
            obs, s, r, te, tr, info = super().step(key, state, action, params)
            return obs, s.replace(time=s.time.astype(jnp.float32)), r, te, tr, info

    with pytest.raises(ContractError, match="state after step differs"):
        check_env(Drifting(), params, steps=5)


def test_check_agent_passes_on_reference_and_toy_agents() -> None:
    check_agent("random", "Platform-v0")
    check_agent("toy", "CatchPoint-v0")


def test_check_agent_names_a_train_step_that_changes_avals() -> None:
    class Retracing(toy_agent.ToyAgent):
        def train(self, state: Any, num_env_steps: int) -> Any:
            state, metrics = super().train(state, num_env_steps)
            return state.replace(q=state.q.astype(jnp.float16)), metrics

    with pytest.raises(ContractError, match="re-trace"):
        check_agent(Retracing, "CatchPoint-v0")


def test_check_agent_names_a_wrong_action_layout() -> None:
    class PaddedAction(toy_agent.ToyAgent):
        def act(self, state: Any, obs: jax.Array, key: jax.Array, deterministic: bool) -> Any:
            k, z = super().act(state, obs, key, deterministic)
            return k, jnp.concatenate([z, z])

    with pytest.raises(ContractError, match=r"z as float32\[3\]"):
        check_agent(PaddedAction, "Platform-v0", config=toy_agent.ToyConfig())
