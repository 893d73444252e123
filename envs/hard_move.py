"""Hard Move n (``HardMove-n<N>-v0``): reach a landmark by combining n actuators.

Follows HyAR's ``multiagent/scenarios/simple_move_4_direction_v1.py`` in action mode 8, with
``core.py``/``environment.py::_set_action1``
(``TJU-DRL-LAB/self-supervised-rl@ece95621b8c49f154f96cf7d395b95362a3b3d4e``, under
``RL_with_Action_Representation/HyAR/``), and DLPA's glue
(``Valarzz/Model-based-Reinforcement-Learning-for-Parameterized-Action-Spaces@4b9460bc``,
``DLPA.py::Trainer.{act,pad_action}``): spec §6.

Actuator j points at angle ``2πj/n``. Discrete action k (K = 2^n) switches on the actuators of
its binary code (MSB first: actuator j is bit ``n-1-j``); its motion is the sum of their
directions divided by the largest such sum over all k. The single parameter p scales the force
``2 p motion[k]`` (no clip: p outside [-1, 1] scales beyond the nominal force, p < 0 reverses
it). The world then steps (``particle``); the reward is ``20 - d2`` inside radius 0.2 (success,
``terminated``), ``-d2`` otherwise. The step cap ``max_steps_in_episode`` is ``truncated``:
25 (DLPA, default) or 30 (HyAR, ``make("HardMove-n4-v0", max_steps_in_episode=30)``).

The motion table (K x 2) is computed once at construction in numpy float64, as the original
computes it, and a step is one gather from it, so nothing grows faster than K (n = 16 gives
65536 actions; no K x K or K x P array is built anywhere).

Quirks kept (spec §6.4):

* M1: the actuator directions are rounded to 3 decimals (``np.around(..., 3)``, ``-0.0``
  entries included) before summing and normalising.
* M2: one scalar parameter per discrete action scales the whole combined force; several
  combinations give zero force (4, 10, 16, 34 of them for n = 4, 6, 8, 10).

Deviations: none (the originals rebuild the table every step; the values are the same). The
reset is drawn with a JAX key instead of numpy's global ``RandomState``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from pamdp_bench.envs import particle
from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.spaces import ParameterizedActionSpace


def movement_table(n: int) -> np.ndarray:
    """float64[n, 2]: actuator j's direction ``(cos 2πj/n, sin 2πj/n)`` rounded to 3 decimals."""
    ang = 2.0 * np.pi * np.arange(n, dtype=np.float64) / n
    return np.around(np.stack([np.cos(ang), np.sin(ang)], axis=1), 3)


def raw_motion_table(n: int) -> np.ndarray:
    """float64[2^n, 2]: the sum of the active actuators' directions for every k.

    Accumulated actuator by actuator (O(K n) time, O(K) memory), in the original's order.
    """
    movement = movement_table(n)
    k = np.arange(2**n, dtype=np.int64)
    raw = np.zeros((2**n, 2), np.float64)
    for j in range(n):
        bit = ((k >> (n - 1 - j)) & 1).astype(np.float64)
        raw += bit[:, None] * movement[j]
    return raw


def motion_table(n: int) -> tuple[np.ndarray, float]:
    """``(motions float64[2^n, 2], normaliser)``: raw motions divided by their largest norm."""
    raw = raw_motion_table(n)
    norm = float(np.max(np.sqrt(raw[:, 0] ** 2 + raw[:, 1] ** 2)))
    return raw / norm, norm


@struct.dataclass
class HardMoveState(particle.ParticleState):
    """World state (agent, velocity, landmark, step counter)."""


@struct.dataclass
class HardMoveParams(particle.ParticleParams):
    """Hard Move constants; ``max_steps_in_episode`` 25 (DLPA) or 30 (HyAR)."""

    max_steps_in_episode: int = 25


class HardMove(PAMDPEnvironment[HardMoveState, HardMoveParams]):
    """Hard Move with n actuators: K = 2^n actions, one parameter each."""

    obs_dim = 4

    def __init__(self, n: int = 4, dtype: Any = jnp.float32) -> None:
        super().__init__()
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"Hard Move needs an integer n >= 1 actuators, got {n!r}")
        self.n = int(n)
        self.dtype = jnp.dtype(dtype)
        motions, norm = motion_table(self.n)
        #: float64 tables as the original computes them (host side, for tests and tools).
        self.movement = movement_table(self.n)
        self.motions_f64 = motions
        self.normaliser = norm
        self._motions = motions.astype(np.dtype(self.dtype))
        self._space = ParameterizedActionSpace(2**self.n, (1,) * 2**self.n)

    @property
    def name(self) -> str:
        return f"HardMove-n{self.n}-v0"

    @property
    def default_params(self) -> HardMoveParams:
        return HardMoveParams()

    @property
    def k_bits(self) -> int:
        """k is a code of n on/off actuator bits (K = 2^n): agents may factorise over them
        (QMLE's bit-wise k head)."""
        return self.n

    # ------------------------------------------------------------------ dynamics
    def reset_env(self, key: jax.Array, params: HardMoveParams) -> tuple[jax.Array, HardMoveState]:
        pos, vel, lm = particle.reset_positions(key, params, self.dtype)
        state = HardMoveState(pos, vel, lm, jnp.asarray(0, jnp.int32))
        return self.get_obs(state, params), state

    def transition(
        self,
        key: jax.Array,
        state: HardMoveState,
        k: jax.Array,
        z: jax.Array,
        params: HardMoveParams,
    ) -> tuple[jax.Array, HardMoveState, jax.Array, jax.Array, dict[str, Any]]:
        del key  # no dynamics noise
        dt = self.dtype
        motion = jnp.asarray(self._motions)[k]
        p = z[0].astype(dt)
        force = jnp.asarray(params.force_scale, dt) * p * motion
        pos, vel = particle.integrate(state.agent_pos, state.agent_vel, force, params)
        d2 = particle.squared_distance(pos, state.landmark_pos)
        success = particle.in_target(d2, params)
        reward = particle.target_reward(d2, success, params)
        new_state = HardMoveState(pos, vel, state.landmark_pos, state.time + 1)
        info = {"success": success, "force": force.astype(jnp.float32)}
        obs = self.get_obs(new_state, params)
        return obs, new_state, reward.astype(jnp.float32), success, info

    def get_obs(
        self,
        state: HardMoveState,
        params: HardMoveParams | None = None,
        key: jax.Array | None = None,
    ) -> jax.Array:
        """The raw 4 dims ``[v_x, v_y, lm_x - ag_x, lm_y - ag_y]``, float32."""
        return particle.raw_obs(state)

    # ----------------------------------------------------------- conformance hooks
    def noise_free(self, params: HardMoveParams) -> HardMoveParams:
        """Hard Move has no dynamics noise: ``params`` unchanged."""
        return params

    def state_from_golden(self, init: dict[str, Any], params: HardMoveParams) -> HardMoveState:
        pos, vel, lm = particle.state_arrays_from_golden(init, self.dtype)
        return HardMoveState(pos, vel, lm, jnp.asarray(0, jnp.int32))

    def golden_state_vector(self, state: HardMoveState) -> jax.Array:
        """``[agent_x, agent_y, agent_vx, agent_vy, landmark_x, landmark_y]`` (no golden column)."""
        return particle.state_vector(state)

    def draw(self, ax: Any, state: HardMoveState, params: HardMoveParams) -> None:
        particle.draw_world(ax, state, params, f"{self.n} actuators, {2**self.n} actions")
