"""Score tables from result records: markdown + CSV + PNG (``pamdp-bench table``).

``build_tables(records, out_dir)`` writes, under ``out_dir``:

* ``scores.md`` / ``scores.csv``: per (protocol, env, agent) the final evaluation over seeds,
  mean ± std (ddof=1) with n, for return, success rate and normalized return, with the
  published numbers (algorithms.md §9) beside ours, marked where they belong to another
  protocol than the records.
* ``aggregates.md`` / ``aggregates.csv`` / ``improvement.csv``: mean, median, IQM and
  optimality gap across envs per agent with stratified bootstrap 95% CIs (normalized return and
  success rate), and the probability of improvement between agents.
* ``curves.csv``, ``curves_<protocol>_<env>.png``: sample-efficiency curves (return and success
  rate vs counted env steps, mean and bootstrap CI band over seeds, one line per agent).
* ``profiles.csv``, ``profiles_<protocol>.png``: performance profiles of normalized return.
* ``aggregates_<protocol>.png``: interval plot of the four aggregates.
* ``ANCHORS.md``: the normalization anchors and published numbers (``anchors.anchors_markdown``).

``table_cli(paths, out_dir, protocol)`` is the command-line entry: it loads result files or
directories (a malformed file gives an error naming file:line and exit code 2), writes the files
and prints the markdown.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pamdp_bench.analysis import anchors as A
from pamdp_bench.analysis import scoring as S
from pamdp_bench.analysis import statistics as St
from pamdp_bench.harness.records import ResultFileError, load_records, result_files

REFERENCE_AGENTS = ("random", "scripted")
METRIC_KINDS = (("normalized", "normalized return"), ("success", "success rate"))


@dataclasses.dataclass
class TableOutput:
    markdown: str  # scores.md + aggregates.md, as printed by the CLI
    files: list[str]


# ----------------------------------------------------------------------------- formatting
def _decimals(x: float) -> int:
    ax = abs(x)
    return 1 if ax >= 100 else 2 if ax >= 10 else 3


def _num(x: float | None, decimals: int | None = None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.{_decimals(x) if decimals is None else decimals}f}"


def _pm(stat: tuple[float, float, int]) -> str:
    """mean ± std with the mean's decimals for both (std "—" for a single seed)."""
    mean, std, n = stat
    if n == 0 or not math.isfinite(mean):
        return "n/a"
    d = _decimals(mean)
    return f"{_num(mean, d)} ± {_num(std, d)}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _headline(protocol: str, env_id: str) -> str:
    return str(A.protocol_field(protocol, env_id, "headline", "return"))


def _published_cell(s: S.Summary) -> tuple[str, list[A.Published]]:
    pubs = A.published_for(s.env_id, s.agent)
    parts = []
    for p in pubs:
        other = p.protocol != s.protocol
        where = p.protocol if p.protocol else "own protocol" if p.agent == "mpdqn" else "unknown"
        parts.append(f"{p.label()} ({p.short}; {where}){' †' if other else ''}")
    return "; ".join(parts) if parts else "", pubs


def _steps_cell(s: S.Summary) -> str:
    lo, hi = min(s.env_steps), max(s.env_steps)
    text = f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"
    warm = [w for w in s.warmup_steps if w]
    if warm:
        text += f" (+{max(warm):,} warm-up)" if min(warm) == max(warm) else \
            f" (+{min(warm):,}–{max(warm):,} warm-up)"
    if not s.complete:
        text += f" ({s.n - s.n_final} not final)"
    return text


# ----------------------------------------------------------------------------- scores
def scores_markdown(summaries: Sequence[S.Summary], n_records: int, sources: Sequence[str]
                    ) -> str:
    lines = [
        "# Scores",
        "",
        f"From {n_records} result records in {len(sources)} file(s). Per (env, agent): the latest "
        "evaluation of each seed (\"N not final\": N seeds' latest point is not their budget's "
        "`final=true` record, e.g. a run still being extended), then mean ± std over seeds "
        "(std with ddof=1), n = seeds. Env steps = steps counted toward the budget (uncounted "
        "warm-up, e.g. HyAR's, shown as +N). Return = undiscounted "
        "evaluation episode return; success = fraction of evaluation episodes with a success "
        "(algorithms.md §2.1). Both are always shown, whatever the protocol's headline metric. "
        "Records of one (env, agent) with different config hashes (e.g. the agent's defaults "
        "changed between runs) are never pooled: each config is its own row, `agent@HASH`.",
        "",
        f"Normalized return: {A.NORMALIZATION}. {A.UPPER_RULE}. {A.RANDOM_RULE}. "
        "Anchor values: `ANCHORS.md`.",
        "",
        "Published: `return` = raw return, `succ` = success rate, with the source and the "
        "protocol the number belongs to; **†** = published under another protocol than these "
        "records, so not directly comparable.",
    ]
    for protocol in sorted({s.protocol for s in summaries}):
        rows = [s for s in summaries if s.protocol == protocol]
        proto = A.shipped_protocol(protocol)
        lines += ["", f"## Protocol `{protocol}`", ""]
        if proto is not None:
            by_head: dict[str, list[str]] = {}
            for env_id in sorted({s.env_id for s in rows}, key=A.env_sort_key):
                by_head.setdefault(_headline(protocol, env_id), []).append(A.display_name(env_id))
            heads = (next(iter(by_head)) if len(by_head) == 1 else
                     "; ".join(f"{h} ({', '.join(envs)})" for h, envs in by_head.items()))
            lines.append(f"{proto.description}. Headline metric: {heads}.")
        else:
            lines.append("(no protocol file `experiments/" + protocol + ".toml`: caps assumed to "
                         "be the env defaults)")
        lines += [
            "",
            "| env | agent | n | env steps | return | success rate | normalized return "
            "| published |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in rows:
            pub, _ = _published_cell(s)
            norm = _pm(s.stat("normalized")) if s.anchor.ok else "n/a (anchor)"
            lines.append(
                f"| {A.display_name(s.env_id)} | `{s.agent}` | {s.n} | {_steps_cell(s)} | "
                f"{_pm(s.stat('return'))} | {_pm(s.stat('success'))} | {norm} | {pub} |"
            )
        missing = sorted({(s.env_id, s.anchor.random_source) for s in rows if not s.anchor.ok},
                         key=lambda t: A.env_sort_key(t[0]))
        for env_id, why in missing:
            lines.append(f"\nn/a (anchor) for {A.display_name(env_id)}: {why}.")
        notes = sorted({(s.env_id, s.anchor.note) for s in rows if s.anchor.note},
                       key=lambda t: A.env_sort_key(t[0]))
        for env_id, note in notes:
            lines.append(f"\nNote ({A.display_name(env_id)}): {note}.")
    return "\n".join(lines) + "\n"


SCORE_COLUMNS = [
    "protocol", "env_id", "agent", "n", "seeds", "env_steps_min", "env_steps_max",
    "warmup_steps_max", "all_final",
    "return_mean", "return_std", "success_mean", "success_std", "normalized_mean",
    "normalized_std", "anchor_random", "anchor_upper", "anchor_random_source",
    "anchor_upper_source", "published_metric", "published_mean", "published_std",
    "published_protocol", "published_same_protocol", "published_source", "published_all",
]


def scores_rows(summaries: Sequence[S.Summary]) -> list[dict[str, Any]]:
    rows = []
    for s in summaries:
        pub_text, pubs = _published_cell(s)
        # The primary published number: one of the records' protocol if any, else the first.
        primary = next((p for p in pubs if p.protocol == s.protocol), pubs[0] if pubs else None)
        r_mean, r_std, n = s.stat("return")
        p_mean, p_std, _ = s.stat("success")
        z_mean, z_std, _ = s.stat("normalized")
        rows.append({
            "protocol": s.protocol, "env_id": s.env_id, "agent": s.agent, "n": n,
            "seeds": " ".join(map(str, s.seeds)),
            "env_steps_min": min(s.env_steps), "env_steps_max": max(s.env_steps),
            "warmup_steps_max": max((w for w in s.warmup_steps if w is not None), default=""),
            "all_final": s.complete,
            "return_mean": r_mean, "return_std": r_std,
            "success_mean": p_mean, "success_std": p_std,
            "normalized_mean": z_mean, "normalized_std": z_std,
            "anchor_random": s.anchor.random, "anchor_upper": s.anchor.upper,
            "anchor_random_source": s.anchor.random_source,
            "anchor_upper_source": s.anchor.upper_source,
            "published_metric": primary.metric if primary else "",
            "published_mean": primary.mean if primary else "",
            "published_std": primary.std if primary and primary.std is not None else "",
            "published_protocol": (primary.protocol or "other") if primary else "",
            "published_same_protocol": (primary.protocol == s.protocol) if primary else "",
            "published_source": primary.source if primary else "",
            "published_all": pub_text,
        })
    return rows


def _write_csv(path: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return path


# ----------------------------------------------------------------------------- aggregates
@dataclasses.dataclass
class AggregateResult:
    protocol: str
    kind: str  # "normalized" or "success"
    agent: str
    envs: tuple[str, ...]
    runs: int
    intervals: dict[str, St.Interval]


@dataclasses.dataclass
class ImprovementResult:
    protocol: str
    kind: str
    x: str
    y: str
    envs: tuple[str, ...]
    interval: St.Interval


def _agent_order(agents: Iterable[str]) -> list[str]:
    return sorted(agents, key=lambda a: (a in REFERENCE_AGENTS, a))


def compute_aggregates(summaries: Sequence[S.Summary], reps: int, seed: int
                       ) -> tuple[list[AggregateResult], list[ImprovementResult]]:
    aggs: list[AggregateResult] = []
    imps: list[ImprovementResult] = []
    for protocol in sorted({s.protocol for s in summaries}):
        for kind, _ in METRIC_KINDS:
            scores = S.task_scores(summaries, protocol, kind)
            agents = _agent_order(scores)
            for agent in agents:
                envs = tuple(sorted(scores[agent], key=A.env_sort_key))
                tasks = [scores[agent][e] for e in envs]
                aggs.append(AggregateResult(protocol, kind, agent, envs,
                                            sum(t.size for t in tasks),
                                            St.aggregate_intervals(tasks, reps, seed)))
            for x in agents:
                for y in agents:
                    if x == y:
                        continue
                    envs = tuple(sorted(set(scores[x]) & set(scores[y]), key=A.env_sort_key))
                    if not envs:
                        continue
                    iv = St.probability_of_improvement_interval(
                        [scores[x][e] for e in envs], [scores[y][e] for e in envs], reps, seed)
                    imps.append(ImprovementResult(protocol, kind, x, y, envs, iv))
    return aggs, imps


def _without_normalized(summaries: Sequence[S.Summary], protocol: str) -> list[str]:
    """Envs of `protocol` with a row whose anchor is n/a; when other rows on that env do have
    one (an agent evaluated at the anchor's cap), the agents without it are named."""
    agents: dict[str, set[str]] = defaultdict(set)
    lacking: dict[str, set[str]] = defaultdict(set)
    for s in summaries:
        if s.protocol == protocol:
            agents[s.env_id].add(s.agent)
            if not s.anchor.ok:
                lacking[s.env_id].add(s.agent)
    out = []
    for env in sorted(lacking, key=A.env_sort_key):
        name = A.display_name(env)
        if lacking[env] != agents[env]:
            name += " (" + ", ".join(f"`{a}`" for a in _agent_order(lacking[env])) + ")"
        out.append(name)
    return out


def aggregates_markdown(summaries: Sequence[S.Summary], aggs: Sequence[AggregateResult],
                        imps: Sequence[ImprovementResult], reps: int, seed: int) -> str:
    lines = [
        "# Aggregate scores across envs",
        "",
        f"Point estimate [95% CI]. CIs: stratified bootstrap, {reps} replicates, seed {seed}: "
        "each replicate resamples the runs (seeds) of every env independently, with replacement; "
        "percentile intervals. Mean / median = over envs of the per-env mean; IQM = 25%-trimmed "
        "mean of all runs of all envs pooled (`scipy.stats.trim_mean(x, 0.25)`); optimality gap "
        "= mean shortfall below 1 (lower is better). P(X > Y) = per env the probability that a "
        "run of X beats a run of Y (ties 1/2), averaged over the envs both have.",
        "",
        f"Normalized return: {A.NORMALIZATION}. {A.UPPER_RULE}. {A.RANDOM_RULE}. "
        "Values: `ANCHORS.md`. Success rate is used as is (already in [0, 1]; random ≈ 0).",
    ]
    for protocol in sorted({a.protocol for a in aggs}):
        all_envs = sorted({s.env_id for s in summaries if s.protocol == protocol},
                          key=A.env_sort_key)
        lines += ["", f"## Protocol `{protocol}`"]
        for kind, label in METRIC_KINDS:
            rows = [a for a in aggs if a.protocol == protocol and a.kind == kind]
            if not rows:
                continue
            lines += ["", f"### {label.capitalize()}", "",
                      "| agent | envs | runs | " + " | ".join(St.AGGREGATE_LABELS.values()) + " |",
                      "|---|---|---|" + "---|" * len(St.AGGREGATE_LABELS)]
            partial = False
            for a in rows:
                mark = ""
                if set(a.envs) != set(all_envs):
                    mark, partial = "*", True
                lines.append(f"| `{a.agent}`{mark} | {len(a.envs)} | {a.runs} | "
                             + " | ".join(a.intervals[m].fmt() for m in St.AGGREGATES) + " |")
            if partial:
                lines.append("")
                for a in rows:
                    if set(a.envs) != set(all_envs):
                        miss = [A.display_name(e) for e in all_envs if e not in a.envs]
                        lines.append(f"\\* `{a.agent}`: not on {', '.join(miss)} (no records, or "
                                     "no normalization anchor); its aggregates are over the "
                                     "other envs and not comparable to full rows.")
            if kind == "normalized":
                without = _without_normalized(summaries, protocol)
                if without:
                    lines.append("")
                    lines.append("Envs without normalized scores (anchor n/a, see `ANCHORS.md`): "
                                 + ", ".join(without) + ".")
            pi = [i for i in imps if i.protocol == protocol and i.kind == kind]
            agents = _agent_order({a.agent for a in rows})
            if pi and len(agents) > 1:
                lines += ["", f"Probability of improvement P(row > column), {label}:", "",
                          "| | " + " | ".join(f"`{a}`" for a in agents) + " |",
                          "|---|" + "---|" * len(agents)]
                table = {(i.x, i.y): i for i in pi}
                for x in agents:
                    cells = []
                    for y in agents:
                        i = table.get((x, y))
                        if i is None:
                            cells.append("—")
                            continue
                        k = len(i.envs)
                        cells.append(f"{i.interval.fmt(2)} ({k} env{'s' * (k != 1)})")
                    lines.append(f"| `{x}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figures
def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (6.0, 4.0)) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=size, dpi=110, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _colors(agents: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(agents) <= 10 else "tab20"]
    return {a: cmap(i % cmap.N) for i, a in enumerate(_agent_order(agents))}


#: Longest agent name shown as it is in a plot; longer specs get ``plot_label``'s short form.
LABEL_MAX = 28
#: More agents than this in one env's curves: small multiples (one panel per agent).
SMALL_MULTIPLES_OVER = 6


def plot_label(agent: str) -> str:
    """An agent's name in plots: as it is up to ``LABEL_MAX`` characters, else its base name
    with the first 8 hex digits of the spec's sha256 (``paddpg[…]#1a2b3c4d``); ``labels.csv``
    beside the plots maps every short label back to the full spec."""
    if len(agent) <= LABEL_MAX:
        return agent
    import hashlib

    base, bracket, _ = agent.partition("[")
    digest = hashlib.sha256(agent.encode()).hexdigest()[:8]
    return f"{base[:LABEL_MAX - 13]}{'[…]' if bracket else '…'}#{digest}"


def _curve_lines(ax: Any, curves: Sequence[S.Curve], colors: Mapping[str, Any],
                 label: str, highlight: str | None = None) -> None:
    """Curves with their CI bands on ``ax`` (``highlight``: that agent in colour, the others
    thin and grey behind it)."""
    metric = "return" if label == "return" else "success"
    for c in curves:
        col = colors[c.agent]
        if highlight is not None and c.agent != highlight:
            ax.plot(c.steps, c.mean, color="0.8", linewidth=0.8, zorder=1)
            continue
        style = "--" if c.agent in REFERENCE_AGENTS else "-"
        ax.plot(c.steps, c.mean, style, color=col, zorder=3,
                label=f"{plot_label(c.agent)} (n={int(c.n.max())})",
                marker="o" if c.steps.size < 3 else None)
        ax.fill_between(c.steps, c.lo, c.hi, color=col, alpha=0.2, linewidth=0, zorder=2)
        # published number of the same protocol, where there is one in this unit
        for p in A.published_for(c.env_id, c.agent):
            if p.protocol == c.protocol and p.metric == metric:
                ax.axhline(p.mean, color=col, linestyle=":", linewidth=1)
    ax.grid(alpha=0.3)
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(4))  # env steps as 50k, 1.5M: ticks that fit
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: f"{x / 1e6:g}M" if abs(x) >= 1e6 else f"{x / 1e3:g}k" if x else "0"))


def curves_figure(curves_ret: Sequence[S.Curve], curves_succ: Sequence[S.Curve],
                  title: str) -> Any:
    """One env's learning curves: return and success side by side with the legend below the
    axes; with more than ``SMALL_MULTIPLES_OVER`` agents, one small panel per agent and metric
    (the agent in colour over the others in grey)."""
    agents = _agent_order({c.agent for c in curves_ret})
    colors = _colors(agents)
    note = "mean over seeds, 95% bootstrap CI; dotted = published, same protocol"
    if len(agents) <= SMALL_MULTIPLES_OVER:
        fig, axes = _figure(1, 2, (11.0, 4.6))
        for ax, curves, label in ((axes[0, 0], curves_ret, "return"),
                                  (axes[0, 1], curves_succ, "success rate")):
            _curve_lines(ax, curves, colors, label)
            ax.set_xlabel("env steps (counted toward the budget)")
            ax.set_ylabel(label)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize=7,
                   ncol=min(len(labels), 3), frameon=False)
        fig.suptitle(f"{title}  ({note})", fontsize=9)
        return fig
    ncols = 4
    nrows = -(-len(agents) // ncols)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.0 * ncols, 2.3 * 2 * nrows + 0.6), dpi=110, layout="constrained")
    for sub, curves, label in zip(fig.subfigures(2, 1), (curves_ret, curves_succ),
                                  ("return", "success rate"), strict=True):
        axes = sub.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
        for i, ax in enumerate(axes.flat):
            if i >= len(agents):
                ax.set_visible(False)
                continue
            _curve_lines(ax, curves, colors, label, highlight=agents[i])
            n = max((int(c.n.max()) for c in curves if c.agent == agents[i]), default=0)
            ax.set_title(f"{plot_label(agents[i])} (n={n})", fontsize=8)
            ax.tick_params(labelsize=7)
        sub.supylabel(label, fontsize=9)
        sub.supxlabel("env steps (counted toward the budget)", fontsize=8)
    fig.suptitle(f"{title}  ({note}; one panel per agent, the others in grey)", fontsize=9)
    return fig


def plot_curves(curves_ret: Sequence[S.Curve], curves_succ: Sequence[S.Curve], path: str,
                title: str) -> str:
    curves_figure(curves_ret, curves_succ, title).savefig(path)
    return path


def plot_profiles(profiles: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                  taus: np.ndarray, path: str, title: str) -> str:
    colors = _colors(list(profiles))
    fig, axes = _figure(1, 1, (6.5, 4.2))
    ax = axes[0, 0]
    for agent, (point, lo, hi) in profiles.items():
        ax.plot(taus, point, color=colors[agent], label=plot_label(agent))
        ax.fill_between(taus, lo, hi, color=colors[agent], alpha=0.2, linewidth=0)
    ax.set_xlabel("normalized return τ")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=7,
               frameon=False)
    ax.set_title(title, fontsize=9)
    fig.savefig(path)
    return path


def plot_aggregates(rows: Sequence[AggregateResult], path: str, title: str,
                    all_envs: Iterable[str] = ()) -> str:
    agents = [a.agent for a in rows]
    colors = _colors(agents)
    full = set(all_envs)
    labels = [plot_label(a.agent) + ("*" if full and set(a.envs) != full else "") for a in rows]
    fig, axes = _figure(1, len(St.AGGREGATES), (3.0 * len(St.AGGREGATES), 0.5 * len(rows) + 1.6))
    for j, metric in enumerate(St.AGGREGATES):
        ax = axes[0, j]
        for i, a in enumerate(rows):
            iv = a.intervals[metric]
            ax.plot([iv.lo, iv.hi], [i, i], color=colors[a.agent], linewidth=6, alpha=0.5,
                    solid_capstyle="butt")
            ax.plot([iv.point], [i], "|", color="k", markersize=12)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(labels if j == 0 else [])
        ax.set_ylim(len(rows) - 0.3, -0.7)  # first agent on top
        ax.set_title(St.AGGREGATE_LABELS[metric], fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path)
    return path


# ----------------------------------------------------------------------------- driver
TRAIN_METRIC_COLUMNS = ("protocol", "env_id", "agent", "metric", "env_steps", "n", "mean",
                        "std")


def train_metric_rows(records: Sequence[Mapping[str, Any]], names: Sequence[str]
                      ) -> list[dict[str, Any]]:
    """Per (protocol, env, agent, metric, evaluation point): mean and sample std over the seeds
    whose record has that training metric (a numeric one). Every name must occur in some
    record (``ValueError`` naming the missing ones and what the records have)."""
    have = {k for r in records for k in (r.get("train_metrics") or {})}
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(f"no record has training metric(s) {missing}; the records have: "
                         f"{', '.join(sorted(have)) or 'none'}")
    groups: dict[tuple[Any, ...], list[float]] = {}
    for r in records:
        tm = r.get("train_metrics") or {}
        for name in names:
            v = tm.get(name)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                key = (r["protocol"], r["env_id"], r["agent"], name, int(r["env_steps"]))
                groups.setdefault(key, []).append(float(v))
    rows = []
    for (protocol, env_id, agent, name, steps), vals in groups.items():
        x = np.asarray(vals)
        rows.append({"protocol": protocol, "env_id": env_id, "agent": agent, "metric": name,
                     "env_steps": steps, "n": x.size, "mean": float(x.mean()),
                     "std": float(x.std(ddof=1)) if x.size > 1 else float("nan")})
    rows.sort(key=lambda r: (r["protocol"], A.env_sort_key(r["env_id"]), r["agent"],
                             list(names).index(r["metric"]), r["env_steps"]))
    return rows


def train_metrics_markdown(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> str:
    """One table per (protocol, env, agent): evaluation points down, the metrics across
    (mean ± sample std over seeds, n = seeds that report it)."""
    out = ["# Training metrics", "",
           "The last update's values before each evaluation, as each record's `train_metrics` "
           "holds them: mean ± sample std over the seeds (n).", ""]
    by: dict[tuple[str, str, str], dict[int, dict[str, Mapping[str, Any]]]] = {}
    for r in rows:
        by.setdefault((r["protocol"], r["env_id"], r["agent"]), {}).setdefault(
            r["env_steps"], {})[r["metric"]] = r
    for (protocol, env_id, agent), points in by.items():
        out += [f"## {A.display_name(env_id)}, `{agent}` (protocol `{protocol}`)", "",
                "| env steps | " + " | ".join(f"`{n}`" for n in names) + " |",
                "|---|" + "---|" * len(names)]
        for steps in sorted(points):
            cells = []
            for n in names:
                r = points[steps].get(n)
                cells.append("—" if r is None else
                             f"{r['mean']:.4g}" + ("" if r["n"] < 2 else f" ± {r['std']:.2g}")
                             + f" ({r['n']})")
            out.append(f"| {steps:,} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def build_tables(records: Sequence[Mapping[str, Any]], out_dir: str,
                 reps: int = St.DEFAULT_REPS, seed: int = St.DEFAULT_SEED,
                 sources: Sequence[str] = (), plots: bool = True,
                 train_metrics: Sequence[str] = ()) -> TableOutput:
    """Write every table and figure for ``records`` under ``out_dir`` (with
    ``train_metrics``: also those training metrics per evaluation point,
    ``train_metrics.md`` / ``.csv``)."""
    if not records:
        raise ValueError("no result records")
    metric_rows = train_metric_rows(S.label_config_variants(records), train_metrics) \
        if train_metrics else None
    os.makedirs(out_dir, exist_ok=True)
    files: list[str] = []
    p = lambda name: os.path.join(out_dir, name)  # noqa: E731
    records = S.label_config_variants(records)

    summaries = S.summarize(records)
    scores_md = scores_markdown(summaries, len(records), sources)
    with open(p("scores.md"), "w") as f:
        f.write(scores_md)
    files.append(p("scores.md"))
    files.append(_write_csv(p("scores.csv"), SCORE_COLUMNS, scores_rows(summaries)))

    aggs, imps = compute_aggregates(summaries, reps, seed)
    agg_md = aggregates_markdown(summaries, aggs, imps, reps, seed)
    with open(p("aggregates.md"), "w") as f:
        f.write(agg_md)
    files.append(p("aggregates.md"))
    files.append(_write_csv(
        p("aggregates.csv"),
        ["protocol", "metric", "agent", "n_envs", "runs", "envs", "statistic", "point", "lo",
         "hi", "reps", "seed"],
        ({"protocol": a.protocol, "metric": a.kind, "agent": a.agent, "n_envs": len(a.envs),
          "runs": a.runs, "envs": " ".join(a.envs), "statistic": m, "point": iv.point,
          "lo": iv.lo, "hi": iv.hi, "reps": reps, "seed": seed}
         for a in aggs for m, iv in a.intervals.items())))
    files.append(_write_csv(
        p("improvement.csv"),
        ["protocol", "metric", "x", "y", "n_envs", "envs", "p_x_better", "lo", "hi"],
        ({"protocol": i.protocol, "metric": i.kind, "x": i.x, "y": i.y, "n_envs": len(i.envs),
          "envs": " ".join(i.envs), "p_x_better": i.interval.point, "lo": i.interval.lo,
          "hi": i.interval.hi} for i in imps)))

    curves = {m: S.learning_curves(records, m, reps, seed) for m in ("return", "success")}
    files.append(_write_csv(
        p("curves.csv"),
        ["protocol", "env_id", "agent", "metric", "env_steps", "n", "mean", "lo", "hi"],
        ({"protocol": c.protocol, "env_id": c.env_id, "agent": c.agent, "metric": c.metric,
          "env_steps": int(c.steps[i]), "n": int(c.n[i]), "mean": c.mean[i], "lo": c.lo[i],
          "hi": c.hi[i]}
         for m in curves for c in curves[m] for i in range(c.steps.size))))

    protocols = sorted({s.protocol for s in summaries})
    profile_rows = []
    for protocol in protocols:
        scores = S.task_scores(summaries, protocol, "normalized")
        if scores:
            taus = St.tau_grid([v for per_env in scores.values() for v in per_env.values()])
            profiles = {a: St.performance_profile_intervals(list(scores[a].values()), taus,
                                                           reps, seed)
                        for a in _agent_order(scores)}
            for a, (pt, lo, hi) in profiles.items():
                profile_rows += [{"protocol": protocol, "agent": a, "tau": taus[i],
                                  "fraction": pt[i], "lo": lo[i], "hi": hi[i]}
                                 for i in range(taus.size)]
            if plots:
                files.append(plot_profiles(
                    profiles, taus, p(f"profiles_{_slug(protocol)}.png"),
                    f"Performance profiles, protocol {protocol} (normalized return, 95% CI)"))
        rows = [a for a in aggs if a.protocol == protocol and a.kind == "normalized"]
        if plots and rows:
            envs = {s.env_id for s in summaries if s.protocol == protocol}
            files.append(plot_aggregates(
                rows, p(f"aggregates_{_slug(protocol)}.png"),
                f"Aggregate normalized return, protocol {protocol} (95% stratified bootstrap CI;"
                " * = on fewer envs)", envs))
        if plots:
            for env_id in sorted({c.env_id for c in curves["return"] if c.protocol == protocol},
                                 key=A.env_sort_key):
                sel = [[c for c in curves[m] if c.protocol == protocol and c.env_id == env_id]
                       for m in ("return", "success")]
                files.append(plot_curves(
                    sel[0], sel[1], p(f"curves_{_slug(protocol)}_{_slug(env_id)}.png"),
                    f"{A.display_name(env_id)}, protocol {protocol}"))
    files.append(_write_csv(p("profiles.csv"),
                            ["protocol", "agent", "tau", "fraction", "lo", "hi"], profile_rows))
    short = sorted({s.agent for s in summaries if plot_label(s.agent) != s.agent})
    if short:  # the plots' short labels -> full agent specs
        files.append(_write_csv(p("labels.csv"), ["label", "agent"],
                                ({"label": plot_label(a), "agent": a} for a in short)))
    files.append(A.write_anchors_md(p("ANCHORS.md"), records))
    if metric_rows is not None:
        with open(p("train_metrics.md"), "w") as f:
            f.write(train_metrics_markdown(metric_rows, train_metrics))
        files.append(p("train_metrics.md"))
        files.append(_write_csv(p("train_metrics.csv"), TRAIN_METRIC_COLUMNS, metric_rows))
    return TableOutput(markdown=scores_md + "\n" + agg_md, files=files)


def _find_undecodable(paths: Sequence[str]) -> str:
    for path in result_files(paths):
        try:
            with open(path, encoding="utf-8") as f:
                for _ in f:
                    pass
        except UnicodeDecodeError:
            return path
    return "a result file"


def table_cli(paths: list[str], out_dir: str, protocol: str | None = None, *,
              reps: int = St.DEFAULT_REPS, seed: int = St.DEFAULT_SEED,
              manifest: str | None = None, train_metrics: Sequence[str] = ()) -> int:
    """``pamdp-bench table PATHS... --out DIR [--filter_protocol P] [--train_metrics=A,B]``:
    print the markdown, write the files; exit 0, or 2 on unreadable / malformed input (the
    message names file:line) or a training metric no record has.

    Records of offline protocols (with a ``dataset``) get the offline table
    (``analysis.offline``, normalised with the anchors of the datasets ``manifest``); online
    and offline records cannot share one table."""
    if not paths:
        print("error: give result files or directories", file=sys.stderr)
        return 2
    try:
        sources = result_files(paths)
        records = load_records(paths)
    except ResultFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as err:
        print(f"error: {_find_undecodable(paths)}: not UTF-8 text ({err.reason})",
              file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if protocol is not None:
        found = sorted({r["protocol"] for r in records})
        records = [r for r in records if r["protocol"] == protocol]
        if not records:
            print(f"error: no records of protocol {protocol!r} in {', '.join(paths)} "
                  f"(protocols present: {', '.join(found) or 'none'})", file=sys.stderr)
            return 2
    if not records:
        print(f"error: no result records in {', '.join(paths)} "
              f"({len(sources)} .jsonl file(s) found)", file=sys.stderr)
        return 2
    offline = sum(1 for r in records if r.get("dataset"))
    if offline and train_metrics:
        print("error: --train_metrics is for online records only", file=sys.stderr)
        return 2
    if offline:
        if offline != len(records):
            print(f"error: {offline} of {len(records)} records are offline (they name a dataset)"
                  "; tabulate online and offline runs separately (--filter_protocol)",
                  file=sys.stderr)
            return 2
        from pamdp_bench.analysis.offline import build_offline_tables
        from pamdp_bench.datasets.build import DEFAULT_MANIFEST, load_manifest

        try:
            md, files = build_offline_tables(records, load_manifest(manifest or DEFAULT_MANIFEST),
                                             out_dir, reps=reps, seed=seed)
        except (ValueError, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(md)
        print(f"wrote {len(files)} files under {out_dir}", file=sys.stderr)
        return 0
    try:
        out = build_tables(records, out_dir, reps=reps, seed=seed, sources=sources,
                           train_metrics=train_metrics)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(out.markdown)
    print(f"wrote {len(out.files)} files under {out_dir}", file=sys.stderr)
    return 0
