"""``common.binding.EnvBound``: every agent reads the same sizes from its env, a missing config
means the env's default one, and the agents that need continuous parameters refuse an env
without any, naming both."""

from __future__ import annotations

import pytest
from bandit_env import Bandit

from pamdp_bench.agents import available_agents, get_agent
from pamdp_bench.envs.spaces import ParameterizedActionSpace
from pamdp_bench.registry import make


class ParamlessBandit(Bandit):
    """The bandit with two actions and no parameters."""

    @property
    def pamdp_space(self) -> ParameterizedActionSpace:
        return ParameterizedActionSpace(2, (0, 0))


@pytest.mark.parametrize("name", [a for a in available_agents() if a != "scripted"])
def test_no_config_means_the_envs_default_config(name: str) -> None:
    env, params = make("Platform-v0")
    cls = get_agent(name)
    assert cls(env, params).config == cls.default_config("Platform-v0")


@pytest.mark.parametrize("name", ["bc", "clap", "dlpa", "flexplore", "hppo", "hyar_td3", "mpdqn",
                                  "paddpg", "qmle"])
def test_the_sizes_come_from_the_space(name: str) -> None:
    env, params = make("HardMove-n4-v0")
    agent = get_agent(name)(env, params)
    space = env.pamdp_space
    assert (agent.obs_dim, agent.num_actions, agent.num_params, agent.max_param_dim) == (
        env.observation_space(params).shape[0], space.num_actions, space.total_param_dim,
        space.max_param_dim)


@pytest.mark.parametrize(("name", "label"), [("pdqn", "P-DQN"), ("mpdqn", "P-DQN"),
                                             ("hppo", "H-PPO"), ("hyar_td3", "HyAR")])
def test_agents_with_a_parameter_network_refuse_an_env_without_parameters(name: str,
                                                                           label: str) -> None:
    env = ParamlessBandit()
    cls = get_agent(name)
    with pytest.raises(ValueError, match=f"{label} needs at least one continuous parameter; "
                                         f"{env.name} has none"):
        cls(env, env.default_params, cls.default_config("Platform-v0"))
