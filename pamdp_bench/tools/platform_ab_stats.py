"""Platform A/B statistics: the learning curves of the two sides compared over seeds.

Pure numpy, so it runs (and is tested) without torch, gym or the originals' checkouts: a
two-sided permutation test over seeds (``permutation_p``) and the Markdown summary of ``learn``
outputs (``summarize``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from pamdp_bench.analysis.statistics import format_mean_std

#: Above this many splits of the pooled seeds, ``permutation_p`` samples splits instead.
EXACT_SPLITS_MAX = 200_000


def permutation_p(a: Sequence[float], b: Sequence[float], seed: int = 0) -> float:
    """Two-sided permutation p-value of mean(a) - mean(b): exact over all splits of the pooled
    values while there are at most ``EXACT_SPLITS_MAX`` (5 + 5 seeds give 252, 10 + 10
    184,756); beyond, ``EXACT_SPLITS_MAX`` random splits (seeded) and (hits + 1) / (draws + 1).
    Seeds are few, so no normal approximation."""
    from itertools import combinations

    pooled = np.asarray(list(a) + list(b), np.float64)
    n, observed = len(a), abs(float(np.mean(a) - np.mean(b)))
    total, size = pooled.sum(), len(pooled)

    def diffs(sums: np.ndarray) -> np.ndarray:
        return np.abs(sums / n - (total - sums) / (size - n))

    if math.comb(size, n) <= EXACT_SPLITS_MAX:
        sums = np.array([pooled[list(idx)].sum() for idx in combinations(range(size), n)])
        return float(np.mean(diffs(sums) >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(EXACT_SPLITS_MAX // 10_000):
        draws = rng.permuted(np.broadcast_to(pooled, (10_000, size)), axis=1)
        hits += int(np.sum(diffs(draws[:, :n].sum(1)) >= observed - 1e-12))
    return (hits + 1) / (EXACT_SPLITS_MAX + 1)


#: A greedy return at or below this is the agent still stopping at the first gap (~0.37-0.41).
FIRST_GAP_RETURN = 0.45


def summarize(rows: list[dict[str, Any]], noise: bool = True,
              late_from: int | None = None) -> str:
    """Markdown: greedy return per side at each evaluation point (mean ± std over the seeds
    that reached it, and their values), the mean over the points every seed reached (area
    under the curve), with ``late_from`` also the mean over those points from ``late_from`` on
    (a pre-set window), permutation p-values, and how many seeds per side are still at the
    first gap at the last common point."""
    rows = [r for r in rows if r["noise"] == noise]
    sides = ("original", "ours")
    by: dict[str, dict[int, dict[int, float]]] = {s: {} for s in sides}
    for r in rows:
        point = round(r["env_steps"] / r["eval_every"]) * r["eval_every"]
        by[r["side"]].setdefault(r["seed"], {})[point] = r["greedy_return"]
    points = sorted({p for s in sides for d in by[s].values() for p in d})
    common = [p for p in points if all(p in d for s in sides for d in by[s].values())]
    lines = [
        "| env steps | original (mean ± std) | ours (mean ± std) | n | p | original seeds "
        "| ours seeds |",
        "|---|---|---|---|---|---|---|",
    ]

    def row(label: str, a: list[float], b: list[float]) -> str:
        return (f"| {label} | {format_mean_std(a)} | {format_mean_std(b)} | {len(a)} / {len(b)} | "
                f"{permutation_p(a, b):.2f} | " + " ".join(f"{v:.2f}" for v in a) + " | "
                + " ".join(f"{v:.2f}" for v in b) + " |")

    for p in points:
        a = [d[p] for _, d in sorted(by["original"].items()) if p in d]
        b = [d[p] for _, d in sorted(by["ours"].items()) if p in d]
        if a and b:
            lines.append(row(f"{p:,}", a, b))
    if common:
        a, b = ([float(np.mean([d[p] for p in common])) for _, d in sorted(by[s].items())]
                for s in sides)
        lines.append(row(f"mean over {common[0]:,}-{common[-1]:,}", a, b))
        late = [p for p in common if late_from is not None and p >= late_from]
        if late:
            a, b = ([float(np.mean([d[p] for p in late])) for _, d in sorted(by[s].items())]
                    for s in sides)
            lines.append(row(f"mean over {late[0]:,}-{late[-1]:,}", a, b))
        stuck = {s: sum(d[common[-1]] <= FIRST_GAP_RETURN for d in by[s].values())
                 for s in sides}
        lines.append(f"\nAt {common[-1]:,} env steps, seeds still at the first gap (greedy "
                     f"return <= {FIRST_GAP_RETURN}): original {stuck['original']} of "
                     f"{len(by['original'])}, ours {stuck['ours']} of {len(by['ours'])}.")
    head = (f"Seeds: original {sorted(by['original'])}, ours {sorted(by['ours'])}; noise "
            f"{'on' if noise else 'off'}. Each point pools the seeds that reached it (n = "
            "original / ours); p = two-sided permutation test of the difference of the "
            "means over seeds (exact up to 200,000 splits, else 200,000 random ones; "
            "uncorrected for the number of points).\n\n")
    return head + "\n".join(lines) + "\n"
