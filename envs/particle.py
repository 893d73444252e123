"""Shared point-mass world of Catch Point and Hard Move (HyAR's ``multiagent`` package).

Both benchmarks run in HyAR's copy of the multi-agent particle world
(``TJU-DRL-LAB/self-supervised-rl@ece95621b8c49f154f96cf7d395b95362a3b3d4e``,
``RL_with_Action_Representation/HyAR/multiagent/core.py``; spec §5.1): one agent of mass 1 and one
fixed landmark in an unbounded plane, no collisions, no dynamics noise. This module holds what the
two envs share so that neither re-implements it:

* the params every particle env has (``ParticleParams``: step cap, reset range, time step,
  damping, force scale, target radius and bonus), all plain pytree leaves so they can be
  ``vmap``-ed;
* the state fields every particle env has (``ParticleState``);
* the reset draw (agent and landmark uniform in ``[-r, r]^2``, velocity 0), the semi-implicit
  Euler step with damping applied first, the squared distance and the target reward
  ``20 - d2`` inside the radius, ``-d2`` outside;
* the raw 4-dim observation and a matplotlib drawing.

Everything is written for one environment (no batch axis); ``vmap`` adds the batch.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

#: Original constants (``core.py`` ``World``/``Agent`` and the two scenarios).
DT = 0.1
DAMPING = 0.25
FORCE_SCALE = 2.0
TARGET_RADIUS = 0.2
TARGET_BONUS = 20.0
RESET_RANGE = 1.0


@struct.dataclass
class ParticleState:
    """Agent position/velocity, landmark position and the agent-step counter."""

    agent_pos: jax.Array  # dtype[2]
    agent_vel: jax.Array  # dtype[2]
    landmark_pos: jax.Array  # dtype[2]
    time: jax.Array  # int32[], agent steps taken this episode


@struct.dataclass
class ParticleParams:
    """Tunable constants shared by the particle envs (defaults: the originals' values).

    The originals have no dynamics noise, so there is no noise scale here; the only
    randomness is the reset draw, whose half-width ``reset_range`` is a parameter.
    """

    max_steps_in_episode: int = 25
    reset_range: float = RESET_RANGE
    dt: float = DT
    damping: float = DAMPING
    force_scale: float = FORCE_SCALE
    target_radius: float = TARGET_RADIUS
    target_bonus: float = TARGET_BONUS


def reset_positions(
    key: jax.Array, params: ParticleParams, dtype: Any
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Agent and landmark positions ~ U(-r, r)^2 (one draw of 4 numbers), zero velocity."""
    r = jnp.asarray(params.reset_range, dtype)
    draw = jax.random.uniform(key, (2, 2), dtype, -1.0, 1.0) * r
    return draw[0], jnp.zeros((2,), dtype), draw[1]


def integrate(
    pos: jax.Array, vel: jax.Array, force: jax.Array, params: ParticleParams
) -> tuple[jax.Array, jax.Array]:
    """One world step of ``core.py::World``: damp, add force*dt (mass 1), then move."""
    dtype = pos.dtype
    dt = jnp.asarray(params.dt, dtype)
    vel = vel * (jnp.asarray(1.0, dtype) - jnp.asarray(params.damping, dtype))
    vel = vel + force * dt
    pos = pos + vel * dt
    return pos, vel


def squared_distance(a: jax.Array, b: jax.Array) -> jax.Array:
    """``|a - b|^2`` as the scenarios compute it (sum of squared differences)."""
    d = a - b
    return d[0] * d[0] + d[1] * d[1]


def in_target(d2: jax.Array, params: ParticleParams) -> jax.Array:
    """Inside the target radius: ``d2 <= radius**2`` (``0.2**2`` as in the originals)."""
    r = jnp.asarray(params.target_radius, d2.dtype)
    return d2 <= r * r


def target_reward(d2: jax.Array, hit: jax.Array, params: ParticleParams) -> jax.Array:
    """``bonus - d2`` when ``hit`` (success), else ``-d2``, in the physics dtype."""
    bonus = jnp.asarray(params.target_bonus, d2.dtype)
    return jnp.where(hit, bonus - d2, -d2)


def raw_obs(state: ParticleState) -> jax.Array:
    """``[v_x, v_y, lm_x - ag_x, lm_y - ag_y]`` (the scenarios' observation), float32."""
    rel = state.landmark_pos - state.agent_pos
    return jnp.concatenate([state.agent_vel, rel]).astype(jnp.float32)


def state_arrays_from_golden(
    init: dict[str, Any], dtype: Any
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(agent_pos, agent_vel, landmark_pos)`` from a golden ``init`` record (host side)."""
    np_dtype = np.dtype(dtype)
    return (
        jnp.asarray(np.asarray(init["agent_pos"], np.float64).astype(np_dtype)),
        jnp.asarray(np.asarray(init.get("agent_vel", [0.0, 0.0]), np.float64).astype(np_dtype)),
        jnp.asarray(np.asarray(init["landmark_pos"], np.float64).astype(np_dtype)),
    )


def state_vector(state: ParticleState) -> jax.Array:
    """Raw state ``[agent_x, agent_y, agent_vx, agent_vy, landmark_x, landmark_y]``."""
    return jnp.concatenate([state.agent_pos, state.agent_vel, state.landmark_pos])


def draw_world(ax: Any, state: ParticleState, params: ParticleParams, title: str = "") -> None:
    """Draw the landmark with its target radius, the agent and its velocity on ``ax``.

    ``title`` is an optional axis title for env-specific details (the renderer adds the env
    name and the step itself).
    """
    from matplotlib.patches import Circle

    ag = np.asarray(state.agent_pos, np.float64)
    vel = np.asarray(state.agent_vel, np.float64)
    lm = np.asarray(state.landmark_pos, np.float64)
    radius = float(params.target_radius)
    ax.add_patch(Circle(tuple(lm), radius, color="tab:green", alpha=0.3, label="target"))
    ax.plot(*lm, marker="x", color="tab:green")
    ax.add_patch(Circle(tuple(ag), 0.05, color="tab:blue", label="agent"))
    ax.arrow(ag[0], ag[1], vel[0], vel[1], width=0.005, color="tab:blue", length_includes_head=True)
    # Unbounded plane: keep both bodies in view plus a margin around the reset square.
    span = max(float(params.reset_range), float(np.max(np.abs(np.concatenate([ag, lm])))))
    lim = span + 0.3
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
