"""Shared base class of the PAMDP environments: gymnax 1.0 semantics plus hybrid actions.

gymnax's ``Environment.step`` already gives the six-value step with auto-reset
(``info["final_observation"]``, ``terminated`` vs ``truncated``). This class adds what every
PAMDP benchmark needs on top:

* action validation: shapes and dtypes are checked at trace time (a clear Python error, also
  under ``jit``); *values* cannot raise inside ``jit``, so they follow a documented rule:

  - a discrete index outside ``[0, K)`` is clipped to the nearest valid index;
  - a non-finite parameter (NaN, +-inf) of the chosen action is replaced by 0, the middle of
    the agent-side range;
  - a finite parameter beyond +-``MAX_ABS_PARAM`` (1e3, a thousand times the agent-side
    range) is clipped to it: such values are bugs, not actions, and would overflow the
    physics (Catch Point's and Hard Move's force scale with z: 3e38 turns the state to
    inf / NaN);

  and every case sets ``info["invalid_action"]``. Parameters that are finite, outside
  [-1, 1] and within the bound are *not* invalid: the originals accept them (Platform/Goal
  clip in raw units, Catch Point/Hard Move scale the force; DLPA's official executed noise
  leaves [-1, 1]), and so does the port.
* the chosen action's parameters arrive at ``transition`` already sliced and padded
  (``z_pad[max_param_dim]``), so physics code never indexes the flat vector.
* truncation at ``params.max_steps_in_episode`` agent steps (``state.time`` counts them).
* hooks for conformance with the originals (``noise_free``, ``state_from_golden``,
  optionally ``golden_state_vector``) and for rendering (``draw``).

Every env's ``info`` carries ``success`` (bool) and ``invalid_action``; Platform and Goal add
``substeps`` and ``inner_cap_hit`` (the inner physics loop stopped at ``params.max_substeps``),
Catch Point and Hard Move the applied ``force``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import environment
from gymnax.environments import spaces as gspaces

from pamdp_bench.envs.spaces import Action, ParameterizedActionSpace

TState = TypeVar("TState")
TParams = TypeVar("TParams")


class PAMDPEnvironment(environment.Environment[TState, TParams], Generic[TState, TParams]):
    """A gymnax environment whose actions are ``(k, z)`` pairs (see ``spaces``)."""

    #: Length of the default agent-side observation vector. A params field may change the view
    #: (Catch Point's ``obs_view``): size networks from ``observation_space(params)``.
    obs_dim: int
    #: The hybrid action space, built by each env's ``__init__`` (see ``pamdp_space``).
    _space: ParameterizedActionSpace
    #: Finite parameters beyond this magnitude are invalid and clipped (module docstring).
    MAX_ABS_PARAM: float = 1e3

    # Every env module still declares the gymnax API's ``name`` / ``default_params``
    # properties and ``get_obs``: a few same-shape lines repeated across env modules by design
    # (``duplicates`` lists them as shape boilerplate), each with its own id, params class and view.

    # ----------------------------------------------------------------- to implement
    @property
    def pamdp_space(self) -> ParameterizedActionSpace:
        """The hybrid action space (agent side, parameters in [-1, 1]): the ``_space`` an env
        builds in ``__init__`` (or override this property)."""
        return self._space

    def transition(
        self,
        key: jax.Array,
        state: TState,
        k: jax.Array,
        z: jax.Array,
        params: TParams,
    ) -> tuple[jax.Array, TState, jax.Array, jax.Array, dict[str, Any]]:
        """One agent step with a valid ``k`` and finite padded parameters ``z``.

        Returns ``(obs, state, reward, terminated, info)``; ``info`` must hold ``success``.
        The returned state must have ``time`` incremented by one.
        """
        raise NotImplementedError

    def noise_free(self, params: TParams) -> TParams:
        """``params`` with every noise scale set to 0 (the golden set-A setting)."""
        raise NotImplementedError

    def state_from_golden(self, init: dict[str, Any], params: TParams) -> TState:
        """Initial state from a golden episode's ``init`` record (host side)."""
        raise NotImplementedError

    def draw(self, ax: Any, state: TState, params: TParams) -> None:
        """Draw ``state`` on a matplotlib axis (used by ``pamdp_bench.envs.rendering``)."""
        raise NotImplementedError

    # ------------------------------------------------------------------- provided
    def action_space(self, params: TParams | None = None) -> ParameterizedActionSpace:
        """The hybrid action space; ``.to_gymnax()`` gives a gymnax ``Tuple`` space."""
        return self.pamdp_space

    def observation_space(self, params: TParams | None = None) -> gspaces.Box:
        """Unbounded Box: the originals' scaled observations are not clipped (can leave ±1)."""
        return gspaces.Box(-jnp.inf, jnp.inf, (self.obs_dim,), jnp.float32)

    @property
    def num_actions(self) -> int:
        return self.pamdp_space.num_actions

    def step_env(
        self,
        key: jax.Array,
        state: TState,
        action: Action,
        params: TParams,
    ) -> tuple[jax.Array, TState, jax.Array, jax.Array, dict[str, Any]]:
        space = self.pamdp_space
        k, z = space.check_action(action)
        bad_k = (k < 0) | (k >= space.num_actions)
        k = jnp.clip(k, 0, space.num_actions - 1)
        _, z_pad = space.to_padded((k, z.astype(jnp.float32)))
        finite = jnp.isfinite(z_pad)
        sane = finite & (jnp.abs(z_pad) <= self.MAX_ABS_PARAM)
        bad_z = ~jnp.all(sane | ~space.param_mask(k))
        z_pad = jnp.clip(jnp.where(finite, z_pad, 0.0), -self.MAX_ABS_PARAM,
                         self.MAX_ABS_PARAM)
        obs, state, reward, terminated, info = self.transition(key, state, k, z_pad, params)
        info = {**info, "invalid_action": bad_k | bad_z}
        return obs, state, reward, terminated, info

    def is_truncated(self, state: TState, params: TParams) -> jax.Array:
        return state.time >= params.max_steps_in_episode

    def raw_param_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(low[P], high[P])``: the env units the agent-side ``[-1, 1]`` of each flat
        parameter maps to, affinely (the original gym envs' raw Boxes, which MP-DQN's
        ``ScaledParameterisedActionWrapper`` rescaled; agents that initialise from them need
        them). None where the parameters are the original's own ``[-1, 1]`` (Catch Point, Hard
        Move) or the map is not affine (Hard Goal's shoot bands)."""
        return None

    def observes_time(self, params: TParams) -> bool:
        """Does the observation carry the step count (a clock)? Static per params.

        With a clock in the state the step cap is part of the task, so a value target must not
        bootstrap through a truncation (Pardo et al. 2018, "Time Limits in Reinforcement
        Learning"): the next state's clock value is one the critic never trains on. Only
        Catch Point's DLPA view has one.
        """
        return False
