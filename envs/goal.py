"""Robot Soccer Goal and HyAR's Hard Goal in pure JAX, agent side as DLPA / MP-DQN / HyAR see it.

Follows ``cycraig/gym-goal@8e142bed61324c38d14295ed0e00f2de3fea9881`` (``gym_goal/envs/
goal_env.py``, ``config.py``, ``util.py``) behind the MP-DQN wrapper stack of
``cycraig/MP-DQN@eec13eb9b4e2c0099649e0639f2a8b93d7d0d5be`` (``GoalObservationWrapper``,
``GoalFlattenedActionWrapper``, ``ScaledParameterisedActionWrapper``, ``ScaledStateWrapper``).
Hard Goal's action mapping (``pad_action_``'s ``c_rate`` bands) follows
``TJU-DRL-LAB/self-supervised-rl@ece95621b8c49f154f96cf7d395b95362a3b3d4e``. Spec:
``shared/specs/envs.md`` §3 (Goal) and §4 (Hard Goal).

Interface
  * Goal: K = 3, ``param_dims = (2, 1, 1)``: 0 kick-to(x, y), 1 and 2 shoot-goal(y). The chosen
    parameters are mapped as the wrapper does, in float32, ``range * (z + 1) / 2 + low``
    (x in [0, 40], y in [-15, 15], shoot y in [-7.01, 7.01]), then clipped to those bounds as
    the env does.
  * Hard Goal: K = 11, ``param_dims = (2, 1, ..., 1)``: 0 kick-to, 1-5 shoot (env action 1),
    6-10 shoot (env action 2) with HyAR's band ``c_rate[(k - 1) % 5] = (c0, c1)``:
    ``z' = z (c0 - c1) / 2 + (c0 + c1) / 2``, then the wrapper map. HyAR does this in float64
    (from the float32 z); the port uses the physics dtype.
  * ``params.raw_params``: z is already in env units (after the wrapper / band map; the env's
    clip still applies).
  * observation float32[17]: the env's 14 raw numbers (player pos, vel, orientation; keeper pos,
    vel, orientation; ball pos, vel), the unit keeper->ball vector and the keeper's projection on
    the goal line (``GoalObservationWrapper``), scaled by ``ScaledStateWrapper``
    (``2 (s - low) / (high - low) - 1``, float32 bounds, no clipping). ``params.raw_obs`` gives
    the unscaled 17 numbers instead.
  * reward 0 until the episode ends; then +50 for a goal, else ``-goal_distance(ball)``.
  * ``terminated``: goal, keeper catch, ball out of the field, or the env's own timeout: the
    ``params.max_time``-th (100th) ``step`` call runs no physics, pays ``-goal_distance`` and
    is terminal (spec Decisions item 5: a task ending, not a truncation).
    ``truncated``: ``params.max_steps_in_episode`` agent steps (a protocol cap, e.g. DLPA's 25
    in training); never reported together with the timeout (``is_truncated``).
  * ``info``: ``success`` (goal scored), ``substeps`` (physics ticks of this step, 0 on the
    timeout call), ``inner_cap_hit`` (the tick loop stopped at ``params.max_substeps``; the
    original has no cap, its measured maximum is 279), ``timeout`` (the env's own timeout).

Quirks kept (spec §3.6, §4)
  * Q1 kick-to aims at (x, x): the y parameter is accepted, clipped and ignored.
  * Q2 actions 1 and 2 (Hard Goal: k and k + 5) are the same shoot-goal.
  * Q3 a shoot step runs ticks until the episode ends.
  * Q4 ``goal_distance`` beyond the goal line is ``7.01 - y`` below the mouth (asymmetric).
  * Q5 the keeper chases the ball's predicted rest point anywhere unless the ball heads into the
    mouth; a catch (distance < 2) succeeds with ``params.catch_probability`` (1.0).
  * Q6 orientations are never wrapped; observations are not clipped.
  * Q8 tunnelling: the terminal test only runs at tick ends (a ball jumping from x < 20 past
    22.44 is "out" with reward 0 when |y| <= 7.01).
  * Q9 the angle noise multiplies the absolute angle: ``theta (1 + U(-r, r))``.
  * Q11 the keeper projection is clipped to ``[-7.01, 14.02]`` and scaled with those bounds.
  * Q12 ``in_net`` is tested before the catch.
  * H1 Hard Goal's third band is ``[0.2, 0.2]``: k = 3 and k = 8 always shoot at y = 1.402.
    ``params.intended_middle_band`` switches to ``[-0.2, 0.2]`` (off by default).

Deviations
  * Q7 fixed: the original places the reset ball at distance ``1.6 - 1e-12`` so that it is
    kickable at t = 0; in float32 that is 1.6 and the recomputed distance exceeds 1.6 for about
    a quarter of y0. The port keeps ``1e-12`` in float64 and uses a margin of ``2e-6`` (about 17
    float32 ulps at 1.6; 4e-7 already suffices) in float32: the ball sits 1.25 ppm closer and
    the float32 distance is <= 1.6 for every y0 (``tests/envs/test_goal.py`` checks a dense
    grid).
  * Q10 not reproduced: numpy's stream cannot be matched, and with catch probability 1 the
    catch draw has no effect (the port draws one uniform per tick for it).
  * Random streams differ from numpy's: with noise on, distributions are compared
    (``golden/stats.json``); with every noise scale 0 the dynamics are deterministic.

Random numbers: ``jax.random.bits`` turns each step's key into a 64-bit noise key; tick ``n``'s
7 uniforms (23 bits each, as ``jax.random.uniform``) are the Threefry-2x32 blocks of the
counters ``(n, 0..3)`` under that key (``envs/counter_rng.py``, shared with Platform:
``jax.random``'s own generator evaluated elementwise; ``jax.random`` per tick cost ~80 ns per
lane and tick here, more than the physics). Three uniforms drive the one ``accelerate`` of
the player's action (a dash moves the player, a kick the ball, a turn uses none), three the
keeper's, one the catch. Noise scales of 0 make the draws irrelevant (exactly zero noise).

Speed (batch 4096, random policy, this 2-core CPU): a step runs ticks in a while loop until
every lane is done, and a shoot lasts until the episode ends, so a vmapped loop would run every
lane as long as the slowest of 4096 (~230 ticks per step for a mean of 26). ``TICK_LOOP`` therefore
compacts lanes (``envs/compaction.py``): the batch runs until at most a quarter of its lanes are
still active, those are gathered into a batch of that size, and so on down to 16 lanes (~42
lane-ticks per agent step instead of ~230); nested vmaps are merged into one lane axis first.
A tick itself
is ~1800 vectorised ops: float32 ``atan2`` is a polynomial (XLA's is a scalar libm call), and
``_keep`` stops XLA:CPU from re-computing shared values (cos/sin, Threefry blocks) inside every
consumer fusion. Each lane's result equals the unbatched step's (same counters, same ops), up to
float rounding of differently fused code. ``custom_vmap`` has no autodiff rule: the step is not
differentiable (neither is the original). Measured: Goal ~400k, Hard Goal ~470-780k agent steps
per second (compile ~8 s); the originals run 442 and 810.

Float32: replaying the golden episodes (noise off) reproduces every terminal / success flag
and substep count of both benchmarks; observations agree within 1.8e-4 and raw states within
1.1e-3 (float32 drift, ~1e-5 per agent step in the 100-step scripted episode). With
``dtype=jnp.float64`` (under x64) states agree within 3e-7.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.compaction import CompactedLoop
from pamdp_bench.envs.counter_rng import bits_to_uniform, tick_words
from pamdp_bench.envs.spaces import ParameterizedActionSpace

# ------------------------------------------------------------------ constants (config.py)
PLAYER_SIZE, PLAYER_POWER_RATE, PLAYER_DECAY = 0.9, 0.006, 0.4
PLAYER_ACCEL_MAX = PLAYER_SPEED_MAX = 1.0
BALL_SIZE, BALL_POWER_RATE, BALL_DECAY = 0.4, 0.027, 0.94
BALL_ACCEL_MAX = BALL_SPEED_MAX = 2.7
PLAYER_RAND, BALL_RAND = 0.1, 0.05
MINPOWER, MAXPOWER = -100.0, 100.0
KICKABLE = PLAYER_SIZE + 0.7  # 1.5999999999999999 in float64, as in config.py
CATCHABLE = 2.0
CATCH_PROBABILITY = 1.0
INERTIA_MOMENT = 5.0
PITCH_LENGTH, PITCH_WIDTH = 40.0, 30.0
GOAL_AREA_LENGTH, GOAL_AREA_WIDTH = 5.5, 18.32
GOAL_WIDTH, GOAL_DEPTH = 14.02, 2.44
MAX_TIME = 100

HALF_LENGTH = PITCH_LENGTH / 2  # 20: the goal line
HALF_GOAL = GOAL_WIDTH / 2  # 7.01
NET_BACK = HALF_LENGTH + GOAL_DEPTH  # 22.44
BALL_STOP = 1.0 - BALL_DECAY  # 0.06000000000000005, kick_to's "stop at target" factor
SHOOT_X = HALF_LENGTH + BALL_SIZE  # 20.4
KEEPER_REACH = HALF_GOAL + CATCHABLE  # 9.01
KEEPER_X0 = HALF_LENGTH - GOAL_AREA_LENGTH  # 14.5
KEEPER_Y0_MAX = GOAL_AREA_WIDTH / 2  # 9.16
RESET_MARGIN_F64 = 1e-12  # the original's MACHINE_EPSILON
RESET_MARGIN_F32 = 2e-6  # Q7 fix (see the module docstring)

# ScaledStateWrapper bounds of the 17-dim observation (float32, as gym's Box stores them).
_OBS_LOW = np.array(
    [0, -15, -1, -1, -np.pi, 0, -15, -1, -1, -np.pi, 0, -15, -3, -3, -1, -1, -HALF_GOAL],
    np.float32,
)
_OBS_HIGH = np.array(
    [20, 15, 1, 1, np.pi, 20, 15, 1, 1, np.pi, 20, 15, 3, 3, 1, 1, GOAL_WIDTH], np.float32
)
_OBS_RANGE = _OBS_HIGH - _OBS_LOW  # computed in float32, as the wrapper does

# Raw parameter bounds of the flattened action space (float32 Boxes): x, y, shoot y.
_PARAM_LOW = np.array([0.0, -PITCH_WIDTH / 2, -HALF_GOAL], np.float32)
_PARAM_HIGH = np.array([PITCH_LENGTH, PITCH_WIDTH / 2, HALF_GOAL], np.float32)
_PARAM_RANGE = _PARAM_HIGH - _PARAM_LOW

# HyAR's shoot bands (c0, c1) per sub-interval; H1: the third is degenerate.
C_RATE = ((-1.0, -0.6), (-0.6, -0.2), (0.2, 0.2), (0.2, 0.6), (0.6, 1.0))
C_RATE_INTENDED_MIDDLE = (-0.2, 0.2)


# ---------------------------------------------------------------------------- pytrees
@struct.dataclass
class GoalState:
    """The env's raw world state (physics dtype) and the agent-step counter."""

    player_pos: jax.Array  # dtype[2]
    player_vel: jax.Array  # dtype[2]
    player_orient: jax.Array  # dtype[], never wrapped (Q6)
    keeper_pos: jax.Array  # dtype[2]
    keeper_vel: jax.Array  # dtype[2]
    keeper_orient: jax.Array  # dtype[]
    ball_pos: jax.Array  # dtype[2]
    ball_vel: jax.Array  # dtype[2]
    time: jax.Array  # int32[], agent steps (env.step calls) this episode

    def as_vector(self) -> jax.Array:
        """The env's 14-dim raw state (the golden files' ``state`` layout)."""
        return jnp.concatenate(
            [
                self.player_pos,
                self.player_vel,
                self.player_orient[None],
                self.keeper_pos,
                self.keeper_vel,
                self.keeper_orient[None],
                self.ball_pos,
                self.ball_vel,
            ]
        )


@struct.dataclass
class GoalParams:
    """Every tunable constant of Goal; defaults are the original's."""

    max_steps_in_episode: int = MAX_TIME  # protocol truncation (e.g. 25 for DLPA training)
    max_time: int = MAX_TIME  # env-internal timeout: this step call is terminal, no physics
    player_rand: float = PLAYER_RAND  # RAND of the player's dashes
    keeper_rand: float = PLAYER_RAND  # RAND of the keeper (it uses the player constants)
    ball_rand: float = BALL_RAND  # RAND of the ball's kicks
    catch_probability: float = CATCH_PROBABILITY
    max_substeps: int = 1000  # tick cap per step (the original has none; measured max 279)
    raw_obs: bool = False  # True: the unscaled 17 numbers instead of the agent obs
    raw_params: bool = False  # True: z in env units (the env's clip still applies)


@struct.dataclass
class HardGoalParams(GoalParams):
    """Goal's constants plus Hard Goal's band switch."""

    intended_middle_band: bool = False  # True: third band [-0.2, 0.2] instead of H1's [0.2, 0.2]


class _World(NamedTuple):
    """The 14 physical scalars (the while-loop carry)."""

    px: jax.Array
    py: jax.Array
    pvx: jax.Array
    pvy: jax.Array
    po: jax.Array
    kx: jax.Array
    ky: jax.Array
    kvx: jax.Array
    kvy: jax.Array
    ko: jax.Array
    bx: jax.Array
    by: jax.Array
    bvx: jax.Array
    bvy: jax.Array


def _to_world(s: GoalState) -> _World:
    return _World(
        s.player_pos[0], s.player_pos[1], s.player_vel[0], s.player_vel[1], s.player_orient,
        s.keeper_pos[0], s.keeper_pos[1], s.keeper_vel[0], s.keeper_vel[1], s.keeper_orient,
        s.ball_pos[0], s.ball_pos[1], s.ball_vel[0], s.ball_vel[1],
    )  # fmt: skip


def _from_world(w: _World, time: jax.Array) -> GoalState:
    return GoalState(
        player_pos=jnp.stack([w.px, w.py]),
        player_vel=jnp.stack([w.pvx, w.pvy]),
        player_orient=w.po,
        keeper_pos=jnp.stack([w.kx, w.ky]),
        keeper_vel=jnp.stack([w.kvx, w.kvy]),
        keeper_orient=w.ko,
        ball_pos=jnp.stack([w.bx, w.by]),
        ball_vel=jnp.stack([w.bvx, w.bvy]),
        time=time,
    )


# ---------------------------------------------------------------------- primitives
def _atan2(y: jax.Array, x: jax.Array) -> jax.Array:
    """``arctan2`` that vectorises on CPU (XLA's float32 ``atan2`` is a scalar libm call,
    ~10 ns per element here, the single most expensive op of a tick).

    float32: octant reduction plus Cephes' ``atanf`` polynomial (max error 3 ulp, 2.7e-7 rad;
    signed zeros as ``arctan2``). Other dtypes (the float64 conformance build) use
    ``jnp.arctan2``.
    """
    if y.dtype != jnp.float32:
        return jnp.arctan2(y, x)
    ax, ay = jnp.abs(x), jnp.abs(y)
    hi, lo = jnp.maximum(ax, ay), jnp.minimum(ax, ay)
    a = lo / jnp.where(hi > 0.0, hi, 1.0)
    big = a > 0.41421356237309503  # tan(pi / 8): reduce to |t| <= tan(pi / 8)
    t = jnp.where(big, (a - 1.0) / (a + 1.0), a)
    t2 = t * t
    poly = ((8.05374449538e-2 * t2 - 1.38776856032e-1) * t2 + 1.99777106478e-1) * t2
    r = (poly - 3.33329491539e-1) * t2 * t + t
    r = jnp.where(big, r + math.pi / 4, r)
    r = jnp.where(ay > ax, math.pi / 2 - r, r)
    r = jnp.where(jnp.signbit(x), math.pi - r, r)
    return jnp.where(jnp.signbit(y), -r, r)


N_DRAWS = 7  # uniforms per tick: 3 for the player's action, 3 for the keeper, 1 for the catch


def _keep(it: jax.Array, *xs: jax.Array) -> tuple[jax.Array, ...]:
    """Materialise ``xs`` once, through a ``lax.cond`` on the scalar loop counter ``it``.

    XLA:CPU fuses elementwise producers (even ``cos`` or a Threefry block) into every consumer
    fusion, so a value feeding several fusions is re-computed in each: a tick had ~4200 fused
    instructions (each ``cos``/``sin`` computed 7 times) and has ~1800 with these fences.
    Operands of a conditional are never fused across it; ``it >= 0`` always holds.
    """
    return jax.lax.cond(it >= 0, lambda *a: a, lambda *a: tuple(jnp.zeros_like(x) for x in a), *xs)


def _tick_uniforms(
    k1: jax.Array, k2: jax.Array, n: jax.Array, dtype: Any, it: jax.Array
) -> tuple[jax.Array, ...]:
    """``N_DRAWS`` numbers ~ U(-1, 1) for tick ``n`` of a step whose noise key is ``(k1, k2)``.

    Counter-based (``counter_rng``): the Threefry-2x32 blocks of counters ``(n, j)``,
    j = 0..3, 23 bits per uniform, as ``jax.random.uniform`` makes them.
    """
    out = _keep(it, *(bits_to_uniform(x) for x in tick_words(k1, k2, n, N_DRAWS)))
    return tuple(v.astype(dtype) for v in out)


def _norm_angle(a: jax.Array) -> jax.Array:
    """``util.norm_angle``: shift by 2 pi until in [-pi, pi] (pi itself stays pi)."""
    pi = jnp.asarray(math.pi, a.dtype)
    two_pi = jnp.asarray(2.0 * math.pi, a.dtype)
    down = jnp.maximum(jnp.ceil((a - pi) / two_pi), 0.0)
    up = jnp.maximum(jnp.ceil((-pi - a) / two_pi), 0.0)
    return a - down * two_pi + up * two_pi


def _cos_sin(theta: jax.Array, it: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(cos(theta), sin(theta))``, each computed once (see ``_keep``)."""
    return _keep(it, jnp.cos(theta), jnp.sin(theta))


def _accelerate(
    vx: jax.Array,
    vy: jax.Array,
    rate: jax.Array,
    theta: jax.Array,
    rand: jax.Array,
    u: tuple[jax.Array, ...],
    accel_max: jax.Array,
    speed_max: jax.Array,
    speed: jax.Array,
    it: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """``Entity.accelerate`` with ``rate = power * power_rate``; ``u`` holds 3 U(-1, 1) draws.

    ``speed`` is ``|v|`` (callers already have it).
    """
    cos, sin = _cos_sin((1.0 + rand * u[0]) * theta, it)
    rmax = rand * speed
    ax = jnp.clip(rate * cos + rmax * u[1], -accel_max, accel_max)
    ay = jnp.clip(rate * sin + rmax * u[2], -accel_max, accel_max)
    return (
        jnp.clip(vx + ax, -speed_max, speed_max),
        jnp.clip(vy + ay, -speed_max, speed_max),
    )


def _decollide(
    ax: jax.Array, ay: jax.Array, bx: jax.Array, by: jax.Array, size: float
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """``Entity.colliding`` + ``decollide`` positions: push both apart along their axis.

    Returns the new positions and the collision flag (the caller negates velocities).
    """
    dx, dy = ax - bx, ay - by
    d = jnp.sqrt(dx * dx + dy * dy)
    hit = d < size
    # cos/sin(angle_between(b, a)) == (a - b) / d; angle_between(a, b) points the other way.
    safe = jnp.where(d > 0.0, d, 1.0)
    ov = (size - d) / 2.0 / safe
    sx = jnp.where(hit, ov * jnp.where(d > 0.0, dx, 1.0), 0.0)
    sy = jnp.where(hit, ov * jnp.where(d > 0.0, dy, 0.0), 0.0)
    return ax + sx, ay + sy, bx - sx, by - sy, hit


def _goal_distance(bx: jax.Array, by: jax.Array) -> jax.Array:
    """``Ball.goal_distance`` (Q4: ``7.01 - y`` below the mouth beyond the goal line)."""
    below, above = by < -HALF_GOAL, by > HALF_GOAL
    cy = jnp.where(below, -HALF_GOAL, HALF_GOAL)
    corner = jnp.sqrt((bx - HALF_LENGTH) ** 2 + (by - cy) ** 2)
    before = jnp.where(below | above, corner, HALF_LENGTH - bx)
    beyond = jnp.where(below, HALF_GOAL - by, jnp.where(above, by - HALF_GOAL, 0.0))
    return jnp.where(bx < HALF_LENGTH, before, beyond)


def _in_net(bx: jax.Array, by: jax.Array) -> jax.Array:
    return (bx >= HALF_LENGTH) & (bx <= NET_BACK) & (by >= -HALF_GOAL) & (by <= HALF_GOAL)


def _in_field(bx: jax.Array, by: jax.Array) -> jax.Array:
    half_w = PITCH_WIDTH / 2
    return (bx >= 0.0) & (bx <= HALF_LENGTH) & (by >= -half_w) & (by <= half_w)


def _tick(
    w: _World,
    tx: jax.Array,
    ty: jax.Array,
    u: tuple[jax.Array, ...],
    params: Any,
    it: jax.Array,
) -> tuple[_World, jax.Array]:
    """One ``GoalEnv._update`` tick of ``kick_to(ball, (tx, ty))``; returns (world, end).

    ``it`` is the (scalar) loop counter, used only to keep XLA from re-computing (``_keep``).
    """
    dt = w.px.dtype
    f = lambda v: jnp.asarray(v, dt)  # noqa: E731
    pr, kr, br = f(params.player_rand), f(params.keeper_rand), f(params.ball_rand)

    # --- player: kick_to(ball, target)
    dx, dy = w.bx - w.px, w.by - w.py
    d_pb = jnp.sqrt(dx * dx + dy * dy)
    kick = d_pb <= KICKABLE
    ang_pb = _atan2(dy, dx)
    rel = _norm_angle(ang_pb - w.po)  # angle_close uses |norm(po - ang)| == |rel|
    facing = jnp.abs(rel) < math.pi / 8
    p_speed = jnp.sqrt(w.pvx * w.pvx + w.pvy * w.pvy)
    turn = ~kick & ~facing
    dash = ~kick & facing
    po = jnp.where(turn, w.po + rel / (1.0 + INERTIA_MOMENT * p_speed), w.po)
    # kick: aim so that the ball would stop at the target
    kp = 1.0 - 0.25 * jnp.abs(rel) / math.pi - 0.25 * d_pb / KICKABLE
    acx = BALL_STOP * (tx - w.px) - w.bvx
    acy = BALL_STOP * (ty - w.py) - w.bvy
    power = jnp.sqrt(acx * acx + acy * acy) / (kp * BALL_POWER_RATE)
    theta = _atan2(acy, acx)
    kick_dir = w.po + (theta - w.po)  # kick_towards -> kick_ball(direction - orientation)
    kick_rate = jnp.clip(power, MINPOWER, MAXPOWER) * kp * BALL_POWER_RATE
    b_speed = jnp.sqrt(w.bvx * w.bvx + w.bvy * w.bvy)
    # one accelerate: the ball's (kick) or the player's (dash, power 10)
    nvx, nvy = _accelerate(
        jnp.where(kick, w.bvx, w.pvx),
        jnp.where(kick, w.bvy, w.pvy),
        jnp.where(kick, kick_rate, f(10.0 * PLAYER_POWER_RATE)),
        jnp.where(kick, kick_dir, w.po),
        jnp.where(kick, br, pr),
        u[0:3],
        jnp.where(kick, f(BALL_ACCEL_MAX), f(PLAYER_ACCEL_MAX)),
        jnp.where(kick, f(BALL_SPEED_MAX), f(PLAYER_SPEED_MAX)),
        jnp.where(kick, b_speed, p_speed),
        it,
    )
    bvx, bvy = jnp.where(kick, nvx, w.bvx), jnp.where(kick, nvy, w.bvy)
    pvx, pvy = jnp.where(dash, nvx, w.pvx), jnp.where(dash, nvy, w.pvy)
    po, bvx, bvy, pvx, pvy = _keep(it, po, bvx, bvy, pvx, pvy)

    # --- keeper: intercept the ball's path if it heads into the mouth, else chase its end
    ex, ey = w.bx + bvx / BALL_STOP, w.by + bvy / BALL_STOP
    ddx, ddy = ex - w.bx, ey - w.by
    grad = jnp.where(ddx != 0.0, ddy / jnp.where(ddx != 0.0, ddx, 1.0), 0.0)
    yint = w.by - grad * w.bx
    goal_y = grad * PITCH_LENGTH / 2 + yint
    intercept = (ex > HALF_LENGTH) & (goal_y >= -KEEPER_REACH) & (goal_y <= KEEPER_REACH)
    intercept = intercept & (grad != 0.0)
    sgrad = jnp.where(intercept, grad, 1.0)
    grad2 = -1.0 / sgrad
    yint2 = w.ky - grad2 * w.kx
    qx = (yint2 - yint) / (sgrad - grad2)
    qy = sgrad * qx + yint
    gx, gy = jnp.where(intercept, qx, ex), jnp.where(intercept, qy, ey)
    ko = _atan2(gy - w.ky, gx - w.kx)
    k_rate = jnp.where(intercept, f(20.0 * PLAYER_POWER_RATE), f(8.0 * PLAYER_POWER_RATE))
    k_speed = jnp.sqrt(w.kvx * w.kvx + w.kvy * w.kvy)
    kvx, kvy = _accelerate(
        w.kvx, w.kvy, k_rate, ko, kr, u[3:6],
        f(PLAYER_ACCEL_MAX), f(PLAYER_SPEED_MAX), k_speed, it,
    )  # fmt: skip
    kvx, kvy, ko = _keep(it, kvx, kvy, ko)

    # --- Entity.update: move, then decay
    px, py = w.px + pvx, w.py + pvy
    kx, ky = w.kx + kvx, w.ky + kvy
    bx, by = w.bx + bvx, w.by + bvy
    pvx, pvy = pvx * PLAYER_DECAY, pvy * PLAYER_DECAY
    kvx, kvy = kvx * PLAYER_DECAY, kvy * PLAYER_DECAY
    bvx, bvy = bvx * BALL_DECAY, bvy * BALL_DECAY

    # --- one pass of collisions: (player, keeper), (player, ball), (keeper, ball)
    px, py, kx, ky, hit = _decollide(px, py, kx, ky, PLAYER_SIZE + PLAYER_SIZE)
    pvx, pvy = jnp.where(hit, -pvx, pvx), jnp.where(hit, -pvy, pvy)
    kvx, kvy = jnp.where(hit, -kvx, kvx), jnp.where(hit, -kvy, kvy)
    px, py, bx, by, hit = _decollide(px, py, bx, by, PLAYER_SIZE + BALL_SIZE)
    pvx, pvy = jnp.where(hit, -pvx, pvx), jnp.where(hit, -pvy, pvy)
    bvx, bvy = jnp.where(hit, -bvx, bvx), jnp.where(hit, -bvy, bvy)
    kx, ky, bx, by, hit = _decollide(kx, ky, bx, by, PLAYER_SIZE + BALL_SIZE)
    kvx, kvy = jnp.where(hit, -kvx, kvx), jnp.where(hit, -kvy, kvy)
    bvx, bvy = jnp.where(hit, -bvx, bvx), jnp.where(hit, -bvy, bvy)

    # --- terminal check (Q12: the net before the catch)
    kbx, kby = kx - bx, ky - by
    catch = (kbx * kbx + kby * kby < CATCHABLE * CATCHABLE) & (
        (u[6] + 1.0) / 2.0 <= f(params.catch_probability)
    )
    end = _in_net(bx, by) | catch | ~_in_field(bx, by)
    return _World(px, py, pvx, pvy, po, kx, ky, kvx, kvy, ko, bx, by, bvx, bvy), end


class _Lanes(NamedTuple):
    """Per-lane loop state of the tick loop."""

    w: _World
    n: jax.Array  # int32: ticks done this step
    want: jax.Array  # bool: the step wants another tick (not ended, not settled)
    end: jax.Array  # bool: the episode ended on the last tick


class _Consts(NamedTuple):
    """Per-step constants of the tick loop (scalars, or one per lane when batched)."""

    shoot: jax.Array  # bool
    tx: jax.Array
    ty: jax.Array
    k1: jax.Array  # uint32: the step's noise key
    k2: jax.Array  # uint32
    player_rand: jax.Array
    keeper_rand: jax.Array
    ball_rand: jax.Array
    catch_probability: jax.Array
    max_substeps: jax.Array  # int32


MIN_TIER = 16  # smallest compacted batch
TIER_FACTOR = 4  # each compaction level keeps 1/TIER_FACTOR of the lanes


def _active(c: _Lanes, k: _Consts) -> jax.Array:
    return c.want & (c.n < k.max_substeps)


def _tick_lanes(c: _Lanes, k: _Consts, it: jax.Array) -> _Lanes:
    """One tick on every lane that is still running (elementwise over the lane axis)."""
    run = _active(c, k)
    u = _tick_uniforms(k.k1, k.k2, c.n, c.w.px.dtype, it)
    w, end = _tick(c.w, k.tx, k.ty, u, k, it)
    # GoalEnv.step's loop test: kick-to stops once the ball is kickable and slow (<= 0.1);
    # shoot-goal only stops when the episode ends (Q3).
    dx, dy = w.bx - w.px, w.by - w.py
    kickable = jnp.sqrt(dx * dx + dy * dy) <= KICKABLE
    moving = w.bvx * w.bvx + w.bvy * w.bvy > 0.1 * 0.1
    want = ~end & (k.shoot | ~kickable | moving)
    w = jax.tree.map(lambda new, old: jnp.where(run, new, old), w, c.w)
    return _Lanes(w, c.n + run.astype(jnp.int32), jnp.where(run, want, c.want), c.end | (run & end))


def _deactivate(c: _Lanes, keep: jax.Array) -> _Lanes:
    return c._replace(want=c.want & keep)


#: The tick loop of one step, compacting lanes under vmap (see ``envs/compaction.py``).
TICK_LOOP = CompactedLoop(
    _active, _tick_lanes, _deactivate, min_tier=MIN_TIER, tier_factor=TIER_FACTOR
)


def physics_step(
    key: jax.Array,
    state: GoalState,
    shoot: jax.Array,
    tx: jax.Array,
    ty: jax.Array,
    params: GoalParams,
) -> tuple[GoalState, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """``GoalEnv.step`` after the parameter clip, for the kick target ``(tx, ty)``.

    Returns ``(state, reward, terminated, goal, substeps, cap_hit, timeout)`` without the
    time increment done by the caller.
    """
    dt = state.ball_pos.dtype
    timeout = state.time + 1 >= params.max_time
    seed = jax.random.bits(key, (2,), jnp.uint32)
    k = _Consts(
        shoot=jnp.asarray(shoot, jnp.bool_),
        tx=jnp.asarray(tx, dt),
        ty=jnp.asarray(ty, dt),
        k1=seed[0],
        k2=seed[1],
        player_rand=jnp.asarray(params.player_rand, dt),
        keeper_rand=jnp.asarray(params.keeper_rand, dt),
        ball_rand=jnp.asarray(params.ball_rand, dt),
        catch_probability=jnp.asarray(params.catch_probability, dt),
        max_substeps=jnp.asarray(params.max_substeps, jnp.int32),
    )
    c = _Lanes(_to_world(state), jnp.asarray(0, jnp.int32), ~timeout, jnp.asarray(False))
    c = TICK_LOOP(c, k)
    w, end = c.w, c.end
    goal = end & _in_net(w.bx, w.by)
    reward = jnp.where(goal, 50.0, jnp.where(end | timeout, -_goal_distance(w.bx, w.by), 0.0))
    new = _from_world(w, state.time)
    return new, reward, end | timeout, goal, c.n, c.want, timeout


def observation(state: GoalState, params: GoalParams) -> jax.Array:
    """The 17-dim agent observation (float32), or the unscaled 17 numbers if ``raw_obs``."""
    dt = state.ball_pos.dtype
    s = state.as_vector()
    kb = state.ball_pos - state.keeper_pos
    unit = kb / jnp.sqrt(kb[0] * kb[0] + kb[1] * kb[1])
    kx, ky = state.keeper_pos[0], state.keeper_pos[1]
    bx, by = state.ball_pos[0], state.ball_pos[1]
    same_x = kx == bx
    grad = (ky - by) / jnp.where(same_x, 1.0, kx - bx)
    proj = jnp.clip(grad * PITCH_LENGTH / 2 + (by - grad * bx), -HALF_GOAL, GOAL_WIDTH)
    proj = jnp.where(same_x, jnp.where(ky < by, -HALF_GOAL, HALF_GOAL), proj)
    raw = jnp.concatenate([s, unit, proj[None].astype(dt)])
    low = jnp.asarray(_OBS_LOW, dt)
    scaled = 2.0 * (raw - low) / jnp.asarray(_OBS_RANGE, dt) - 1.0
    return jnp.where(params.raw_obs, raw, scaled).astype(jnp.float32)


def initial_state(y0: jax.Array, dtype: Any) -> GoalState:
    """``GoalEnv.reset`` given the player's initial y (spec §3.3), in ``dtype``.

    Q7 fix: the ball is placed at ``KICKABLE - margin`` with a dtype-dependent margin so that
    it is kickable at t = 0 for every y0.
    """
    dtype = jnp.dtype(dtype)
    f = lambda v: jnp.asarray(v, dtype)  # noqa: E731
    margin = RESET_MARGIN_F64 if dtype == jnp.float64 else RESET_MARGIN_F32
    y0 = f(y0)
    zero = f(0.0)
    orient = jnp.arctan2(zero - y0, f(HALF_LENGTH) - zero)
    r = f(KICKABLE - margin)
    bx = zero + r * jnp.cos(orient)
    by = y0 + r * jnp.sin(orient)
    # GoalEnv._keeper_target(ball): the ball is always at x < 14.5, so xval = ball.x -> 14.5
    grad = -by / (f(HALF_LENGTH) - bx)
    yint = by - grad * bx
    xval = jnp.where(
        bx < KEEPER_X0,
        bx,
        jnp.where(by < -KEEPER_Y0_MAX, -KEEPER_Y0_MAX - yint, KEEPER_Y0_MAX - yint) / grad,
    )
    kx = jnp.clip(xval, KEEPER_X0, HALF_LENGTH)
    ky = jnp.clip(grad * kx + yint, -KEEPER_Y0_MAX, KEEPER_Y0_MAX)
    korient = jnp.arctan2(by - ky, bx - kx)
    z2 = jnp.zeros((2,), dtype)
    return GoalState(
        player_pos=jnp.stack([zero, y0]),
        player_vel=z2,
        player_orient=orient,
        keeper_pos=jnp.stack([kx, ky]),
        keeper_vel=z2,
        keeper_orient=korient,
        ball_pos=jnp.stack([bx, by]),
        ball_vel=z2,
        time=jnp.asarray(0, jnp.int32),
    )


def _wrapper_map(z: jax.Array, idx: int, dtype: Any) -> jax.Array:
    """``ScaledParameterisedActionWrapper``: ``range * (z + 1) / 2 + low`` in ``dtype``."""
    rng = jnp.asarray(_PARAM_RANGE[idx], dtype)
    low = jnp.asarray(_PARAM_LOW[idx], dtype)
    return rng * (z.astype(dtype) + 1.0) / 2.0 + low


# -------------------------------------------------------------------------- the envs
class Goal(PAMDPEnvironment[GoalState, GoalParams]):
    """Goal-v0: score past a keeper with kick-to(x, y) and two identical shoot-goal(y)."""

    obs_dim = 17

    def raw_param_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """kick-to (x, y) on the pitch, each shoot's y across the goal mouth (gym-goal's
        Boxes)."""
        idx = [0, 1, 2, 2]
        return _PARAM_LOW[idx].copy(), _PARAM_HIGH[idx].copy()

    def __init__(self, dtype: Any = jnp.float32) -> None:
        super().__init__()
        self.dtype = jnp.dtype(dtype)
        self._space = ParameterizedActionSpace(3, (2, 1, 1))

    @property
    def name(self) -> str:
        return "Goal-v0"

    @property
    def default_params(self) -> GoalParams:
        return GoalParams()

    # ------------------------------------------------------------ action mapping
    def env_parameters(
        self, k: jax.Array, z: jax.Array, params: GoalParams
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Agent ``(k, z_pad)`` -> ``(shoot, x, y)``: env action and clipped raw parameters.

        For kick-to, ``x`` and ``y`` are the two parameters; for shoot-goal ``y`` is the
        target on the goal line (``x`` unused). The wrapper's map runs in float32.
        """
        f32 = jnp.float32
        z = z.astype(f32)
        shoot = k > 0
        x = _wrapper_map(z[0], 0, f32)
        y = jnp.where(shoot, _wrapper_map(z[0], 2, f32), _wrapper_map(z[1], 1, f32))
        x = jnp.where(params.raw_params, z[0], x).astype(self.dtype)
        y = jnp.where(params.raw_params, jnp.where(shoot, z[0], z[1]), y).astype(self.dtype)
        return shoot, x, y

    # ------------------------------------------------------------------ gymnax API
    def reset_env(self, key: jax.Array, params: GoalParams) -> tuple[jax.Array, GoalState]:
        y0 = jax.random.uniform(key, (), self.dtype, -PITCH_WIDTH / 2, PITCH_WIDTH / 2)
        state = initial_state(y0, self.dtype)
        return observation(state, params), state

    def get_obs(
        self, state: GoalState, params: GoalParams | None = None, key: Any = None
    ) -> jax.Array:
        return observation(state, self.default_params if params is None else params)

    def is_truncated(self, state: GoalState, params: GoalParams) -> jax.Array:
        """Protocol cap only: the env's own timeout call is ``terminated``, never both."""
        return (state.time >= params.max_steps_in_episode) & (state.time < params.max_time)

    def transition(
        self,
        key: jax.Array,
        state: GoalState,
        k: jax.Array,
        z: jax.Array,
        params: GoalParams,
    ) -> tuple[jax.Array, GoalState, jax.Array, jax.Array, dict[str, Any]]:
        shoot, x, y = self.env_parameters(k, z, params)
        dt = self.dtype
        # the env's clip (GoalEnv.step), then kick_to's target: (x, x) (Q1) or (20.4, y)
        # (the kick-to y is clipped too, then ignored: Q1)
        x = jnp.clip(x, 0.0, PITCH_LENGTH)
        tx = jnp.where(shoot, jnp.asarray(SHOOT_X, dt), x)
        ty = jnp.where(shoot, jnp.clip(y, -HALF_GOAL, HALF_GOAL), x)
        new, reward, terminated, goal, n, cap_hit, timeout = physics_step(
            key, state, shoot, tx.astype(dt), ty.astype(dt), params
        )
        new = new.replace(time=state.time + 1)
        info = {
            "success": goal,
            "substeps": n,
            "inner_cap_hit": cap_hit,
            "timeout": timeout,
        }
        return observation(new, params), new, reward.astype(jnp.float32), terminated, info

    # ------------------------------------------------------------------------ hooks
    def noise_free(self, params: GoalParams) -> GoalParams:
        return params.replace(player_rand=0.0, keeper_rand=0.0, ball_rand=0.0)

    def state_from_golden(self, init: dict[str, Any], params: GoalParams) -> GoalState:
        """The reset state for the recorded ``player_y0`` (the rest follows from it, §3.3)."""
        y0 = np.asarray(init["player_y0"], np.float64).astype(self.dtype)
        return jax.jit(initial_state, static_argnums=1)(jnp.asarray(y0), self.dtype)

    def golden_state_vector(self, state: GoalState) -> jax.Array:
        return state.as_vector()

    def draw(self, ax: Any, state: GoalState, params: GoalParams) -> None:
        from matplotlib.patches import Circle, Rectangle

        g = lambda a: np.asarray(a, np.float64)  # noqa: E731
        ax.add_patch(Rectangle((0.0, -15.0), HALF_LENGTH, PITCH_WIDTH, color="tab:green"))
        ax.add_patch(
            Rectangle((KEEPER_X0, -KEEPER_Y0_MAX), GOAL_AREA_LENGTH, GOAL_AREA_WIDTH,
                      fill=False, edgecolor="white")
        )  # fmt: skip
        ax.add_patch(
            Rectangle((HALF_LENGTH, -HALF_GOAL), GOAL_DEPTH, GOAL_WIDTH, color="lightgrey")
        )
        for pos, orient, colour, reach in (
            (g(state.player_pos), float(state.player_orient), "tab:blue", KICKABLE),
            (g(state.keeper_pos), float(state.keeper_orient), "tab:red", CATCHABLE),
        ):
            ax.add_patch(Circle(tuple(pos), PLAYER_SIZE, color=colour))
            ax.add_patch(Circle(tuple(pos), reach, fill=False, edgecolor=colour, ls="--"))
            end = pos + PLAYER_SIZE * np.array([math.cos(orient), math.sin(orient)])
            ax.plot([pos[0], end[0]], [pos[1], end[1]], color="black", lw=1.0)
        ax.add_patch(Circle(tuple(g(state.ball_pos)), BALL_SIZE, color="white", ec="black"))
        ax.set_xlim(-1.0, NET_BACK + 1.0)
        ax.set_ylim(-PITCH_WIDTH / 2 - 1.0, PITCH_WIDTH / 2 + 1.0)
        ax.set_aspect("equal")
        ax.set_title(f"{self.name}  t={int(state.time)}")


class HardGoal(Goal):
    """HardGoal-v0 (HyAR): kick-to plus ten shoot actions, each limited to a band of the goal."""

    def raw_param_bounds(self) -> None:
        """None: the shoot actions go through HyAR's bands before the affine map."""
        return None

    def __init__(self, dtype: Any = jnp.float32) -> None:
        super().__init__(dtype=dtype)
        self._space = ParameterizedActionSpace(11, (2,) + (1,) * 10)

    @property
    def name(self) -> str:
        return "HardGoal-v0"

    @property
    def default_params(self) -> HardGoalParams:
        return HardGoalParams()

    def env_parameters(
        self, k: jax.Array, z: jax.Array, params: GoalParams
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """HyAR's ``pad_action_``: band map then the wrapper map, in the physics dtype."""
        dt = self.dtype
        z = z.astype(dt)
        shoot = k > 0
        band = jnp.asarray(C_RATE, dt)[(k - 1) % 5]
        middle = jnp.asarray(C_RATE_INTENDED_MIDDLE, dt)
        intended = getattr(params, "intended_middle_band", False)
        band = jnp.where(intended & ((k - 1) % 5 == 2), middle, band)
        c0, c1 = band[0], band[1]
        p = z[0] * (c0 - c1) / 2.0 + (c0 + c1) / 2.0
        x = _wrapper_map(z[0], 0, dt)
        y = jnp.where(shoot, _wrapper_map(p, 2, dt), _wrapper_map(z[1], 1, dt))
        x = jnp.where(params.raw_params, z[0], x)
        y = jnp.where(params.raw_params, jnp.where(shoot, z[0], z[1]), y)
        return shoot, x, y
