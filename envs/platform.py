"""Platform (Masson et al. 2016) in pure JAX, agent side as DLPA / MP-DQN / HyAR see it.

Follows ``cycraig/gym-platform@e9329879dbb62badbbef89648162c97ba1e4d837``
(``gym_platform/envs/platform_env.py``) behind the MP-DQN wrapper stack of
``cycraig/MP-DQN@eec13eb9b4e2c0099649e0639f2a8b93d7d0d5be`` (``ScaledStateWrapper``,
``PlatformFlattenedActionWrapper``, ``ScaledParameterisedActionWrapper``) and gym's
``TimeLimit(200)``. Spec: ``shared/specs/envs.md`` §2.

Interface
  * action ``(k, z)``: ``k`` in {0 run, 1 hop, 2 leap}, ``z`` float32[3] (one parameter per
    action, agent side in [-1, 1]). The chosen parameter is mapped as the wrapper does, in
    float32, ``MAX_k * (z + 1) / 2 + 0`` with ``MAX = (30, 720, 430)``, then clipped to
    ``[0, MAX_k]`` as the env does. ``params.raw_params`` skips the affine map (z in raw units).
  * observation float32[9]: ``2 * s01 - 1`` where ``s01`` is the env's own [0, 1] scaling of
    ``[x, vx, enemy_x, enemy_dx, wd1, wd2, gap, pos, diff]`` (no clipping).
    ``params.raw_obs`` gives the unscaled physical 9-vector instead.
  * reward ``(x_end - x_start) / 1035`` (``(1035 - x_start) / 1035`` on reaching the goal);
    the return of an episode is ``x_final / 1035``.
  * ``terminated``: fell into a gap, touched an enemy, or reached x >= 1035.
    ``truncated``: ``params.max_steps_in_episode`` (200, gym's TimeLimit) agent steps.
  * ``info``: ``success`` (x reached 1035), ``substeps`` (inner physics ticks of this step) and
    ``inner_cap_hit`` (the step was cut by ``params.max_substeps``; never happens with the
    default cap of 200: a hop lasts at most 144 ticks).

Quirks kept (spec §2.7)
  * P1 only the enemy of the player's current platform (``x > 475`` before the tick's move)
    moves, and the observation reports that enemy;
  * P2 the first enemy update after reset flips its direction (it starts on its right bound);
  * P3 ``on_platform`` is an exact ``y == 40`` test: y is only ever *assigned* on the ground
    (never integrated: a zero vertical velocity leaves y untouched by construction);
  * P4 vx is zeroed on every platform contact, and clipped to 70 on the take-off tick;
  * P5 the jump's ``dx0`` is clipped to ``[-600, 200 - dy0]`` and then the acceleration to
    ``±MAX_DDX`` (so the effective change of vx is within ±30);
  * P6 the episode ends on the first tick with ``y < 40`` outside a platform's box.

Random numbers: numpy's stream cannot be matched; the distributions are (checked against
``shared/golden/stats.json``). The jump noise ``-|N(0, 1)|`` x2 is drawn once per step with
``jax.random.normal`` before the loop (a jump can only happen on a step's first tick: a hop/leap
step ends as soon as the player stands on a platform again). The two per-tick normals (player
vx noise ``|N(0, 0.025)|``, enemy dx noise ``N(0, 0.025)``) are jax.random's counter-based
draws: tick ``i`` uses ``threefry_2x32(seed, (i, 0))`` with ``seed = jax.random.bits(step_key)``,
mapped to N(0, 1) exactly as ``jax.random.normal`` maps bits. The hash is written out
(``envs/counter_rng.py``, shared with Goal, bit-identical to ``jax.random``'s, tested) because
jax lowers its primitive on CPU as a rolled inner loop that costs several times more per tick.

Speed: one step is a tick loop (run: exactly 20 ticks; hop/leap: until landing; any terminal
tick stops it). Everything that is constant over a step (the mapped parameter, the ground
acceleration of run/jump, the jump noise) is computed once before the loop. XLA's CPU backend
fuses per loop output, so any value read by several carry elements is recomputed by each; the
carry is therefore shaped to keep shared work small (see ``_body``). Under vmap the loop
compacts lanes (``envs/compaction.py``, as Goal): a plain vmapped while loop runs every lane as
long as the longest hop of the batch (~140 ticks for a mean of ~73). Measured at batch 4096 on
2 shared CPU cores, random policy: 3.5e5-3.8e5 steps/s with compaction against 2.0e5-3.1e5
without (batch 256: 2.2e5-2.3e5 against 1.8e5-2.2e5); results are bit-identical. The
original: 126 steps/s.

Float32 note: the original is float64. The port is float32 throughout; positions agree with
the noise-free golden trajectories to about 1e-3 units (see ``tests/envs/test_platform.py``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.compaction import CompactedLoop
from pamdp_bench.envs.counter_rng import bits_to_normal, tick_words
from pamdp_bench.envs.spaces import ParameterizedActionSpace

# --------------------------------------------------------------------------- constants
PLATFORM_HEIGHT = 40.0
WIDTH1, WIDTH2, WIDTH3 = 250.0, 275.0, 50.0
GAP1, GAP2 = 225.0, 235.0
P1_X = 0.0
P2_X = P1_X + WIDTH1 + GAP1  # 475
P3_X = P2_X + WIDTH2 + GAP2  # 985
TOTAL_WIDTH = P3_X + WIDTH3  # 1035 (= right bound)
MAX_PLATFORM_WIDTH = 275.0
MAX_GAP = 235.0
MAX_HEIGHT = 1.0

ENEMY_SPEED = 30.0
SIZE_X, SIZE_Y = 20.0, 30.0  # player and enemy size

DT = 0.05
MAX_DX = 100.0
MAX_DY = 200.0
MAX_DX_ON = 70.0
MAX_DDX = (MAX_DX - MAX_DX_ON) / DT  # 600
MAX_DDY = MAX_DY / DT  # 4000
VELOCITY_DECAY = 0.99
GRAVITY = 9.8
HOP_DY0 = 35.0
LEAP_DY0 = 25.0
HOP_TIME = 2.0 * HOP_DY0 / GRAVITY + 1.0
LEAP_TIME = 2.0 * LEAP_DY0 / GRAVITY + 1.0

PARAMETERS_MAX = (30.0, 720.0, 430.0)  # run, hop, leap; minimum 0 for all
RUN, HOP, LEAP = 0, 1, 2
RUN_SUBSTEPS = 20  # difft = 1.0 - 0.05 per tick while > 0: exactly 20 ticks in float64

SHIFT = (SIZE_X, 0.0, 0.0, ENEMY_SPEED, 0.0, 0.0, 0.0, 0.0, 0.0)
SCALE = (
    TOTAL_WIDTH + SIZE_X,
    MAX_DX,
    TOTAL_WIDTH,
    2 * ENEMY_SPEED,
    MAX_PLATFORM_WIDTH,
    MAX_PLATFORM_WIDTH,
    MAX_GAP,
    TOTAL_WIDTH,
    MAX_HEIGHT,
)

_F32 = jnp.float32
_FALL_DVY = -GRAVITY * DT  # fall(): accelerate((0, -9.8))

@struct.dataclass
class PlatformState:
    """Raw world state (float32 physical units). Enemy y is always 40 and not stored."""

    x: jax.Array
    y: jax.Array
    vx: jax.Array
    vy: jax.Array
    enemy1_x: jax.Array
    enemy1_dx: jax.Array
    enemy2_x: jax.Array
    enemy2_dx: jax.Array
    time: jax.Array  # agent steps taken in this episode (int32)

    @classmethod
    def from_vector(cls, v: Any, time: Any = 0) -> PlatformState:
        """The inverse of ``as_vector`` (float32; ``time`` agent steps into the episode)."""
        v = jnp.asarray(v, _F32)
        return cls(x=v[0], y=v[1], vx=v[2], vy=v[3], enemy1_x=v[4], enemy1_dx=v[5],
                   enemy2_x=v[6], enemy2_dx=v[7], time=jnp.asarray(time, jnp.int32))

    def as_vector(self) -> jax.Array:
        """``[x, y, vx, vy, e1_x, e1_dx, e2_x, e2_dx]``, the golden files' ``state`` layout."""
        return jnp.stack(
            [
                self.x,
                self.y,
                self.vx,
                self.vy,
                self.enemy1_x,
                self.enemy1_dx,
                self.enemy2_x,
                self.enemy2_dx,
            ]
        )


@struct.dataclass
class PlatformParams:
    """Every tunable constant of Platform; defaults are the original's."""

    max_steps_in_episode: int = 200  # gym TimeLimit (truncation)
    player_noise_std: float = 0.5 * DT  # |N(0, .)| subtracted from vx on every accelerate
    enemy_noise_std: float = 0.5 * DT  # N(0, .) added to the moving enemy's dx every tick
    hop_noise_std: float = 1.0  # HOP_DEV: jump noise -|N(0, .)| on (dx0, dy0)
    leap_noise_std: float = 1.0  # LEAP_DEV
    max_substeps: int = 200  # inner-loop cap (the original has none; hops last <= 144 ticks)
    raw_obs: bool = False  # True: the unscaled physical 9-vector instead of the agent obs
    raw_params: bool = False  # True: z is in raw units ([0, 30] / [0, 720] / [0, 430])


# ----------------------------------------------------------------------- pure helpers
def map_parameter(
    k: jax.Array, p: jax.Array, params: PlatformParams
) -> tuple[jax.Array, jax.Array]:
    """Agent parameter -> ``(param_wrapped, param_env)`` for action ``k``.

    ``param_wrapped`` is ``ScaledParameterisedActionWrapper``'s float32 affine map (before the
    env's clip), ``param_env`` the value after the env's clip to ``[0, MAX_k]``.
    """
    high = jnp.asarray(PARAMETERS_MAX, _F32)[k]
    p = jnp.asarray(p, _F32)
    wrapped = jnp.where(params.raw_params, p, high * (p + 1.0) / 2.0 + 0.0)
    return wrapped, jnp.clip(wrapped, 0.0, high)


def _on_platforms(x: jax.Array, y: jax.Array) -> jax.Array:
    """``any(on_platform(P))``: ``-20 <= x - P.x <= P.w`` and the exact test ``y == 40``."""
    over = (
        ((x - P1_X >= -SIZE_X) & (x - P1_X <= WIDTH1))
        | ((x - P2_X >= -SIZE_X) & (x - P2_X <= WIDTH2))
        | ((x - P3_X >= -SIZE_X) & (x - P3_X <= WIDTH3))
    )
    return over & (y == PLATFORM_HEIGHT)


def _touches_enemy(x: jax.Array, y: jax.Array, ex: jax.Array) -> jax.Array:
    """``player.colliding(enemy)`` for an enemy at ``(ex, 40)`` (strict inequalities)."""
    return (
        (ex - SIZE_X < x)
        & (PLATFORM_HEIGHT - SIZE_Y < y)
        & (x < ex + SIZE_X)
        & (y < PLATFORM_HEIGHT + SIZE_Y)
    )


def _ends(x: jax.Array, y: jax.Array, e1x: jax.Array, e2x: jax.Array) -> jax.Array:
    """``_terminal_check``: fell (y below the platform tops), touched an enemy, or x >= 1035."""
    return (
        (y < PLATFORM_HEIGHT)
        | _touches_enemy(x, y, e1x)
        | _touches_enemy(x, y, e2x)
        | (x >= TOTAL_WIDTH)
    )


def raw_features(s: PlatformState) -> jax.Array:
    """The env's unscaled 9-vector ``[x, vx, enemy_x, enemy_dx, wd1, wd2, gap, pos, diff]``."""
    use2 = s.x > P2_X
    ex = jnp.where(use2, s.enemy2_x, s.enemy1_x)
    edx = jnp.where(use2, s.enemy2_dx, s.enemy1_dx)
    first = s.x < P2_X
    second = s.x < P3_X
    wd1 = jnp.where(first, WIDTH1, jnp.where(second, WIDTH2, WIDTH3))
    wd2 = jnp.where(first, WIDTH2, jnp.where(second, WIDTH3, 0.0))
    gap = jnp.where(first, GAP1, jnp.where(second, GAP2, 0.0))
    pos = jnp.where(first, P1_X, jnp.where(second, P2_X, P3_X))
    diff = jnp.zeros_like(s.x)
    return jnp.stack([s.x, s.vx, ex, edx, wd1, wd2, gap, pos, diff]).astype(_F32)


def observation(s: PlatformState, params: PlatformParams) -> jax.Array:
    """Agent obs ``2 * (raw + SHIFT) / SCALE - 1`` (float32, unclipped), or the raw vector."""
    raw = raw_features(s)
    s01 = (raw + jnp.asarray(SHIFT, _F32)) / jnp.asarray(SCALE, _F32)
    # ScaledStateWrapper: 2 * (s - low) / (high - low) - 1 with float32 bounds low=0, high=1.
    scaled = 2.0 * (s01 - 0.0) / (1.0 - 0.0) - 1.0
    return jnp.where(params.raw_obs, raw, scaled)


def initial_state() -> PlatformState:
    """The deterministic reset (spec §2.3)."""
    f = lambda v: jnp.asarray(v, _F32)  # noqa: E731
    return PlatformState(
        x=f(0.0),
        y=f(PLATFORM_HEIGHT),
        vx=f(0.0),
        vy=f(0.0),
        enemy1_x=f(P1_X + WIDTH1 - SIZE_X),
        enemy1_dx=f(-ENEMY_SPEED),
        enemy2_x=f(P2_X + WIDTH2 - SIZE_X),
        enemy2_dx=f(-ENEMY_SPEED),
        time=jnp.asarray(0, jnp.int32),
    )


class _Carry(NamedTuple):
    """The tick loop's carry (per lane: 9 state scalars, 2 flags, 2 normals, 2 bit words)."""

    i: jax.Array  # ticks done in this step
    x: jax.Array
    y: jax.Array
    vx: jax.Array
    vy: jax.Array
    e1x: jax.Array
    e1dx: jax.Array
    e2x: jax.Array
    e2dx: jax.Array
    on: jax.Array  # the player stands on a platform
    more: jax.Array  # the original's loop runs another tick
    n_player: jax.Array  # this tick's N(0, 1) for the player's vx noise
    n_enemy: jax.Array  # this tick's N(0, 1) for the enemy's dx noise
    b0: jax.Array  # the next tick's raw bits
    b1: jax.Array


class _Consts(NamedTuple):
    """Per-step constants of the tick loop (scalars, or one per lane when batched)."""

    is_run: jax.Array  # bool
    ground_dvx: jax.Array  # the step's velocity change on a tick that starts on a platform
    ground_dvy: jax.Array
    k0: jax.Array  # uint32: the step's tick-noise key
    k1: jax.Array
    sp: jax.Array  # player vx noise std
    se: jax.Array  # enemy dx noise std
    cap: jax.Array  # int32: max_substeps


def _tick_bits(k: _Consts, i: jax.Array) -> list[jax.Array]:
    return tick_words(k.k0, k.k1, i, 2)


def _body(c: _Carry, k: _Consts) -> _Carry:
    """One tick of the original's step loop (``_update`` plus the loop test).

    XLA's CPU backend fuses per loop output: a value that several carry elements read is
    recomputed by each of them. So this tick's normals and the next tick's bits are carried
    (drawn inside the tick, the hash and erf_inv would be recomputed ~10 times per tick), and
    so is the continue flag (vmap's per-lane select then reads one bool).
    """
    x, y, vx, vy, on = c.x, c.y, c.vx, c.vy, c.on
    # 1. _perform_action -> accelerate(): vel += a*dt; vx -= |noise|; clip; vx >= 0
    vx = vx + jnp.where(on, k.ground_dvx, 0.0)
    vy = vy + jnp.where(on, k.ground_dvy, _FALL_DVY)
    vx = vx - jnp.abs(c.n_player) * k.sp
    vx = jnp.maximum(jnp.clip(vx, -MAX_DX, MAX_DX), 0.0)
    vy = jnp.clip(vy, -MAX_DY, MAX_DY)
    # 2. ground_bound (vx >= 0 already)
    vx = jnp.where(on, jnp.minimum(vx, MAX_DX_ON), vx)
    # 3. the enemy of the current platform, chosen before the player moves (P1)
    use2 = x > P2_X
    # 4. player.update; y is never integrated with vy == 0 (P3)
    x = jnp.clip(x + vx * DT, 0.0, TOTAL_WIDTH)
    y = jnp.where(vy == 0.0, y, y + vy * DT)
    vx = vx * VELOCITY_DECAY
    # 5. enemy.update
    ex = jnp.where(use2, c.e2x, c.e1x)
    edx = jnp.where(use2, c.e2dx, c.e1dx)
    left = jnp.where(use2, P2_X, P1_X)
    right = jnp.where(use2, P2_X + WIDTH2 - SIZE_X, P1_X + WIDTH1 - SIZE_X)
    edx = jnp.where((left < ex) & (ex < right), edx, -edx)
    edx = jnp.clip(edx + c.n_enemy * k.se, -ENEMY_SPEED, ENEMY_SPEED)
    ex = jnp.clip(ex + edx * DT, left, right)
    e1x = jnp.where(use2, c.e1x, ex)
    e1dx = jnp.where(use2, c.e1dx, edx)
    e2x = jnp.where(use2, ex, c.e2x)
    e2dx = jnp.where(use2, edx, c.e2dx)
    # 6. platform collisions: the boxes are >= 225 apart, so at most one can overlap
    px = jnp.where(x > P3_X - SIZE_X, P3_X, jnp.where(x > P2_X - SIZE_X, P2_X, P1_X))
    pw = jnp.where(x > P3_X - SIZE_X, WIDTH3, jnp.where(x > P2_X - SIZE_X, WIDTH2, WIDTH1))
    col = (px - SIZE_X < x) & (-SIZE_Y < y) & (x < px + pw) & (y < PLATFORM_HEIGHT)
    # decollide (then vx = 0 in every case)
    nx = jnp.where(x < px, px - SIZE_X, jnp.where(x > px + pw - SIZE_X, px + pw, x))
    ny = jnp.where(y < 0.0, -SIZE_Y, jnp.where(y > PLATFORM_HEIGHT - SIZE_Y, PLATFORM_HEIGHT, y))
    horiz = (nx != x) & ((ny == y) | (jnp.abs(x - nx) < jnp.abs(y - ny)))
    x = jnp.where(col & horiz, nx, x)
    y = jnp.where(col & ~horiz, ny, y)
    vy = jnp.where(col & ~horiz, 0.0, vy)
    vx = jnp.where(col, 0.0, vx)
    # 7. _terminal_check, and whether the original's loop runs another tick
    i = c.i + 1
    on = _on_platforms(x, y)
    more = jnp.where(k.is_run, i < RUN_SUBSTEPS, ~on) & ~_ends(x, y, e1x, e2x) & (i < k.cap)
    b0, b1 = _tick_bits(k, i + 1)
    return _Carry(
        i, x, y, vx, vy, e1x, e1dx, e2x, e2dx, on, more,
        bits_to_normal(c.b0), bits_to_normal(c.b1), b0, b1,
    )  # fmt: skip


def _tick_lanes(c: _Carry, k: _Consts, it: jax.Array) -> _Carry:
    """``_body`` on the lanes that still run (compaction's tick)."""
    new = _body(c, k)
    return jax.tree.map(lambda a, b: jnp.where(c.more, a, b), new, c)


#: The tick loop of one step, compacting lanes under vmap (see ``envs/compaction.py``).
TICK_LOOP = CompactedLoop(
    lambda c, k: c.more, _tick_lanes, lambda c, keep: c._replace(more=c.more & keep)
)


def physics_step(
    key: jax.Array,
    s: PlatformState,
    k: jax.Array,
    param: jax.Array,
    params: PlatformParams,
) -> tuple[PlatformState, jax.Array]:
    """One ``env.step`` of the original (without the TimeLimit): ``(state, substeps)``.

    ``param`` is the env-side (already clipped) parameter of action ``k``. ``state.time`` is
    not touched.
    """
    k = jnp.asarray(k, jnp.int32)
    param = jnp.asarray(param, _F32)
    is_run = k == RUN
    is_hop = k == HOP
    key_jump, key_tick = jax.random.split(key)
    seed = jax.random.bits(key_tick, (2,), jnp.uint32)  # key of this step's tick noise

    # Ground acceleration of this step (only used on ticks that start on a platform).
    # run: accelerate((power/dt, 0)). hop/leap: jump_to, whose dx0 uses the step-start vx:
    # a jump can only happen on the first tick (the loop stops when back on a platform).
    dy0 = jnp.where(is_hop, HOP_DY0, LEAP_DY0).astype(_F32)
    t_air = jnp.where(is_hop, HOP_TIME, LEAP_TIME).astype(_F32)
    dev = jnp.where(is_hop, params.hop_noise_std, params.leap_noise_std).astype(_F32)
    jump_noise = -jnp.abs(jax.random.normal(key_jump, (2,), _F32)) * dev
    dx0 = jnp.clip(param / t_air - s.vx, -MAX_DDX, MAX_DY - dy0)
    ax = jnp.where(is_run, param / DT, (dx0 + jump_noise[0]) / DT)
    ay = jnp.where(is_run, 0.0, (dy0 + jump_noise[1]) / DT)
    consts = _Consts(
        is_run=is_run,
        ground_dvx=jnp.clip(ax, -MAX_DDX, MAX_DDX) * DT,
        ground_dvy=jnp.clip(ay, -MAX_DDY, MAX_DDY) * DT,
        k0=seed[0],
        k1=seed[1],
        sp=jnp.asarray(params.player_noise_std, _F32),
        se=jnp.asarray(params.enemy_noise_std, _F32),
        cap=jnp.asarray(params.max_substeps, jnp.int32),
    )
    zero = jnp.asarray(0, jnp.int32)
    bits0, bits1 = _tick_bits(consts, zero), _tick_bits(consts, zero + 1)
    init = _Carry(
        zero, s.x, s.y, s.vx, s.vy, s.enemy1_x, s.enemy1_dx, s.enemy2_x, s.enemy2_dx,
        _on_platforms(s.x, s.y),
        consts.cap > 0,  # the first tick always runs (the original's loop is a do-while)
        bits_to_normal(bits0[0]), bits_to_normal(bits0[1]), bits1[0], bits1[1],
    )  # fmt: skip
    c = TICK_LOOP(init, consts)
    out = PlatformState(
        x=c.x, y=c.y, vx=c.vx, vy=c.vy,
        enemy1_x=c.e1x, enemy1_dx=c.e1dx, enemy2_x=c.e2x, enemy2_dx=c.e2dx,
        time=s.time,
    )  # fmt: skip
    return out, c.i


# ------------------------------------------------------------------------------- env
class Platform(PAMDPEnvironment[PlatformState, PlatformParams]):
    """Platform-v0: run / hop / leap along three platforms past two patrolling enemies."""

    obs_dim = 9

    def raw_param_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """run, hop, leap in ``[0, PARAMETERS_MAX]`` (gym-platform's Boxes)."""
        return np.zeros(3, np.float32), np.asarray(PARAMETERS_MAX, np.float32)

    def __init__(self) -> None:
        super().__init__()
        self._space = ParameterizedActionSpace(3, (1, 1, 1))

    @property
    def name(self) -> str:
        return "Platform-v0"

    @property
    def default_params(self) -> PlatformParams:
        return PlatformParams()

    # ------------------------------------------------------------------ gymnax API
    def reset_env(self, key: jax.Array, params: PlatformParams) -> tuple[jax.Array, PlatformState]:
        del key  # the reset is deterministic
        state = initial_state()
        return observation(state, params), state

    def get_obs(
        self, state: PlatformState, params: PlatformParams | None = None, key: Any = None
    ) -> jax.Array:
        return observation(state, self.default_params if params is None else params)

    def is_terminated(self, state: PlatformState, params: PlatformParams) -> jax.Array:
        return _ends(state.x, state.y, state.enemy1_x, state.enemy2_x)

    def transition(
        self,
        key: jax.Array,
        state: PlatformState,
        k: jax.Array,
        z: jax.Array,
        params: PlatformParams,
    ) -> tuple[jax.Array, PlatformState, jax.Array, jax.Array, dict[str, Any]]:
        _, param = map_parameter(k, z[0], params)
        x_start = state.x
        new, substeps = physics_step(key, state, k, param, params)
        terminated = _ends(new.x, new.y, new.enemy1_x, new.enemy2_x)
        right = new.x >= TOTAL_WIDTH
        # The last tick's reward measures from the step-start x (the whole step's progress);
        # on reaching the right bound the original recomputes it from the bound itself.
        reward = jnp.where(right, TOTAL_WIDTH - x_start, new.x - x_start) / TOTAL_WIDTH
        on = _on_platforms(new.x, new.y)
        inner_cap_hit = (
            (substeps >= params.max_substeps)
            & ~terminated
            & jnp.where(k == RUN, substeps < RUN_SUBSTEPS, ~on)
        )
        new = new.replace(time=state.time + 1)
        info = {
            "success": right,
            "substeps": substeps,
            "inner_cap_hit": inner_cap_hit,
        }
        return observation(new, params), new, reward.astype(_F32), terminated, info

    # ------------------------------------------------------------------------ hooks
    def noise_free(self, params: PlatformParams) -> PlatformParams:
        return params.replace(
            player_noise_std=0.0, enemy_noise_std=0.0, hop_noise_std=0.0, leap_noise_std=0.0
        )

    def state_from_golden(self, init: dict[str, Any], params: PlatformParams) -> PlatformState:
        f = lambda v: jnp.asarray(v, _F32)  # noqa: E731
        return PlatformState(
            x=f(init["player_pos"][0]),
            y=f(init["player_pos"][1]),
            vx=f(init["player_vel"][0]),
            vy=f(init["player_vel"][1]),
            enemy1_x=f(init["enemy1_pos"][0]),
            enemy1_dx=f(init["enemy1_dx"]),
            enemy2_x=f(init["enemy2_pos"][0]),
            enemy2_dx=f(init["enemy2_dx"]),
            time=jnp.asarray(0, jnp.int32),
        )

    def golden_state_vector(self, state: PlatformState) -> jax.Array:
        """The raw state in the golden files' ``state`` column layout (conformance)."""
        return state.as_vector()

    def draw(self, ax: Any, state: PlatformState, params: PlatformParams) -> None:
        from matplotlib.patches import Rectangle

        for px, w in ((P1_X, WIDTH1), (P2_X, WIDTH2), (P3_X, WIDTH3)):
            ax.add_patch(Rectangle((px, 0.0), w, PLATFORM_HEIGHT, color="tab:brown"))
        for ex in (float(state.enemy1_x), float(state.enemy2_x)):
            ax.add_patch(Rectangle((ex, PLATFORM_HEIGHT), SIZE_X, SIZE_Y, color="tab:red"))
        ax.add_patch(Rectangle((float(state.x), float(state.y)), SIZE_X, SIZE_Y, color="tab:blue"))
        ax.set_xlim(-SIZE_X, TOTAL_WIDTH + SIZE_X)
        ax.set_ylim(0.0, 200.0)
        ax.set_aspect("equal")
        ax.set_title(f"Platform  t={int(state.time)}  x={float(state.x):.1f}")
