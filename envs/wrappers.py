"""gymnax-style wrappers for the PAMDP environments.

``LogWrapper`` keeps per-episode statistics inside the (jittable, vmappable) env state, the way
PureJaxRL's ``LogWrapper`` does, adapted to gymnax 1.0's six-value ``step`` and to the suite's
success flag: the running return, length and success of the current episode, plus those of the
last *completed* episode, which training loops read from ``info`` without any host round trip.

gymnax ships a ``LogWrapper`` too; it is not reused because it has no notion of success (spec
Decisions item 6: an episode succeeds if any of its steps has ``info["success"]``), and
"success" is the metric the Goal/Catch Point/Hard Move tables report.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.wrappers.purerl import GymnaxWrapper


@struct.dataclass
class LogEnvState:
    """Wrapped env state plus running and last-completed episode statistics.

    ``returned_*`` hold the last completed episode; until one completes they are placeholders
    (0, 0, False) and ``returned_episode_valid`` is False.
    """

    env_state: Any
    episode_returns: jax.Array  # float32: return of the running episode so far
    episode_lengths: jax.Array  # int32: agent steps of the running episode so far
    episode_success: jax.Array  # bool: any step of the running episode had info["success"]
    returned_episode_returns: jax.Array  # float32
    returned_episode_lengths: jax.Array  # int32
    returned_episode_success: jax.Array  # bool
    returned_episode_valid: jax.Array  # bool: at least one episode has completed


class LogWrapper(GymnaxWrapper):
    """Track episode return, length and success through ``step``'s auto-reset.

    ``info`` gains ``returned_episode_returns``, ``returned_episode_lengths``,
    ``returned_episode_success`` (the last completed episode's statistics, updated on the step
    that completes it), ``returned_episode`` (bool: an episode ended on this step, terminated
    or truncated) and ``returned_episode_valid``. Works under ``jit`` and ``vmap`` (over keys,
    states and params) because everything lives in the state pytree.

    Every other attribute (``pamdp_space``, ``obs_dim``, ``default_params``, ``draw`` ...) is
    forwarded to the wrapped env.
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)

    @property
    def unwrapped(self) -> Any:
        """The innermost (unwrapped) environment."""
        inner = self._env
        while isinstance(inner, GymnaxWrapper):
            inner = inner._env
        return inner

    @partial(jax.jit, static_argnames=("self",))
    def reset(self, key: jax.Array, params: Any | None = None) -> tuple[jax.Array, LogEnvState]:
        """Reset the wrapped env; statistics start at zero."""
        obs, env_state = self._env.reset(key, params)
        zero_f = jnp.zeros((), jnp.float32)
        zero_i = jnp.zeros((), jnp.int32)
        false = jnp.zeros((), jnp.bool_)
        state = LogEnvState(
            env_state=env_state,
            episode_returns=zero_f,
            episode_lengths=zero_i,
            episode_success=false,
            returned_episode_returns=zero_f,
            returned_episode_lengths=zero_i,
            returned_episode_success=false,
            returned_episode_valid=false,
        )
        return obs, state

    @partial(jax.jit, static_argnames=("self",))
    def step(
        self,
        key: jax.Array,
        state: LogEnvState,
        action: Any,
        params: Any | None = None,
    ) -> tuple[jax.Array, LogEnvState, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """Step the wrapped env (with its auto-reset) and update the episode statistics."""
        obs, env_state, reward, terminated, truncated, info = self._env.step(
            key, state.env_state, action, params
        )
        if "success" not in info:
            raise KeyError(
                "LogWrapper needs info['success'] from the wrapped env's step (env contract); "
                f"got info keys {sorted(info)}"
            )
        done = jnp.logical_or(terminated, truncated).astype(jnp.bool_)
        ep_return = state.episode_returns + jnp.asarray(reward, jnp.float32)
        ep_length = state.episode_lengths + jnp.ones((), jnp.int32)
        ep_success = jnp.logical_or(state.episode_success, jnp.asarray(info["success"], bool))
        new_state = LogEnvState(
            env_state=env_state,
            episode_returns=jnp.where(done, jnp.zeros_like(ep_return), ep_return),
            episode_lengths=jnp.where(done, jnp.zeros_like(ep_length), ep_length),
            episode_success=jnp.logical_and(ep_success, ~done),
            returned_episode_returns=jnp.where(done, ep_return, state.returned_episode_returns),
            returned_episode_lengths=jnp.where(done, ep_length, state.returned_episode_lengths),
            returned_episode_success=jnp.where(done, ep_success, state.returned_episode_success),
            returned_episode_valid=jnp.logical_or(state.returned_episode_valid, done),
        )
        info = {
            **info,
            "returned_episode_returns": new_state.returned_episode_returns,
            "returned_episode_lengths": new_state.returned_episode_lengths,
            "returned_episode_success": new_state.returned_episode_success,
            "returned_episode": done,
            "returned_episode_valid": new_state.returned_episode_valid,
        }
        return obs, new_state, reward, terminated, truncated, info
