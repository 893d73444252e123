"""A tiny PAMDP env with exactly known rewards, endings and success, for testing the tools
around the envs (wrappers, gymnasium adapter) against hand-computed values."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.spaces import ParameterizedActionSpace


@struct.dataclass
class ToyState:
    pos: jax.Array  # float32[2]
    time: jax.Array  # int32


@struct.dataclass
class ToyParams:
    max_steps_in_episode: int = 6
    goal: float = 3.0


class ToyEnv(PAMDPEnvironment[ToyState, ToyParams]):
    """Action 0 moves by (z0, z1), action 1 by (2 z2, 0), action 2 stays; reward k + 1.

    Terminates (with success) once pos[0] >= goal. ``traces`` counts how often reset and
    transition were traced (jit-once checks); ``with_success=False`` drops ``info["success"]``.
    """

    obs_dim = 3

    def __init__(self, with_success: bool = True) -> None:
        self.with_success = with_success
        self.traces = {"reset": 0, "transition": 0}

    @property
    def transition_traces(self) -> int:
        return self.traces["transition"]

    @property
    def default_params(self) -> ToyParams:
        return ToyParams()

    @property
    def pamdp_space(self) -> ParameterizedActionSpace:
        return ParameterizedActionSpace(3, (2, 1, 0))

    def get_obs(self, state: ToyState, params: Any = None, key: Any = None) -> jax.Array:
        t = state.time.astype(jnp.float32)[None] / 10.0
        return jnp.concatenate([state.pos, t]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: ToyParams) -> tuple[jax.Array, ToyState]:
        self.traces["reset"] += 1
        pos = jax.random.uniform(key, (2,), jnp.float32, 0.0, 0.1)
        state = ToyState(pos=pos, time=jnp.zeros((), jnp.int32))
        return self.get_obs(state), state

    def transition(self, key, state, k, z, params):  # noqa: ANN001, ANN201
        self.traces["transition"] += 1
        moves = jnp.stack(
            [z[:2], jnp.stack([2.0 * z[0], jnp.float32(0.0)]), jnp.zeros((2,), jnp.float32)]
        )
        pos = state.pos + moves[k]
        new = ToyState(pos=pos, time=state.time + 1)
        terminated = pos[0] >= params.goal
        reward = (k + 1).astype(jnp.float32)
        info = {"success": terminated, "pos": pos} if self.with_success else {"pos": pos}
        return self.get_obs(new), new, reward, terminated, info

    def draw(self, ax: Any, state: ToyState, params: ToyParams) -> None:
        ax.plot([float(state.pos[0])], [float(state.pos[1])], "o")
        ax.axvline(float(params.goal))
