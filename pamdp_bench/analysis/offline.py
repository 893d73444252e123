"""The offline table: every agent x dataset, return, success and the normalised score.

Records of offline protocols carry a ``dataset``; a task is one dataset. The normalised score
of a run is ``100 (R - R_random) / (R_expert - R_random)`` (spec §6.3) with the env's anchors
from the datasets manifest (``results/datasets/manifest.json``: ``R_random`` the random anchor
of envs §8.1, ``R_expert`` the mean episode return of the env's ``expert`` dataset), so 100 is
the expert data's level and 0 the random policy's. Statistics are the online tables' own
(``analysis.statistics``): per-dataset mean ± std over seeds, and across datasets IQM, mean and
median with stratified bootstrap CIs and the probability of improvement, each computed on the
datasets every compared agent has; the same per dataset kind (where an agent wins).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pamdp_bench.analysis import statistics as St

KIND_ORDER = ("expert", "medium", "medium-replay", "random")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One agent on one dataset: the final records' numbers over seeds."""

    protocol: str
    dataset: str
    env_id: str
    kind: str
    agent: str
    grad_steps: int
    returns: np.ndarray
    success: np.ndarray
    normalized: np.ndarray


def _kind(dataset: str) -> str:
    from pamdp_bench.datasets.catalog import parse_id

    return parse_id(dataset).kind


def anchors(manifest: Mapping[str, Any], env_id: str) -> tuple[float, float]:
    """``(R_random, R_expert)`` of ``env_id`` from the datasets manifest."""
    a = manifest.get("anchors", {}).get(env_id)
    if not a or a.get("ref_min_score") is None or a.get("ref_max_score") is None:
        raise ValueError(f"the datasets manifest has no anchors for {env_id} (build its expert "
                         "dataset first: `pamdp-bench datasets build --env={env_id} "
                         "--kind=expert`)")
    return float(a["ref_min_score"]), float(a["ref_max_score"])


def normalized(ret: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return 100.0 * (np.asarray(ret, np.float64) - lo) / (hi - lo)


def cells(records: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any]) -> list[Cell]:
    """Final records grouped by (protocol, dataset, agent): the latest final record per seed."""
    final: dict[tuple[str, str, str], dict[int, Mapping[str, Any]]] = {}
    for r in records:
        if r.get("final") and r.get("dataset"):
            per = final.setdefault((r["protocol"], r["dataset"], r["agent"]), {})
            old = per.get(r["seed"])
            if old is None or r["env_steps"] >= old["env_steps"]:
                per[r["seed"]] = r
    out = []
    for (protocol, dataset, agent), per in sorted(final.items()):
        rs = [per[s] for s in sorted(per)]
        env_id = rs[0]["env_id"]
        lo, hi = anchors(manifest, env_id)
        ret = np.asarray([r["return_mean"] for r in rs], np.float64)
        out.append(Cell(protocol, dataset, env_id, _kind(dataset), agent,
                        max(r["env_steps"] for r in rs), ret,
                        np.asarray([r["success_rate"] for r in rs], np.float64),
                        normalized(ret, lo, hi)))
    return out


def _agents(cs: Sequence[Cell]) -> list[str]:
    """Agent order: C-LAP and its variants, then the rest alphabetically."""
    names = sorted({c.agent for c in cs})
    return sorted(names, key=lambda a: (not a.startswith("clap"), a != "clap", a))


def _dataset_order(cs: Sequence[Cell]) -> list[str]:
    from pamdp_bench.analysis.anchors import env_sort_key

    ds = {c.dataset: c for c in cs}
    return sorted(ds, key=lambda d: (env_sort_key(ds[d].env_id), KIND_ORDER.index(ds[d].kind)
                                     if ds[d].kind in KIND_ORDER else 99, d))


def scores_markdown(cs: Sequence[Cell], manifest: Mapping[str, Any]) -> str:
    agents = _agents(cs)
    by = {(c.dataset, c.agent): c for c in cs}
    steps = sorted({c.grad_steps for c in cs})
    seeds = sorted({c.returns.size for c in cs})
    lines = [
        f"# Offline table ({', '.join(sorted({c.protocol for c in cs}))})",
        "",
        f"Final evaluation after {'/'.join(map(str, steps))} gradient steps, "
        f"{'/'.join(map(str, seeds))} seeds per cell. Cells: normalised score "
        "100 (R − R_random) / (R_expert − R_random), mean ± std over seeds; below it the "
        "return and the success rate. R_random: envs §8.1; R_expert: the mean episode return of "
        "the env's `expert` dataset (datasets manifest).",
        "",
        "| dataset | R_random / R_expert | " + " | ".join(f"`{a}`" for a in agents) + " |",
        "|---|---|" + "---|" * len(agents),
    ]
    for d in _dataset_order(cs):
        env_id = next(c.env_id for c in cs if c.dataset == d)
        lo, hi = anchors(manifest, env_id)
        row = [f"`{d}`", f"{lo:.3g} / {hi:.3g}"]
        for a in agents:
            c = by.get((d, a))
            if c is None:
                row.append("—")
                continue
            row.append(f"**{St.format_mean_std(c.normalized, 1)}**<br>"
                       f"R {St.format_mean_std(c.returns, 3)}, "
                       f"succ {np.mean(c.success):.2f} (n={c.returns.size})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class Aggregate:
    scope: str  # "all" or a dataset kind
    agent: str
    datasets: tuple[str, ...]
    intervals: dict[str, St.Interval]


def aggregates(cs: Sequence[Cell], reps: int, seed: int
               ) -> tuple[list[Aggregate], list[tuple[str, str, str, tuple[str, ...],
                                                       St.Interval]]]:
    """IQM / mean / median (CIs) per agent over the datasets all agents share, overall and per
    kind; P(X > Y) for every pair of agents on those datasets."""
    agents = _agents(cs)
    by = {(c.dataset, c.agent): c for c in cs}
    aggs, imps = [], []
    scopes = ["all"] + [k for k in KIND_ORDER if any(c.kind == k for c in cs)]
    for scope in scopes:
        shared = [d for d in _dataset_order(cs)
                  if all((d, a) in by for a in agents)
                  and (scope == "all" or by[(d, agents[0])].kind == scope)]
        if not shared:
            continue
        for a in agents:
            aggs.append(Aggregate(scope, a, tuple(shared), St.aggregate_intervals(
                [by[(d, a)].normalized for d in shared], reps, seed)))
        if scope != "all":
            continue
        for i, x in enumerate(agents):
            for y in agents[i + 1:]:
                imps.append((scope, x, y, tuple(shared), St.probability_of_improvement_interval(
                    [by[(d, x)].normalized for d in shared],
                    [by[(d, y)].normalized for d in shared], reps, seed)))
    return aggs, imps


def aggregates_markdown(aggs: Sequence[Aggregate], imps: Sequence[Any], reps: int,
                        seed: int) -> str:
    lines = ["## Aggregates of the normalised score",
             "",
             f"95% stratified bootstrap CIs ({reps} replicates, seed {seed}), over the datasets "
             "every agent has (per scope).",
             "",
             "| scope | datasets | agent | IQM | mean | median |",
             "|---|---|---|---|---|---|"]
    if not aggs:
        lines.append("| — | 0 | no dataset has runs of every agent | | | |")
    for a in aggs:
        iv = a.intervals
        lines.append(f"| {a.scope} | {len(a.datasets)} | `{a.agent}` | {iv['iqm'].fmt(1)} | "
                     f"{iv['mean'].fmt(1)} | {iv['median'].fmt(1)} |")
    if imps:
        lines += ["", "## Probability of improvement P(X > Y) (normalised score)", "",
                  "| X | Y | datasets | P(X > Y) [95% CI] |", "|---|---|---|---|"]
        for _, x, y, ds, iv in imps:
            lines.append(f"| `{x}` | `{y}` | {len(ds)} | {iv.fmt(2)} |")
    return "\n".join(lines) + "\n"


def curves(records: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any]
           ) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(dataset, agent) -> (gradient steps, mean normalised score, std) over seeds, std with
    ddof=1 as every other table (NaN for one seed)."""
    pts: dict[tuple[str, str], dict[int, dict[int, float]]] = {}
    for r in records:
        if not r.get("dataset"):
            continue
        lo, hi = anchors(manifest, r["env_id"])
        pts.setdefault((r["dataset"], r["agent"]), {}).setdefault(r["env_steps"], {})[
            r["seed"]] = float(normalized(np.asarray(r["return_mean"]), lo, hi))
    out = {}
    for key, by_step in pts.items():
        steps = np.asarray(sorted(by_step))
        stats = [St.mean_std(by_step[s].values()) for s in steps]
        out[key] = (steps, np.asarray([m for m, _, _ in stats]),
                    np.asarray([sd for _, sd, _ in stats]))
    return out


def plot_curves(cv: Mapping[tuple[str, str], Any], datasets: Sequence[str],
                agents: Sequence[str], path: str) -> str:
    from pamdp_bench.analysis.tables import _colors, _figure, plot_label

    ncols = 4
    nrows = (len(datasets) + ncols - 1) // ncols
    fig, axes = _figure(nrows, ncols, (3.2 * ncols, 2.5 * nrows))
    colors = _colors(agents)
    for i, d in enumerate(datasets):
        ax = axes[i // ncols][i % ncols]
        for a in agents:
            if (d, a) not in cv:
                continue
            steps, mean, std = cv[(d, a)]
            ax.plot(steps, mean, color=colors[a], label=plot_label(a), marker="o", ms=3)
            ax.fill_between(steps, mean - std, mean + std, color=colors[a], alpha=0.15)
        ax.axhline(100, color="grey", lw=0.8, ls="--")
        ax.axhline(0, color="grey", lw=0.8, ls=":")
        ax.set_title(d.split("/", 1)[1], fontsize=8)
        ax.tick_params(labelsize=7)
    for j in range(len(datasets), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(agents), 4),
               fontsize=8)
    fig.supxlabel("gradient steps", fontsize=9)
    fig.supylabel("normalised score (mean ± std over seeds)", fontsize=9)
    fig.savefig(path)
    return path


def build_offline_tables(records: Sequence[Mapping[str, Any]], manifest: Mapping[str, Any],
                         out_dir: str, reps: int = St.DEFAULT_REPS, seed: int = St.DEFAULT_SEED,
                         plots: bool = True) -> tuple[str, list[str]]:
    """Write ``scores.md``, ``scores.csv``, ``aggregates.md``, ``curves.csv`` (and
    ``curves.png``) under ``out_dir``; return the markdown and the files written."""
    from pamdp_bench.analysis.tables import _write_csv

    cs = cells(records, manifest)
    if not cs:
        raise ValueError("no final records of an offline protocol (records with a dataset)")
    os.makedirs(out_dir, exist_ok=True)
    p = lambda name: os.path.join(out_dir, name)  # noqa: E731
    md = scores_markdown(cs, manifest)
    aggs, imps = aggregates(cs, reps, seed)
    agg_md = aggregates_markdown(aggs, imps, reps, seed)
    files = []
    for name, text in (("scores.md", md), ("aggregates.md", agg_md)):
        with open(p(name), "w") as f:
            f.write(text)
        files.append(p(name))
    files.append(_write_csv(
        p("scores.csv"),
        ["protocol", "dataset", "env_id", "kind", "agent", "grad_steps", "seeds",
         "normalized_mean", "normalized_std", "return_mean", "return_std", "success_mean"],
        ({"protocol": c.protocol, "dataset": c.dataset, "env_id": c.env_id, "kind": c.kind,
          "agent": c.agent, "grad_steps": c.grad_steps, "seeds": c.returns.size,
          "normalized_mean": c.normalized.mean(),
          "normalized_std": c.normalized.std(ddof=1) if c.returns.size > 1 else 0.0,
          "return_mean": c.returns.mean(),
          "return_std": c.returns.std(ddof=1) if c.returns.size > 1 else 0.0,
          "success_mean": c.success.mean()} for c in cs)))
    cv = curves(records, manifest)
    files.append(_write_csv(
        p("curves.csv"), ["dataset", "agent", "grad_steps", "normalized_mean", "normalized_std"],
        ({"dataset": d, "agent": a, "grad_steps": int(s[i]), "normalized_mean": m[i],
          "normalized_std": sd[i]} for (d, a), (s, m, sd) in sorted(cv.items())
         for i in range(s.size))))
    if plots:
        files.append(plot_curves(cv, _dataset_order(cs), _agents(cs), p("curves.png")))
    return md + "\n" + agg_md, files
