"""Conformance of the JAX environments with the original implementations.

Two checks, both driven by a directory in the golden format (``../shared/golden/README.md``):

1. **Trajectory replay** (set A, noise off): every episode of every ``<benchmark>.json`` is
   replayed from its recorded initial state with its recorded actions; observations, rewards,
   terminal and success flags (and, where the port exposes them, substep counts and raw
   states) are compared step by step.
2. **Statistics** (set B, ``stats.json``, noise on): random-policy return, success rate and
   episode length, and the fixed-state one-step transition statistics, compared as
   distributions (means within a few combined standard errors).

Tolerances (trajectory replay). The originals run in float64 and cast observations to float32
at the end; the port runs in float32. One float32 rounding is a relative error of 6e-8; an
agent step is up to ~280 substeps of a few dozen flops each, so accumulated relative errors
reach ~1e-5 in smooth parts, and the observation scaling maps raw units onto [-1, 1]. Values
therefore match within ``atol + rtol*|ref|`` with ``atol = 2e-4`` and ``rtol = 2e-4`` for
observations, raw states and rewards: a hundred times the expected float32 noise, and still
a hundred times smaller than any physically meaningful difference (e.g. 1e-4 of the Platform
obs is 0.05 px; of a Goal obs 0.001 m). Flags and integer counts must match exactly.

Float32 can still flip a threshold event in the chaotic parts (Goal collisions and kicks,
Platform landings). An episode whose first disagreement is such a flip is reported with the
step, the comparison that flipped and by how much the states had drifted just before; such
*diverged* episodes may be at most ``max_diverged_fraction`` (5%) of a benchmark's episodes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.registry import golden_spec, make

OBS_ATOL = 2e-4
OBS_RTOL = 2e-4
MAX_DIVERGED_FRACTION = 0.05


# ----------------------------------------------------------------------------- loading
def load_golden_file(path: str) -> dict[str, Any]:
    """Load and sanity-check one golden trajectory file; errors name the file and field."""
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    for field in ("benchmark", "episodes"):
        if field not in data:
            raise ValueError(f"{path}: missing top-level field {field!r}")
    if not isinstance(data["episodes"], list):
        raise ValueError(f"{path}: 'episodes' must be a list")
    for i, ep in enumerate(data["episodes"]):
        for field in ("init", "obs0", "steps"):
            if field not in ep:
                raise ValueError(f"{path}: episode {i} has no field {field!r}")
        for col in ("k", "z", "obs", "reward", "terminal", "success"):
            if col not in ep["steps"]:
                raise ValueError(f"{path}: episode {i} has no steps column {col!r}")
    return data


def env_id_for(benchmark: str) -> str:
    """Env id replaying a golden benchmark name (``hard_move_12`` works too)."""
    return golden_spec(benchmark).id


# ---------------------------------------------------------------------- comparisons
@dataclasses.dataclass
class Divergence:
    """The first disagreement of an episode with its recording."""

    episode: int
    kind: str
    step: int  # 1-based agent step; 0 = the reset observation
    what: str  # the comparison, e.g. "terminal" or "obs[3]"
    ours: float
    ref: float
    drift_before: float  # max |ours - ref| over the compared values at the previous step

    def describe(self) -> str:
        return (
            f"episode {self.episode} ({self.kind}) step {self.step}: {self.what} "
            f"ours={self.ours:.9g} ref={self.ref:.9g} (|diff|={abs(self.ours - self.ref):.3g}); "
            f"max deviation just before: {self.drift_before:.3g}"
        )


@dataclasses.dataclass
class BenchmarkReport:
    """Replay result of one golden file."""

    benchmark: str
    env_id: str
    episodes: int
    matched: int
    divergences: list[Divergence]
    max_obs_dev: float
    max_reward_dev: float
    max_state_dev: float
    steps: int

    @property
    def ok(self) -> bool:
        allowed = math.floor(MAX_DIVERGED_FRACTION * self.episodes)
        return len(self.divergences) <= allowed

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        return (
            f"{status} {self.benchmark:<13} {self.env_id:<16} episodes matched "
            f"{self.matched}/{self.episodes} ({self.steps} steps), max |obs dev| "
            f"{self.max_obs_dev:.2e}, max |reward dev| {self.max_reward_dev:.2e}, "
            f"max |state dev| {self.max_state_dev:.2e}, diverged {len(self.divergences)} "
            f"(allowed {math.floor(MAX_DIVERGED_FRACTION * self.episodes)})"
        )


def flat_params(space: Any, k: int, z: Sequence[float]) -> np.ndarray:
    """A recorded action's parameters (``par_size[k]`` entries) as the flat ``z[P]`` vector.

    Extra recorded entries are ignored (Catch Point records one value for its parameterless
    catch action)."""
    flat = np.zeros(space.total_param_dim, np.float32)
    sl = space.param_slices[k]
    flat[sl] = np.asarray(z, np.float32)[: sl.stop - sl.start]
    return flat


def _excess(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Deviation in units of the tolerance: > 1 means outside ``atol + rtol*|ref|``."""
    return np.abs(ours - ref) / (OBS_ATOL + OBS_RTOL * np.abs(ref))


class _Replayer:
    """Jitted single-episode replay for one env (compiled once, reused for every episode)."""

    def __init__(self, env_id: str, dtype: Any = jnp.float32) -> None:
        # Only envs that support it take a dtype (float64 replays need jax x64 enabled).
        kwargs = {} if dtype == jnp.float32 else {"dtype": dtype}
        self.env, params = make(env_id, env_kwargs=kwargs)
        self.params = self.env.noise_free(params)
        self.space = self.env.pamdp_space
        self._step = jax.jit(self._step_fn)
        self._obs = jax.jit(self.env.get_obs)
        self.has_state_vector = hasattr(self.env, "golden_state_vector")

    def _step_fn(self, state: Any, k: jax.Array, z: jax.Array) -> tuple[Any, ...]:
        key = jax.random.key(0)  # unused with noise off, but the API takes one
        obs, state, reward, terminated, info = self.env.step_env(
            key, state, (k, z), self.params
        )
        truncated = self.env.is_truncated(state, self.params)
        vec = self.env.golden_state_vector(state) if self.has_state_vector else jnp.zeros(0)
        return obs, state, reward, terminated | truncated, info, vec

    def replay(self, index: int, ep: dict[str, Any]) -> tuple[Divergence | None, dict[str, float]]:
        devs = {"obs": 0.0, "reward": 0.0, "state": 0.0, "steps": 0}
        kind = ep.get("kind", "?")
        state = self.env.state_from_golden(ep["init"], self.params)
        obs = np.asarray(self._obs(state, self.params), np.float64)
        ref0 = np.asarray(ep["obs0"], np.float32).astype(np.float64)
        ex = _excess(obs, ref0)
        devs["obs"] = float(np.max(np.abs(obs - ref0)))
        if np.any(ex > 1):
            j = int(np.argmax(ex))
            return Divergence(index, kind, 0, f"obs0[{j}]", obs[j], ref0[j], 0.0), devs
        cols = ep["steps"]
        drift = float(np.max(np.abs(obs - ref0)))
        for t in range(len(cols["k"])):
            k = int(cols["k"][t])
            obs, state, reward, terminal, info, vec = self._step(
                state, jnp.int32(k), jnp.asarray(flat_params(self.space, k, cols["z"][t]))
            )
            devs["steps"] += 1
            step = t + 1
            # Discrete events first: a flipped event explains any value deviation after it.
            events = [
                ("terminal", bool(terminal), bool(cols["terminal"][t])),
                ("success", bool(info["success"]), bool(cols["success"][t])),
            ]
            if "substeps" in cols and "substeps" in info:
                events.append(("substeps", int(info["substeps"]), int(cols["substeps"][t])))
            if "fail_count" in cols and "fail_count" in info:
                events.append(("fail_count", int(info["fail_count"]), int(cols["fail_count"][t])))
            for name, ours, ref in events:
                if ours != ref:
                    return Divergence(index, kind, step, name, ours, ref, drift), devs
            checks = [
                ("obs", np.asarray(obs, np.float64), np.asarray(cols["obs"][t], np.float32)),
                ("reward", np.asarray([reward], np.float64), np.asarray([cols["reward"][t]])),
            ]
            if self.has_state_vector and "state" in cols:
                checks.append(("state", np.asarray(vec, np.float64), np.asarray(cols["state"][t])))
            if "force" in cols and "force" in info:
                checks.append(("force", np.asarray(info["force"], np.float64),
                               np.asarray(cols["force"][t])))
            step_drift = 0.0
            for name, ours_v, ref_v in checks:
                ref_v = ref_v.astype(np.float64)
                ex = _excess(ours_v, ref_v)
                if name in devs:
                    devs[name] = max(devs[name], float(np.max(np.abs(ours_v - ref_v))))
                if np.any(ex > 1):
                    j = int(np.argmax(ex))
                    label = name if ours_v.size == 1 else f"{name}[{j}]"
                    return Divergence(index, kind, step, label, ours_v[j], ref_v[j], drift), devs
                if ours_v.size:
                    step_drift = max(step_drift, float(np.max(np.abs(ours_v - ref_v))))
            drift = step_drift
            if bool(cols["terminal"][t]):
                break
        return None, devs


def replay_file(path: str, dtype: Any = jnp.float32) -> BenchmarkReport:
    """Replay every episode of one golden file; never raises on a mismatch (it reports)."""
    data = load_golden_file(path)
    bench = data["benchmark"]
    env_id = env_id_for(bench)
    rep = _Replayer(env_id, dtype)
    divergences: list[Divergence] = []
    totals = {"obs": 0.0, "reward": 0.0, "state": 0.0, "steps": 0}
    for i, ep in enumerate(data["episodes"]):
        div, devs = rep.replay(i, ep)
        if div is not None:
            divergences.append(div)
        else:  # deviations are only meaningful on episodes that did not diverge
            for key in ("obs", "reward", "state"):
                totals[key] = max(totals[key], devs[key])
        totals["steps"] += devs["steps"]
    n = len(data["episodes"])
    return BenchmarkReport(
        benchmark=bench,
        env_id=env_id,
        episodes=n,
        matched=n - len(divergences),
        divergences=divergences,
        max_obs_dev=totals["obs"],
        max_reward_dev=totals["reward"],
        max_state_dev=totals["state"],
        steps=int(totals["steps"]),
    )


def trajectory_files(directory: str) -> list[str]:
    """The trajectory files of a golden directory (every ``*.json`` except ``stats.json``)."""
    if not os.path.isdir(directory):
        raise ValueError(f"golden directory {directory!r} does not exist")
    names = sorted(
        f for f in os.listdir(directory) if f.endswith(".json") and f != "stats.json"
    )
    return [os.path.join(directory, f) for f in names]


def run_replays(
    directory: str, only: Iterable[str] | None = None, dtype: Any = jnp.float32
) -> list[BenchmarkReport]:
    """Replay every trajectory file in ``directory`` (optionally only some benchmarks)."""
    wanted = set(only) if only else None
    reports = []
    for path in trajectory_files(directory):
        bench = os.path.splitext(os.path.basename(path))[0]
        if wanted is not None and bench not in wanted:
            continue
        reports.append(replay_file(path, dtype))
    return reports
