"""Score tables from result records: per (protocol, env, agent) summaries of the final
evaluation over seeds, normalized scores (anchors in ``analysis.anchors``), task scores for the
aggregates of ``analysis.statistics``, and learning curves with bootstrap CIs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pamdp_bench.analysis import anchors as anchors_mod
from pamdp_bench.analysis.statistics import (
    AGGREGATES,
    CONFIDENCE,
    DEFAULT_REPS,
    DEFAULT_SEED,
    Interval,
    bootstrap_interval,
    mean_std,
    replicate_chunks,
)

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
    """Per (protocol, env, agent) and seed: the seed's latest evaluation point (the one with
    ``final=true`` where two share it).

    A run first given a shorter ``--budget`` and then extended wrote ``final=true`` at the short
    budget and non-final points after it: the row shows the newest point, counted as not final
    (``Summary.n_final``) until the extension reaches its own final point."""
    by_seed: dict[Key, dict[int, list[Mapping[str, Any]]]] = {}
    for r in records:
        key = (r["protocol"], r["env_id"], r["agent"])
        by_seed.setdefault(key, {}).setdefault(r["seed"], []).append(r)
    out: dict[Key, dict[int, Mapping[str, Any]]] = {}
    for key, seeds in by_seed.items():
        out[key] = {}
        for seed, rs in sorted(seeds.items()):
            out[key][seed] = max(rs, key=lambda r: (r["env_steps"], bool(r["final"])))
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


def _records_cap(records: Iterable[Mapping[str, Any]], protocol: str, env_id: str,
                 agent: str) -> int | None:
    """The evaluation cap a group's records were measured at, as they state it. Only records
    written before records stated it fall back to the protocol file (the agent's own cap, if
    it has one there), which may have changed since they were made."""
    caps = {r["eval_episode_cap"] for r in records if "eval_episode_cap" in r}
    if len(caps) > 1:
        raise ValueError(f"{protocol}/{env_id}/{agent}: final records measured at different "
                         f"evaluation caps {sorted(caps)}")
    return caps.pop() if caps else anchors_mod.eval_cap(protocol, env_id, agent)


def summarize(records: Sequence[Mapping[str, Any]],
              anchor_records: Sequence[Mapping[str, Any]] | None = None) -> list[Summary]:
    """One ``Summary`` per (protocol, env, agent), sorted by protocol, env order, agent.

    ``anchor_records`` (default: ``records``) are where record-based random anchors come from.
    """
    anchor_records = records if anchor_records is None else anchor_records
    cache: dict[tuple[str, str, int | None], anchors_mod.Anchor] = {}
    out = []
    for (protocol, env_id, agent), per_seed in final_records(records).items():
        cap = _records_cap(per_seed.values(), protocol, env_id, agent)
        if (protocol, env_id, cap) not in cache:
            cache[(protocol, env_id, cap)] = anchors_mod.resolve_anchor(
                protocol, env_id, anchor_records, cap=cap, agent=agent)
        anchor = cache[(protocol, env_id, cap)]
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
    return bootstrap_interval([np.asarray(values, dtype=np.float64)], AGGREGATES["mean"], reps,
                              seed, confidence)


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
        for c in replicate_chunks(reps, mat.size):
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
