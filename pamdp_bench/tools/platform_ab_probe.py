"""Platform A/B, on-policy probe: do the two envs answer the learner's own actions alike?

Why (issue 19): the original PyTorch P-DQN seemed to learn Platform faster on the original env
than on ours (10 seeds a side; 10 more did not repeat it), while every fixed-policy and
hand-picked-state comparison agreed. The states and actions a *learning* agent produces are
the ones that matter, so this probe takes them from a learning run: before every env step of
a P-DQN learning on one side (noise on), the learner's decision state (raw world state:
player x, y, vx, vy, enemies' x and dx) is placed on a separate probe copy of *each* env and
the learner's action is taken there ``m`` times with fresh noise. Both probes are independent
of the learner's own env, so per step the two answers are independent draws
from the two envs' conditional distributions given the same (state, action): any difference
in the response to what the learner does, at the states it visits, shows up as a nonzero
mean of the per-step differences (``OUTCOMES``: the step's result and the whole next state),
overall and per stratum (action, x band).

The probes start from a fresh episode (step counter 0), so truncation never enters; the
learner's own run is `learn`'s, unchanged (its evaluation points are still produced).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.envs.platform import Platform, PlatformParams, PlatformState
from pamdp_bench.registry import make
from pamdp_bench.tools.platform_ab import (
    OriginalSide,
    OursSide,
    Side,
    learn,
    raw_original_state,
    set_original_noise,
    set_original_state,
)

#: Probe outcome columns, per sample: the step's result, the next raw state (every part the
#: observation reads), and the enemies' squared dx (the spread of their random walk).
OUTCOMES = ("terminal", "success", "reward", "substeps", "x_next", "vx_next", "e1x_next",
            "e1dx_next", "e2x_next", "e2dx_next", "e1dx_sq", "e2dx_sq")
#: The float32 port's resolution per outcome (positions agree with the float64 original to
#: about 1e-3 units, noise off): a difference this small is precision, not behaviour, so it
#: is added to the standard error in quadrature (else near-deterministic strata, such as a
#: run's landing x, give large z from rounding alone).
RESOLUTION = {"reward": 1e-6, "x_next": 1e-3, "vx_next": 1e-3, "e1x_next": 1e-3,
              "e1dx_next": 1e-4, "e2x_next": 1e-3, "e2dx_next": 1e-4, "e1dx_sq": 1e-2,
              "e2dx_sq": 1e-2}
#: Outcomes whose within-step spread is compared too (the m samples' variance per step).
SPREAD = ("reward", "substeps", "x_next", "vx_next", "e1x_next", "e1dx_next", "e2x_next",
          "e2dx_next")
#: Raw decision-state columns (the golden files' ``state`` layout).
STATE = ("x", "y", "vx", "vy", "e1x", "e1dx", "e2x", "e2dx")
PROBE_SEED_OFFSET = 20_000
GOAL_X = 1035.0


def raw_state(side: Side) -> np.ndarray:
    """The learner's current raw world state, float64[8] in ``STATE`` order."""
    if isinstance(side, OriginalSide):
        return np.asarray(raw_original_state(side.inner), np.float64)
    if isinstance(side, OursSide):
        return np.asarray(side.env.state.as_vector(), np.float64)
    raise TypeError(f"not a Platform A/B side: {type(side).__name__}")


class OriginalProbe:
    """A separate original env (own noise stream) stepped once from a placed state."""

    def __init__(self, seed: int) -> None:
        set_original_noise(True)
        self.side = OriginalSide(seed)
        self.side.reset()
        wrapper = self.side.env
        while type(wrapper).__name__ != "ScaledStateWrapper":
            wrapper = wrapper.env
        self._scale_state = wrapper.scale_state

    def _place(self, state: np.ndarray) -> Any:
        return set_original_state(self.side, dict(zip(STATE, state.tolist(), strict=True)))

    def observe(self, state: np.ndarray) -> np.ndarray:
        """The agent-side observation the original gives for ``state`` (``get_state`` through
        ``ScaledStateWrapper``, cast to float32 as the client does)."""
        return np.asarray(self._scale_state(self._place(state).get_state()), np.float32)

    def sample(self, state: np.ndarray, k: int, params: list[np.ndarray], m: int) -> np.ndarray:
        out = np.empty((m, len(OUTCOMES)))
        for i in range(m):
            env = self._place(state)
            _, reward, done, substeps = self.side.step(k, params)
            x = float(env.player.position[0])
            e1dx, e2dx = float(env.enemy1.dx), float(env.enemy2.dx)
            out[i] = (done, x >= GOAL_X, reward, substeps, x, env.player.velocity[0],
                      env.enemy1.position[0], e1dx, env.enemy2.position[0], e2dx, e1dx**2,
                      e2dx**2)
        return out


def ours_outcomes(env: Platform, params: PlatformParams, key: jax.Array, state: jax.Array,
                  k: jax.Array, z: jax.Array) -> jax.Array:
    """Ours' ``OUTCOMES`` (float32) after one ``step_env`` (the adapter's path, flat
    agent-side z) from the raw ``state`` vector, placed on a fresh episode."""
    _, new, reward, term, info = env.step_env(key, PlatformState.from_vector(state), (k, z),
                                              params)
    f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return jnp.stack([f32(term), f32(info["success"]), reward, f32(info["substeps"]), new.x,
                      new.vx, new.enemy1_x, new.enemy1_dx, new.enemy2_x, new.enemy2_dx,
                      new.enemy1_dx**2, new.enemy2_dx**2])


class OursProbe:
    """``Platform-v0`` stepped from a placed state, ``m`` keys in one vmapped call."""

    def __init__(self, seed: int) -> None:
        env, params = make("Platform-v0")
        self._key = jax.random.PRNGKey(seed)
        self._fn = jax.jit(jax.vmap(partial(ours_outcomes, env, params),
                                    in_axes=(0, None, None, None)))
        self._observe = jax.jit(lambda s: env.get_obs(PlatformState.from_vector(s), params))
        self._split = jax.jit(lambda key, m: jax.random.split(key, m + 1), static_argnums=1)

    def sample(self, state: np.ndarray, k: int, params: list[np.ndarray], m: int) -> np.ndarray:
        keys = self._split(self._key, m)
        self._key = keys[0]
        z = np.concatenate(params).astype(np.float32)
        return np.asarray(self._fn(keys[1:], np.asarray(state, np.float32), np.int32(k), z),
                          np.float64)

    def observe(self, state: np.ndarray) -> np.ndarray:
        """Ours' agent-side observation of ``state`` (float32[9])."""
        return np.asarray(self._observe(np.asarray(state, np.float32)))


def run(learner: str, seed: int, steps: int, m: int, eval_every: int,
        eval_episodes: int) -> dict[str, Any]:
    """A P-DQN learning run on ``learner`` (noise on) with both probes at every step: arrays
    ``state`` [N, 8], ``k`` [N], ``z`` [N] (the chosen agent-side parameter), ``original`` /
    ``ours`` [N, m, len(OUTCOMES)], ``obs_diff`` [N, 9] (|original - ours| of the
    observation each env gives for the learner's state), plus the learner's evaluation rows."""
    probes = {"original": OriginalProbe(seed + PROBE_SEED_OFFSET),
              "ours": OursProbe(seed + PROBE_SEED_OFFSET)}
    log: dict[str, list[Any]] = {"state": [], "k": [], "z": [], "original": [], "ours": [],
                                 "obs_diff": []}

    def before_step(side: Side, k: int, params: list[np.ndarray]) -> None:
        s = raw_state(side)
        log["state"].append(s)
        log["k"].append(k)
        log["z"].append(float(params[k][0]))
        log["obs_diff"].append(np.abs(probes["original"].observe(s) - probes["ours"].observe(s)))
        for name, probe in probes.items():
            log[name].append(probe.sample(s, k, params, m))

    rows = list(learn(learner, seed, steps, eval_every, eval_episodes, True,
                      before_step=before_step))
    out: dict[str, Any] = {name: np.asarray(v) for name, v in log.items()}
    out["outcomes"] = np.asarray(OUTCOMES)
    out["evals"] = rows
    return out


# ----------------------------------------------------------------------------- analysis
def _diff_stats(a: np.ndarray, b: np.ndarray, resolution: float = 0.0) -> dict[str, float]:
    """Per step mean over the samples (axis 1), then the mean over steps of (a - b) and its
    standard error (steps are the independent units: each step's two probes are
    independent draws given the same state and action); z uses the SE and ``resolution``
    in quadrature."""
    d = a.mean(1) - b.mean(1)
    n = len(d)
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    mean = float(d.mean()) if n else float("nan")
    scale = math.hypot(se, resolution)
    return {"n": n, "original": float(a.mean()) if n else float("nan"),
            "ours": float(b.mean()) if n else float("nan"), "diff": mean, "se": se,
            "z": mean / scale if scale > 0 else 0.0}


def outcome_names(data: dict[str, Any]) -> tuple[str, ...]:
    """The outcome columns of probe arrays: their own ``outcomes`` entry (arrays saved before
    the next state was recorded have 5), else ``OUTCOMES``."""
    names = tuple(str(n) for n in data["outcomes"]) if "outcomes" in data else OUTCOMES
    width = data["original"].shape[-1]
    if len(names) != width:
        raise ValueError(f"probe arrays have {width} outcome columns, names {names}")
    return names


def _columns(data: dict[str, Any]) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """(name, original [N, m'], ours [N, m'], resolution): each outcome's samples, and for
    ``SPREAD`` outcomes each step's sample variance (``var(...)``, needs m >= 2 a side)."""
    cols = []
    m = min(data["original"].shape[1], data["ours"].shape[1])
    for j, name in enumerate(outcome_names(data)):
        o, u = data["original"][:, :, j], data["ours"][:, :, j]
        res = RESOLUTION.get(name, 0.0)
        cols.append((name, o, u, res))
        if name in SPREAD and m >= 2:
            cols.append((f"var({name})", o.var(1, ddof=1)[:, None], u.var(1, ddof=1)[:, None],
                         res * res))
    return cols


def strata(data: dict[str, np.ndarray], x_band: float = 25.0) -> list[tuple[str, np.ndarray]]:
    """(label, step mask): everything, each action, and each (action, x band)."""
    k, x = data["k"], data["state"][:, 0]
    out = [("all", np.ones(len(k), bool))]
    names = ("run", "hop", "leap")
    out += [(names[j], k == j) for j in range(3)]
    bands = np.floor(x / x_band).astype(int)
    for j in range(3):
        for b in np.unique(bands[k == j]):
            lo = b * x_band
            out.append((f"{names[j]} x in [{lo:.0f}, {lo + x_band:.0f})", (k == j) & (bands == b)))
    return out


def analyze(data: dict[str, np.ndarray], min_n: int = 50) -> dict[str, Any]:
    """Per outcome and stratum: both sides' means, the mean difference, its SE and z; plus,
    per outcome, the sum of z^2 over the (action, x band) strata with ``min_n`` steps or more
    against its degrees of freedom (a chi-square reading: about df if the envs agree)."""
    result: dict[str, Any] = {"steps": int(len(data["k"])), "outcomes": {}}
    if "obs_diff" in data and len(data["obs_diff"]):
        worst = data["obs_diff"].max(0)
        result["obs_max_abs_diff"] = worst.tolist()
        result["obs_steps_over_1e-4"] = int((data["obs_diff"].max(1) > 1e-4).sum())
    z = np.asarray(data["z"])
    result["z_outside_unit"] = int((np.abs(z) > 1.0).sum())
    for name, orig, ours, res in _columns(data):
        rows, chi2, df = [], 0.0, 0
        for label, mask in strata(data):
            if mask.sum() < min_n:
                continue
            st = _diff_stats(orig[mask], ours[mask], res)
            st["stratum"] = label
            rows.append(st)
            if " x in " in label and np.isfinite(st["z"]):
                chi2 += st["z"] ** 2
                df += 1
        result["outcomes"][name] = {"strata": rows, "chi2": chi2, "df": df}
    return result


def report(results: Sequence[dict[str, Any]], top: int = 8) -> str:
    """Markdown: per run, the overall row and the strata with the largest |z| per outcome."""
    lines = []
    for r in results:
        lines.append(f"### learner {r['learner']}, seed {r['seed']}: {r['steps']:,} steps, "
                     f"{r['m']} probe samples per side per step\n")
        a = r["analysis"]
        if "obs_max_abs_diff" in a:
            lines.append(f"Observation of the learner's states, original vs ours: largest "
                         f"|difference| {max(a['obs_max_abs_diff']):.2e}; steps with any "
                         f"component above 1e-4: {a['obs_steps_over_1e-4']}. Chosen "
                         f"parameters outside [-1, 1]: {a['z_outside_unit']}.\n")
        lines.append("| outcome | stratum | n | original | ours | diff | z |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, o in r["analysis"]["outcomes"].items():
            rows = o["strata"]
            shown = rows[:4] + sorted(rows[4:], key=lambda s: -abs(s["z"]))[:top]
            for s in shown:
                lines.append(f"| {name} | {s['stratum']} | {s['n']} | {s['original']:.4f} | "
                             f"{s['ours']:.4f} | {s['diff']:+.4f} | {s['z']:+.2f} |")
            lines.append(f"| {name} | chi2 over x bands | {o['df']} strata | | | | "
                         f"{o['chi2']:.1f} |")
        lines.append("")
    return "\n".join(lines)


# -------------------------------------------------------------------- CI conformance file
def conformance_record(runs: Sequence[dict[str, Any]], per_run: int, seed: int,
                       sources: Sequence[str]) -> dict[str, Any]:
    """A file for CI (``tests/envs/test_platform_onpolicy_stats.py``): ``per_run`` learner
    steps drawn without replacement from each probe run's arrays, each with the learner's
    state, k and z and the *original* probe's mean outcome over its m samples. CI steps ours
    from the same (state, action)s and compares per stratum, as ``analyze`` does."""
    m = {int(r["original"].shape[1]) for r in runs}
    if len({outcome_names(r) for r in runs}) != 1 or len(m) != 1:
        raise ValueError("probe runs with different outcome columns or sample counts")
    rng = np.random.default_rng(seed)
    steps = []
    for run in runs:
        idx = np.sort(rng.choice(len(run["k"]), size=min(per_run, len(run["k"])),
                                 replace=False))
        means = run["original"][idx].mean(1)
        for i, row in zip(idx, means, strict=True):
            st = run["state"][i]
            if st[1] != 40.0 or st[3] != 0.0:
                raise ValueError(f"step {i}: not a decision state on the ground: {st.tolist()}")
            steps.append([round(float(st[j]), 6) for j in (0, 2, 4, 5, 6, 7)]
                         + [int(run["k"][i]), round(float(run["z"][i]), 7)]
                         + [round(float(v), 7) for v in row])
    return {
        "format": ("one row per learner decision step: x, vx, e1x, e1dx, e2x, e2dx (y = 40, "
                   "vy = 0), k, agent-side z, then the original env's mean over `m` noisy "
                   "samples of each of `outcomes` after one step from that state with that "
                   "action (placed on a fresh episode, so no truncation)"),
        "source": ("P-DQN learners (cycraig/MP-DQN@eec13eb) on each side, probes on "
                   "cycraig/gym-platform@e932987 behind MP-DQN's wrappers; recorded by "
                   "pamdp_bench.tools.platform_ab probe, exported by probe_export"),
        "runs": list(sources), "seed": seed, "m": m.pop(),
        "outcomes": list(outcome_names(runs[0])), "steps": steps,
    }


def conformance_arrays(record: dict[str, Any]) -> dict[str, np.ndarray]:
    """``conformance_record``'s rows as probe-style arrays (the original side as one
    'sample' per step, its mean)."""
    rows = np.asarray(record["steps"], np.float64)
    n = len(rows)
    state = np.zeros((n, 8))
    state[:, [0, 2, 4, 5, 6, 7]] = rows[:, :6]
    state[:, 1] = 40.0
    return {"state": state, "k": rows[:, 6].astype(int), "z": rows[:, 7],
            "original": rows[:, None, 8:], "outcomes": np.asarray(record["outcomes"])}
