"""Catch Point (``CatchPoint-v0``): move towards a fixed landmark and catch it.

Follows HyAR's ``multiagent/scenarios/simple_catch.py`` with ``core.py``/``environment.py``
(``TJU-DRL-LAB/self-supervised-rl@ece95621b8c49f154f96cf7d395b95362a3b3d4e``, under
``RL_with_Action_Representation/HyAR/``) and DLPA's agent-side glue
(``Valarzz/Model-based-Reinforcement-Learning-for-Parameterized-Action-Spaces@4b9460bc``,
``DLPA.py::Trainer.{reset,act,pad_action}``): spec §5.

Actions (K = 2): ``0 = move(z)`` applies the force ``2 (sin πz, cos πz)`` (angle from +y,
clockwise; ``z*π`` is computed in float32 as DLPA does, no clip, the angle just wraps);
``1 = catch`` has no parameter and applies no force. The world then steps (``particle``), and
the reward is ``20 - d2`` for a catch within radius 0.2, ``-d2`` otherwise, and 0 once the
catch budget is used up.

Endings: ``terminated`` on a successful catch (step reward > 4) or when the reward is 0 (the
exhausted budget; DLPA's ``reward == 0`` test); the 25-step cap is ``truncated``
(``max_steps_in_episode``).

Observation (default, ``obs_view="dlpa"``, 6 dims): ``[v, landmark - agent]`` plus DLPA's two
float32 features, ``valid_feat`` (-1, ``+1/6`` per failed catch while ``<= 2/3``) and
``time_feat`` (-1, ``+1/12`` per step). ``obs_view="hyar"`` gives HyAR's 4 raw dims (this
changes the shape, so the field is static).

Quirks kept (spec §5.8):

* C1: 11 failed catches are allowed (``catch_budget = 11``: ``valid_time <= 10`` is tested
  before the increment); the reward is 0 from the step after the 11th failure.
* C2: DLPA's ``valid_feat`` saturates at ~0.6667 after 10 failures. DLPA adds ``1/6`` in
  float64 to the float32 feature and stores float32, then tests ``<= 2/3`` in float64; after
  10 increments the float32 value 0.6666667 is just above 2/3. Both roundings are reproduced
  deliberately (``_add_f64_to_f32`` below, and the test ``feat < float32(2/3)``, which equals
  the float64 ``feat <= 2/3`` for every float32 ``feat``). ``time_feat`` is accumulated the
  same way.
* C3: HyAR's catch action carries an unused ``z*π``: here the catch action has no parameter at
  all (``param_dims = (1, 0)``, DLPA's layout); the env ignores it either way.
* C4: no arena bounds; the agent can drift away and ``d2`` grows without limit.

Deviations: none. Not reproduced (and unobservable): the originals draw the reset from
numpy's global ``RandomState``; here it is a JAX key.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces as gspaces

from pamdp_bench.envs import particle
from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.spaces import ParameterizedActionSpace

MOVE, CATCH = 0, 1

#: DLPA's feature increments, split into float32 hi + lo parts so that a float32-only
#: computation reproduces ``float32(float64(feat) + 1/6)`` (and ``1/12``) exactly.
_VALID_STEP = 1.0 / 6.0
_TIME_STEP = 1.0 / 12.0
#: ``float32(2/3)`` is the float32 just above 2/3, so ``f < float32(2/3)`` <=> ``f <= 2/3``
#: (float64 comparison) for every float32 ``f``: the comparison DLPA makes.
_TWO_THIRDS_F32 = np.float32(2.0 / 3.0)
assert float(_TWO_THIRDS_F32) > 2.0 / 3.0
#: DLPA's distance threshold for counting a failed catch in ``valid_feat``.
_FEAT_RADIUS2 = 0.04


def _split_f64(c: float) -> tuple[np.float32, np.float32]:
    hi = np.float32(c)
    return hi, np.float32(c - float(hi))


def _add_f64_to_f32(x: jax.Array, c: float) -> jax.Array:
    """``float32(float64(x) + c)`` for float32 ``x``, using float32 arithmetic only.

    Two-sum of ``x + hi`` plus the low part of ``c``: exact for DLPA's feature sequences
    (checked against float64 for 2e5 steps of each).
    """
    hi, lo = _split_f64(c)
    hi = jnp.float32(hi)
    s = x + hi
    b = s - x
    err = (x - (s - b)) + (hi - b)
    return s + (err + jnp.float32(lo))


@struct.dataclass
class CatchPointState(particle.ParticleState):
    """World state plus the failed-catch counter and DLPA's two float32 features."""

    fail_count: jax.Array  # int32[], the env's ``agent.valid_time``
    valid_feat: jax.Array  # float32[], DLPA's failed-catch feature
    time_feat: jax.Array  # float32[], DLPA's time feature


@struct.dataclass
class CatchPointParams(particle.ParticleParams):
    """Catch Point constants; ``obs_view`` is ``"dlpa"`` (6 dims) or ``"hyar"`` (4 raw dims)."""

    max_steps_in_episode: int = 25
    catch_budget: int = 11
    obs_view: str = struct.field(pytree_node=False, default="dlpa")


_OBS_DIMS = {"dlpa": 6, "hyar": 4}


def _obs_view(params: CatchPointParams) -> str:
    """The (static) observation view, validated."""
    if params.obs_view not in _OBS_DIMS:
        raise ValueError(f"obs_view must be 'dlpa' or 'hyar', got {params.obs_view!r}")
    return params.obs_view


class CatchPoint(PAMDPEnvironment[CatchPointState, CatchPointParams]):
    """Catch Point: K = 2 (move with an angle parameter, catch without parameter)."""

    obs_dim = 6

    def __init__(self, dtype: Any = jnp.float32) -> None:
        super().__init__()
        self.dtype = jnp.dtype(dtype)
        self._space = ParameterizedActionSpace(2, (1, 0))

    @property
    def name(self) -> str:
        return "CatchPoint-v0"

    @property
    def default_params(self) -> CatchPointParams:
        return CatchPointParams()

    def observation_space(self, params: CatchPointParams | None = None) -> gspaces.Box:
        """Unbounded Box of 6 (DLPA view) or 4 (HyAR view) dims."""
        view = _obs_view(params if params is not None else self.default_params)
        return gspaces.Box(-jnp.inf, jnp.inf, (_OBS_DIMS[view],), jnp.float32)

    # ------------------------------------------------------------------ dynamics
    def reset_env(
        self, key: jax.Array, params: CatchPointParams
    ) -> tuple[jax.Array, CatchPointState]:
        pos, vel, lm = particle.reset_positions(key, params, self.dtype)
        state = self._initial_state(pos, vel, lm)
        return self.get_obs(state, params), state

    def _initial_state(self, pos: jax.Array, vel: jax.Array, lm: jax.Array) -> CatchPointState:
        minus_one = jnp.asarray(-1.0, jnp.float32)
        return CatchPointState(
            agent_pos=pos,
            agent_vel=vel,
            landmark_pos=lm,
            time=jnp.asarray(0, jnp.int32),
            fail_count=jnp.asarray(0, jnp.int32),
            valid_feat=minus_one,
            time_feat=minus_one,
        )

    def transition(
        self,
        key: jax.Array,
        state: CatchPointState,
        k: jax.Array,
        z: jax.Array,
        params: CatchPointParams,
    ) -> tuple[jax.Array, CatchPointState, jax.Array, jax.Array, dict[str, Any]]:
        del key  # no dynamics noise
        dt = self.dtype
        is_catch = k == CATCH
        # DLPA: ``act_param * math.pi`` on a float32 array; sin/cos in the physics dtype.
        angle = (z[0].astype(jnp.float32) * jnp.float32(np.pi)).astype(dt)
        scale = jnp.asarray(params.force_scale, dt)
        force = jnp.where(
            is_catch, jnp.zeros((2,), dt), scale * jnp.stack([jnp.sin(angle), jnp.cos(angle)])
        )
        pos, vel = particle.integrate(state.agent_pos, state.agent_vel, force, params)
        d2 = particle.squared_distance(pos, state.landmark_pos)

        # Reward with its side effect on the failed-catch counter (C1: budget tested first).
        budget_ok = state.fail_count < params.catch_budget
        inside = particle.in_target(d2, params)
        success = budget_ok & is_catch & inside
        failed = budget_ok & is_catch & ~inside
        reward = jnp.where(
            budget_ok, particle.target_reward(d2, success, params), jnp.zeros((), dt)
        )
        terminated = success | (reward == 0)

        # DLPA's features (C2), float32 as in the original.
        count_fail = (state.valid_feat < _TWO_THIRDS_F32) & is_catch & (d2 > _FEAT_RADIUS2)
        valid_feat = jnp.where(
            count_fail, _add_f64_to_f32(state.valid_feat, _VALID_STEP), state.valid_feat
        )
        new_state = CatchPointState(
            agent_pos=pos,
            agent_vel=vel,
            landmark_pos=state.landmark_pos,
            time=state.time + 1,
            fail_count=state.fail_count + failed.astype(jnp.int32),
            valid_feat=valid_feat,
            time_feat=_add_f64_to_f32(state.time_feat, _TIME_STEP),
        )
        info = {
            "success": success,
            "force": force.astype(jnp.float32),
            "fail_count": new_state.fail_count,
            "budget_exhausted": ~budget_ok,
        }
        obs = self.get_obs(new_state, params)
        return obs, new_state, reward.astype(jnp.float32), terminated, info

    def get_obs(
        self,
        state: CatchPointState,
        params: CatchPointParams | None = None,
        key: jax.Array | None = None,
    ) -> jax.Array:
        """DLPA's 6-dim view (default) or HyAR's 4 raw dims, float32."""
        view = _obs_view(params if params is not None else self.default_params)
        raw = particle.raw_obs(state)
        if view == "hyar":
            return raw
        feats = jnp.stack([state.valid_feat, state.time_feat]).astype(jnp.float32)
        return jnp.concatenate([raw, feats])

    def observes_time(self, params: CatchPointParams) -> bool:
        """DLPA's view carries ``time_feat`` (a clock); HyAR's raw view does not."""
        return _obs_view(params) == "dlpa"

    # ----------------------------------------------------------- conformance hooks
    def noise_free(self, params: CatchPointParams) -> CatchPointParams:
        """Catch Point has no dynamics noise: ``params`` unchanged."""
        return params

    def state_from_golden(self, init: dict[str, Any], params: CatchPointParams) -> CatchPointState:
        """Time-0 state from a golden ``init`` (counter 0, both features -1)."""
        pos, vel, lm = particle.state_arrays_from_golden(init, self.dtype)
        return self._initial_state(pos, vel, lm)

    def golden_state_vector(self, state: CatchPointState) -> jax.Array:
        """``[agent_x, agent_y, agent_vx, agent_vy, landmark_x, landmark_y]`` (no golden column)."""
        return particle.state_vector(state)

    def draw(self, ax: Any, state: CatchPointState, params: CatchPointParams) -> None:
        budget = int(params.catch_budget)
        particle.draw_world(ax, state, params, f"failed catches {int(state.fail_count)}/{budget}")
