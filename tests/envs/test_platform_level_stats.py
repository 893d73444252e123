"""Noise-on Platform transitions along the whole level against the original env.

``data/platform_level_stats.json`` was recorded from ``cycraig/gym-platform@e932987`` behind
MP-DQN's wrappers by ``python -m pamdp_bench.tools.platform_ab record`` (seed 7, 500 samples
per case): one step from each of 21 start states (``platform_ab_record.LEVEL_STARTS``) with every
action at z in {-1, -0.5, 0, 0.5, 1}, 315 cases. The first 9 starts are each platform, next
to each gap edge, enemies ahead or behind. The 12 appended ones (issue 19) hold what those
miss: a run-up at vx = 69.3 (the most a decision point can have) before and at each gap's
edge, where a run stops at or runs off the edge, the jump's velocity clamp binds and hops /
leaps land on the next platform, on its corner or fall short; landings short of platform
2's / 3's left edge (the previous platform's features; below x = 475 enemy 1 still moves and
is observed while enemy 2 waits); and enemies mid-platform within one action's reach, moving
towards and away from the player, ahead of and behind it, on platforms 1 and 2 and where a
jump from platform 1 lands. ``shared/golden/stats.json`` only has one-step statistics from
the reset state, so a noise-on difference when crossing a gap or landing on a later platform
would go unseen there.

Each case is compared as a distribution: every mean (agent obs, raw state, reward, substeps)
and P(terminal), P(success) within 5 combined standard errors (numpy's random streams cannot
be matched), or within float32 resolution where both sides are deterministic.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.envs.platform import Platform, PlatformParams, PlatformState

DATA = Path(__file__).parent / "data" / "platform_level_stats.json"
SAMPLES = 1000
# Deterministic components: the port is float32, the original float64 (positions agree to
# ~1e-3 units after a long hop; the obs divides them by ~1000).
ATOL = {"obs": 1e-5, "state": 2e-3, "reward": 1e-5, "substeps": 0.0}


def _start_state(start: dict[str, float]) -> PlatformState:
    f = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return PlatformState(
        x=f(start["x"]), y=f(40.0), vx=f(start["vx"]), vy=f(0.0),
        enemy1_x=f(start["e1x"]), enemy1_dx=f(start["e1dx"]),
        enemy2_x=f(start["e2x"]), enemy2_dx=f(start["e2dx"]),
        time=jnp.asarray(0, jnp.int32),
    )


def _one_step_stats(cases: list[dict], params: PlatformParams) -> dict[str, np.ndarray]:
    """Every case x SAMPLES keys in one vmapped step (params traced: no recompile per value)."""
    env = Platform()
    states = jax.tree.map(lambda *xs: jnp.stack(xs), *[_start_state(c["start"]) for c in cases])
    ks = jnp.asarray([c["k"] for c in cases], jnp.int32)
    zs = jnp.asarray([c["z"][0] for c in cases], jnp.float32)
    keys = jax.random.split(jax.random.key(20261202), len(cases))
    out = _STEP(env, keys, states, ks, zs, params)
    names = ("obs", "state", "reward", "terminal", "success", "substeps")
    return {n: np.asarray(v, np.float64) for n, v in zip(names, out, strict=True)}


@partial(jax.jit, static_argnums=0)
def _STEP(env, keys, states, ks, zs, params):  # noqa: ANN001, ANN202, N802
    def case(key, state, k, z):
        zvec = jnp.zeros((3,), jnp.float32).at[k].set(z)

        def one(key):
            obs, new, reward, terminated, info = env.step_env(key, state, (k, zvec), params)
            return obs, new.as_vector(), reward, terminated, info["success"], info["substeps"]

        return jax.vmap(one)(jax.random.split(key, SAMPLES))

    return jax.vmap(case)(keys, states, ks, zs)


def _mismatches(cases: list[dict], ours: dict[str, np.ndarray]) -> list[tuple]:
    """(case, quantity, ours, original) for every statistic outside its tolerance."""
    failures = []
    for i, c in enumerate(cases):
        where = f"start={c['start']} {c['action']} z={c['z'][0]}"
        n_ref = c["samples"]
        for name in ("obs", "state", "reward", "substeps"):
            v = ours[name][i]
            m, sd = v.mean(0), v.std(0, ddof=1)
            rm, rs = np.asarray(c[name]["mean"]), np.asarray(c[name]["std"])
            se = np.sqrt(rs**2 / n_ref + sd**2 / SAMPLES)
            tol = np.maximum(5 * se, ATOL[name])
            if not np.all(np.abs(m - rm) <= tol):
                failures.append((where, name, np.round(m, 4).tolist(), np.round(rm, 4).tolist()))
        for name, key in (("terminal", "p_terminal"), ("success", "p_success")):
            p, q = ours[name][i].mean(), c[key]
            se = np.sqrt(max(p * (1 - p), q * (1 - q), 1e-4) * (1 / n_ref + 1 / SAMPLES))
            if abs(p - q) > 5 * se:
                failures.append((where, name, p, q))
    return failures


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return json.loads(DATA.read_text())["platform_level_transitions"]


def test_record_covers_the_level(cases: list[dict]) -> None:
    xs = {c["start"]["x"] for c in cases}
    assert min(xs) < 250 and any(475 <= x < 750 for x in xs) and max(xs) >= 985
    assert {c["k"] for c in cases} == {0, 1, 2} and len(cases) == 21 * 3 * 5
    starts = [c["start"] for c in cases]
    # run-ups at the highest decision-point speed before each gap, landings short of a
    # platform's left edge, and each enemy moving either way
    assert any(s["vx"] > 69 and 150 <= s["x"] < 250 for s in starts)
    assert any(s["vx"] > 69 and 650 <= s["x"] < 750 for s in starts)
    assert any(455 <= s["x"] < 475 for s in starts) and any(965 <= s["x"] < 985 for s in starts)
    assert {s["e1dx"] > 0 for s in starts} == {s["e2dx"] > 0 for s in starts} == {True, False}
    # an enemy within one action's reach (< 100 units) moving towards the player, and one
    # moving away, on each of platforms 1 and 2
    for lo, hi, ex, edx in ((0, 250, "e1x", "e1dx"), (475, 750, "e2x", "e2dx")):
        near = [s for s in starts if lo <= s["x"] < hi and abs(s[ex] - s["x"]) < 100]
        assert {(s[ex] > s["x"]) == (s[edx] < 0) for s in near} == {True, False}
    # the file holds exactly the tool's starts, in order (5 z x 3 actions per start)
    from pamdp_bench.tools.platform_ab_record import LEVEL_STARTS

    assert [c["start"] for c in cases[::15]] == [dict(s) for s in LEVEL_STARTS]


def test_level_transitions_match_the_original(cases: list[dict]) -> None:
    failures = _mismatches(cases, _one_step_stats(cases, Platform().default_params))
    assert not failures, failures


def test_a_wrong_jump_noise_is_caught(cases: list[dict]) -> None:
    """The comparison has the power to see a 30 % error in the hop noise, and only in hops."""
    params = Platform().default_params.replace(hop_noise_std=1.3)
    failures = _mismatches(cases, _one_step_stats(cases, params))
    assert failures and all(" hop z=" in where for where, *_ in failures)
