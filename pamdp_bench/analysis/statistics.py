"""Statistics for score tables (pure numpy, no records): aggregates with stratified bootstrap
CIs, probability of improvement, performance profiles.

Written with numpy rather than taken from rliable: rliable's pins do not import with pandas 3
(DESIGN.md), and the few estimators needed are short. Each one is tested against its direct
definition (``tests/core/test_scoring.py``).

Scores across envs ("tasks") are a list of 1-D arrays, one per task, holding one score per run
(seed); a 2-D ``(runs, tasks)`` array is accepted too. Tasks may have different run counts.

Definitions (point estimates):

* ``mean``: mean over tasks of the per-task mean.
* ``median``: median over tasks of the per-task mean.
* ``iqm``: interquartile mean of all runs of all tasks pooled: sort the N pooled scores, drop
  ``floor(N/4)`` from each end, average the rest. This is exactly ``scipy.stats.trim_mean(x,
  0.25)``; when N is not divisible by 4 slightly more than the middle half is kept.
* ``optimality_gap``: mean over tasks of the per-task mean of ``max(1 - score, 0)`` (equals the
  pooled mean shortfall below 1 when tasks have equal run counts).
* probability of improvement ``P(X > Y)``: per task, the Mann-Whitney statistic
  ``U / (n m)`` = fraction of (run of X, run of Y) pairs with ``x > y``, ties counted 1/2;
  averaged over the tasks both have.
* performance profile at ``tau``: mean over tasks of the fraction of runs with score ``> tau``.

Confidence intervals: stratified bootstrap. Each replicate resamples, with replacement, the
runs of every task independently (the task's own run count), recomputes the statistic, and the
interval is the percentile interval of the replicates. Fixed ``seed`` (numpy ``default_rng``),
configurable ``reps``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

DEFAULT_REPS = 2000
DEFAULT_SEED = 0
CONFIDENCE = 0.95
#: Upper bound on floats held by one chunk of bootstrap replicates.
_CHUNK_FLOATS = 4_000_000

Tasks = Sequence[np.ndarray]


# ----------------------------------------------------------------------------- small helpers
def mean_std(values: Iterable[float]) -> tuple[float, float, int]:
    """(mean, std with ddof=1, n); std is NaN for n < 2, mean NaN for n = 0."""
    x = np.asarray(list(values), dtype=np.float64)
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), 0
    return float(x.mean()), float(x.std(ddof=1)) if n > 1 else float("nan"), n


def format_mean_std(values: Iterable[float], digits: int = 3) -> str:
    """``"mean ± std"`` over seeds with the tables' std (ddof=1), or the mean alone for one
    value: what every command line summary prints, so it matches ``scores.md``."""
    mean, std, n = mean_std(values)
    return f"{mean:.{digits}f}" if n < 2 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def as_tasks(scores: Any) -> list[np.ndarray]:
    """A ``(runs, tasks)`` array or a sequence of per-task 1-D arrays -> list of 1-D arrays."""
    if isinstance(scores, np.ndarray):
        if scores.ndim != 2:
            raise ValueError(f"a score array must be 2-D (runs, tasks), got shape {scores.shape}")
        tasks = [scores[:, j] for j in range(scores.shape[1])]
    else:
        tasks = [np.asarray(t, dtype=np.float64).ravel() for t in scores]
    tasks = [np.asarray(t, dtype=np.float64) for t in tasks]
    if not tasks:
        raise ValueError("no tasks")
    for j, t in enumerate(tasks):
        if t.size == 0:
            raise ValueError(f"task {j} has no runs")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"task {j} has non-finite scores")
    return tasks


# ----------------------------------------------------------------------------- batched statistics
# Each takes a list of (reps, n_task) arrays (one row per bootstrap replicate) -> (reps,) array.
def _b_task_means(tasks: Sequence[np.ndarray]) -> np.ndarray:
    return np.stack([t.mean(axis=1) for t in tasks], axis=1)  # (reps, T)


def _b_mean(tasks: Sequence[np.ndarray]) -> np.ndarray:
    return _b_task_means(tasks).mean(axis=1)


def _b_median(tasks: Sequence[np.ndarray]) -> np.ndarray:
    return np.median(_b_task_means(tasks), axis=1)


def _trimmed_mean_rows(x: np.ndarray, proportion: float = 0.25) -> np.ndarray:
    """Row-wise trimmed mean, scipy's convention: drop int(proportion * n) from each end."""
    n = x.shape[1]
    k = int(proportion * n)
    if 2 * k >= n:
        raise ValueError(f"cannot trim {k} from each end of {n} values")
    return np.sort(x, axis=1)[:, k:n - k].mean(axis=1)


def _b_iqm(tasks: Sequence[np.ndarray]) -> np.ndarray:
    return _trimmed_mean_rows(np.concatenate(tasks, axis=1), 0.25)


def _b_optimality_gap(tasks: Sequence[np.ndarray], gamma: float = 1.0) -> np.ndarray:
    gaps = np.stack([np.maximum(gamma - t, 0.0).mean(axis=1) for t in tasks], axis=1)
    return gaps.mean(axis=1)


AGGREGATES: dict[str, Callable[[Sequence[np.ndarray]], np.ndarray]] = {
    "mean": _b_mean,
    "median": _b_median,
    "iqm": _b_iqm,
    "optimality_gap": _b_optimality_gap,
}
AGGREGATE_LABELS = {"mean": "Mean", "median": "Median", "iqm": "IQM",
                    "optimality_gap": "Optimality gap"}


def _point(stat: Callable[[Sequence[np.ndarray]], np.ndarray], tasks: Tasks) -> Any:
    out = np.asarray(stat([t[None, :] for t in tasks]))[0]
    return float(out) if out.ndim == 0 else out


def aggregate_mean(scores: Any) -> float:
    return _point(_b_mean, as_tasks(scores))


def aggregate_median(scores: Any) -> float:
    return _point(_b_median, as_tasks(scores))


def iqm(scores: Any) -> float:
    """Interquartile mean of all runs of all tasks (``scipy.stats.trim_mean(x, 0.25)``)."""
    return _point(_b_iqm, as_tasks(scores))


def optimality_gap(scores: Any, gamma: float = 1.0) -> float:
    return _point(lambda t: _b_optimality_gap(t, gamma), as_tasks(scores))


# ----------------------------------------------------------------------------- bootstrap
@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate with a bootstrap confidence interval."""

    point: float
    lo: float
    hi: float

    def fmt(self, digits: int = 3) -> str:
        return f"{self.point:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


def replicate_chunks(reps: int, floats_per_rep: int) -> Iterable[int]:
    size = max(1, min(reps, _CHUNK_FLOATS // max(floats_per_rep, 1)))
    done = 0
    while done < reps:
        c = min(size, reps - done)
        yield c
        done += c


def stratified_resample(tasks: Tasks, reps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``reps`` stratified resamples: per task, ``n_task`` draws with replacement from that
    task's own runs, independently of the other tasks -> list of (reps, n_task) arrays."""
    return [t[rng.integers(0, t.size, size=(reps, t.size))] for t in tasks]


def stratified_bootstrap(scores: Any, statistic: Callable[[Sequence[np.ndarray]], np.ndarray],
                         reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                         floats_per_run: int = 1) -> np.ndarray:
    """Bootstrap replicates of a batched ``statistic`` -> array of shape (reps, ...).

    Replicates are drawn in chunks bounded by memory (``floats_per_run``: the statistic's
    working floats per resampled run); the chunking depends only on the data sizes, so a fixed
    ``seed`` always gives the same replicates.
    """
    tasks = as_tasks(scores)
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    rng = np.random.default_rng(seed)
    total = sum(t.size for t in tasks)
    out = [np.asarray(statistic(stratified_resample(tasks, c, rng)))
           for c in replicate_chunks(reps, total * floats_per_run)]
    return np.concatenate(out, axis=0)


def percentile_interval(replicates: np.ndarray, confidence: float = CONFIDENCE
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0 of bootstrap replicates."""
    alpha = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(replicates, [alpha, 100.0 - alpha], axis=0)
    return lo, hi


def bootstrap_interval(scores: Any, statistic: Callable[[Sequence[np.ndarray]], np.ndarray],
                       reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                       confidence: float = CONFIDENCE) -> Interval:
    """Point estimate and stratified-bootstrap percentile CI of a scalar batched statistic."""
    tasks = as_tasks(scores)
    point = _point(statistic, tasks)
    lo, hi = percentile_interval(stratified_bootstrap(tasks, statistic, reps, seed), confidence)
    return Interval(float(point), float(lo), float(hi))


def aggregate_intervals(scores: Any, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                        confidence: float = CONFIDENCE) -> dict[str, Interval]:
    """Mean, median, IQM and optimality gap, each with a stratified bootstrap CI.

    All four are computed on the same replicates (one resampling per replicate).
    """
    tasks = as_tasks(scores)
    names = list(AGGREGATES)

    def all_stats(batch: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([AGGREGATES[n](batch) for n in names], axis=1)

    points = _point(all_stats, tasks)
    lo, hi = percentile_interval(stratified_bootstrap(tasks, all_stats, reps, seed), confidence)
    return {n: Interval(float(points[i]), float(lo[i]), float(hi[i])) for i, n in enumerate(names)}


# ----------------------------------------------------------------------------- improvement
def _pairwise_win(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched Mann-Whitney U/(nm): x (reps, n), y (reps, m) -> (reps,)."""
    diff = x[:, :, None] - y[:, None, :]
    return ((diff > 0).astype(np.float64) + 0.5 * (diff == 0)).mean(axis=(1, 2))


def probability_of_improvement(x_scores: Any, y_scores: Any) -> float:
    """P(X > Y): per task U/(n m) with ties 1/2, averaged over tasks (same task order)."""
    xs, ys = as_tasks(x_scores), as_tasks(y_scores)
    if len(xs) != len(ys):
        raise ValueError(f"X has {len(xs)} tasks, Y has {len(ys)}")
    wins = [_pairwise_win(x[None], y[None])[0] for x, y in zip(xs, ys, strict=True)]
    return float(np.mean(wins))


def probability_of_improvement_interval(x_scores: Any, y_scores: Any,
                                        reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                                        confidence: float = CONFIDENCE) -> Interval:
    """P(X > Y) with a stratified bootstrap CI: within every task, X's runs and Y's runs are
    each resampled independently."""
    xs, ys = as_tasks(x_scores), as_tasks(y_scores)
    if len(xs) != len(ys):
        raise ValueError(f"X has {len(xs)} tasks, Y has {len(ys)}")
    point = probability_of_improvement(xs, ys)
    rng = np.random.default_rng(seed)
    per_rep = sum(x.size * y.size for x, y in zip(xs, ys, strict=True))
    reps_out = []
    for c in replicate_chunks(reps, per_rep):
        rx, ry = stratified_resample(xs, c, rng), stratified_resample(ys, c, rng)
        wins = [_pairwise_win(a, b) for a, b in zip(rx, ry, strict=True)]
        reps_out.append(np.mean(wins, axis=0))
    lo, hi = percentile_interval(np.concatenate(reps_out), confidence)
    return Interval(point, float(lo), float(hi))


# ----------------------------------------------------------------------------- profiles
def _b_profile(tasks: Sequence[np.ndarray], taus: np.ndarray) -> np.ndarray:
    fr = [(t[:, :, None] > taus[None, None, :]).mean(axis=1) for t in tasks]  # (reps, n_tau)
    return np.mean(fr, axis=0)


def performance_profile(scores: Any, taus: Sequence[float]) -> np.ndarray:
    """Fraction of runs with score > tau (mean over tasks of the per-task fraction)."""
    taus = np.asarray(taus, dtype=np.float64)
    return _point(lambda t: _b_profile(t, taus), as_tasks(scores))


def performance_profile_intervals(scores: Any, taus: Sequence[float],
                                  reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                                  confidence: float = CONFIDENCE
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(profile, lo, hi) over ``taus``; bands from the stratified bootstrap (each replicate's
    profile is non-increasing, so are the pointwise percentiles)."""
    taus = np.asarray(taus, dtype=np.float64)
    tasks = as_tasks(scores)
    stat = lambda t: _b_profile(t, taus)  # noqa: E731
    point = _point(stat, tasks)
    lo, hi = percentile_interval(
        stratified_bootstrap(tasks, stat, reps, seed, floats_per_run=taus.size), confidence)
    return point, lo, hi


def tau_grid(all_scores: Iterable[np.ndarray], num: int = 101) -> np.ndarray:
    """A tau grid covering [min(0, lowest score), max(1, highest score)]."""
    flat = np.concatenate([np.ravel(s) for s in all_scores]) if all_scores else np.zeros(1)
    lo = min(0.0, float(flat.min())) if flat.size else 0.0
    hi = max(1.0, float(flat.max())) if flat.size else 1.0
    return np.linspace(lo, hi, num)
