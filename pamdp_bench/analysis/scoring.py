"""Statistics for score tables: per-env summaries, normalized scores, aggregates with
stratified bootstrap CIs, probability of improvement, performance profiles, curves.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pamdp_bench.analysis import anchors as anchors_mod

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


def _chunks(reps: int, floats_per_rep: int) -> Iterable[int]:
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
           for c in _chunks(reps, total * floats_per_run)]
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
    for c in _chunks(reps, per_rep):
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


# ----------------------------------------------------------------------------- records
Key = tuple[str, str, str]  # (protocol, env_id, agent)


def label_config_variants(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``records`` with ``agent`` relabelled ``agent@HASH8`` where one (protocol, env, agent)
    holds records of more than one config hash (say the agent's defaults changed between two
    runs), so that different configs are never pooled as seeds of one row; otherwise as is."""
    hashes: dict[Key, set[str]] = {}
    for r in records:
        hashes.setdefault((r["protocol"], r["env_id"], r["agent"]), set()).add(r["config_hash"])
    out: list[Mapping[str, Any]] = []
    for r in records:
        if len(hashes[(r["protocol"], r["env_id"], r["agent"])]) > 1:
            r = {**r, "agent": f"{r['agent']}@{r['config_hash'][:8]}"}
        out.append(r)
    return out


def final_records(records: Iterable[Mapping[str, Any]]) -> dict[Key, dict[int, Mapping[str, Any]]]:
    """Per (protocol, env, agent) and seed: the record with ``final=true`` (the latest one if
    several), else the seed's last evaluation point."""
    by_seed: dict[Key, dict[int, list[Mapping[str, Any]]]] = {}
    for r in records:
        key = (r["protocol"], r["env_id"], r["agent"])
        by_seed.setdefault(key, {}).setdefault(r["seed"], []).append(r)
    out: dict[Key, dict[int, Mapping[str, Any]]] = {}
    for key, seeds in by_seed.items():
        out[key] = {}
        for seed, rs in sorted(seeds.items()):
            finals = [r for r in rs if r["final"]]
            pool = finals or rs
            out[key][seed] = max(pool, key=lambda r: r["env_steps"])
    return out


@dataclasses.dataclass(frozen=True)
class Summary:
    """Final-evaluation statistics of one (protocol, env, agent) over seeds."""

    protocol: str
    env_id: str
    agent: str
    seeds: tuple[int, ...]
    env_steps: tuple[int, ...]  # env steps of each seed's final record
    warmup_steps: tuple[int | None, ...]  # uncounted warm-up steps of each final record
    n_final: int  # seeds whose record has final=true
    returns: np.ndarray  # per seed, in ``seeds`` order
    successes: np.ndarray
    normalized: np.ndarray  # NaN where an anchor is missing
    anchor: anchors_mod.Anchor

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def complete(self) -> bool:
        return self.n_final == self.n

    def stat(self, metric: str) -> tuple[float, float, int]:
        values = {"return": self.returns, "success": self.successes,
                  "normalized": self.normalized}[metric]
        return mean_std(values)


def summarize(records: Sequence[Mapping[str, Any]],
              anchor_records: Sequence[Mapping[str, Any]] | None = None) -> list[Summary]:
    """One ``Summary`` per (protocol, env, agent), sorted by protocol, env order, agent.

    ``anchor_records`` (default: ``records``) are where record-based random anchors come from.
    """
    anchor_records = records if anchor_records is None else anchor_records
    cache: dict[tuple[str, str], anchors_mod.Anchor] = {}
    out = []
    for (protocol, env_id, agent), per_seed in final_records(records).items():
        if (protocol, env_id) not in cache:
            cache[(protocol, env_id)] = anchors_mod.resolve_anchor(protocol, env_id,
                                                                   anchor_records)
        anchor = cache[(protocol, env_id)]
        seeds = tuple(sorted(per_seed))
        rs = [per_seed[s] for s in seeds]
        returns = np.array([r["return_mean"] for r in rs], dtype=np.float64)
        out.append(Summary(
            protocol=protocol, env_id=env_id, agent=agent, seeds=seeds,
            env_steps=tuple(int(r["env_steps"]) for r in rs),
            warmup_steps=tuple(r.get("warmup_steps") for r in rs),
            n_final=sum(bool(r["final"]) for r in rs),
            returns=returns,
            successes=np.array([r["success_rate"] for r in rs], dtype=np.float64),
            normalized=np.asarray(anchor.normalize(returns), dtype=np.float64),
            anchor=anchor,
        ))
    out.sort(key=lambda s: (s.protocol, anchors_mod.env_sort_key(s.env_id),
                            s.agent in ("random", "scripted"), s.agent))
    return out


def task_scores(summaries: Iterable[Summary], protocol: str, metric: str = "normalized"
                ) -> dict[str, dict[str, np.ndarray]]:
    """agent -> env_id -> per-seed scores (``normalized``, ``return`` or ``success``) for one
    protocol; envs whose normalized scores are missing (anchor n/a) are left out."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for s in summaries:
        if s.protocol != protocol:
            continue
        values = {"normalized": s.normalized, "return": s.returns, "success": s.successes}[metric]
        if not np.all(np.isfinite(values)):
            continue
        out.setdefault(s.agent, {})[s.env_id] = values
    return out


# ----------------------------------------------------------------------------- curves
@dataclasses.dataclass(frozen=True)
class Curve:
    """Mean over seeds of a metric at each evaluation point, with a bootstrap CI band."""

    protocol: str
    env_id: str
    agent: str
    metric: str  # "return" or "success"
    steps: np.ndarray
    n: np.ndarray  # seeds present at each point
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def mean_interval(values: np.ndarray, reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                  confidence: float = CONFIDENCE) -> Interval:
    """Mean over seeds with a percentile bootstrap CI (seeds resampled with replacement)."""
    return bootstrap_interval([np.asarray(values, dtype=np.float64)], _b_mean, reps, seed,
                              confidence)


def learning_curves(records: Iterable[Mapping[str, Any]], metric: str = "return",
                    reps: int = DEFAULT_REPS, seed: int = DEFAULT_SEED,
                    confidence: float = CONFIDENCE) -> list[Curve]:
    """One curve per (protocol, env, agent): metric vs ``env_steps`` (counted steps).

    The band is a bootstrap over seeds: each replicate resamples whole runs (seeds) with
    replacement and averages them at every evaluation point (points a resampled seed lacks are
    skipped; a replicate with none of the seeds at a point is ignored there).
    """
    field = {"return": "return_mean", "success": "success_rate"}[metric]
    grouped: dict[Key, dict[tuple[int, int], float]] = {}
    for r in records:
        key = (r["protocol"], r["env_id"], r["agent"])
        grouped.setdefault(key, {})[(int(r["env_steps"]), int(r["seed"]))] = float(r[field])
    alpha = 100.0 * (1.0 - confidence) / 2.0
    curves = []
    for (protocol, env_id, agent), points in grouped.items():
        steps = sorted({st for st, _ in points})
        seeds = sorted({sd for _, sd in points})
        mat = np.full((len(steps), len(seeds)), np.nan)
        si, di = {st: i for i, st in enumerate(steps)}, {sd: j for j, sd in enumerate(seeds)}
        for (st, sd), v in points.items():
            mat[si[st], di[sd]] = v
        present = np.isfinite(mat)
        vals = np.where(present, mat, 0.0)
        rng = np.random.default_rng(seed)
        boots = []
        for c in _chunks(reps, mat.size):
            idx = rng.integers(0, len(seeds), size=(c, len(seeds)))
            tot = vals[:, idx].sum(axis=2)  # (P, c)
            cnt = present[:, idx].sum(axis=2)
            with np.errstate(invalid="ignore", divide="ignore"):
                boots.append(tot / cnt)
        boot = np.concatenate(boots, axis=1)  # (P, reps), NaN where no seed was drawn
        lo, hi = np.percentile(boot, [alpha, 100.0 - alpha], axis=1)
        gaps = np.isnan(boot).any(axis=1)  # only points some seeds lack (nanpercentile is slow)
        if gaps.any():
            lo[gaps], hi[gaps] = np.nanpercentile(boot[gaps], [alpha, 100.0 - alpha], axis=1)
        n = present.sum(axis=1)
        mean = vals.sum(axis=1) / n
        curves.append(Curve(protocol, env_id, agent, metric, np.array(steps, dtype=np.int64),
                            n, mean, lo, hi))
    curves.sort(key=lambda c: (c.protocol, anchors_mod.env_sort_key(c.env_id), c.agent))
    return curves
