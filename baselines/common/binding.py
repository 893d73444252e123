"""What every agent reads from the env it is built for, in one place.

Each agent used to repeat the same preamble in its ``__init__``: keep the env, its params and
the config (the env's default config when none is given), take the hybrid action space and
derive the observation size, K, the total and the largest parameter dimension from it. One
base class owns that reading, so every agent sizes its networks from the same fields and a new
agent cannot get one of them subtly different (e.g. a per-env default config in one agent and
the config class's field defaults in another).
"""

from __future__ import annotations

from typing import Any, ClassVar


class EnvBound:
    """Base of the agents: binds ``env``, ``env_params``, ``config`` and the space's sizes.

    Attributes set: ``env``, ``env_params``, ``config``, ``space`` (the env's
    ``pamdp_space``), ``obs_dim``, ``num_actions`` (K), ``num_params`` (all parameters of all
    actions) and ``max_param_dim`` (the largest of one action).
    """

    #: The agent's name for error messages (P-DQN, H-PPO, ...).
    LABEL: ClassVar[str] = "this agent"
    #: Whether the agent cannot work without continuous parameters (a parameter network).
    NEEDS_PARAMS: ClassVar[bool] = False

    def __init__(self, env: Any, env_params: Any, config: Any = None) -> None:
        self.env, self.env_params = env, env_params
        self.config = config if config is not None else self.default_config(env.name)
        self.space = env.pamdp_space
        self.obs_dim = int(env.observation_space(env_params).shape[0])
        self.num_actions = int(self.space.num_actions)
        self.num_params = int(self.space.total_param_dim)
        self.max_param_dim = int(self.space.max_param_dim)
        if self.NEEDS_PARAMS and self.num_params == 0:
            raise ValueError(f"{self.LABEL} needs at least one continuous parameter; "
                             f"{env.name} has none")

    @classmethod
    def default_config(cls, env_id: str) -> Any:
        """The agent's config for ``env_id`` when none is given."""
        raise NotImplementedError
