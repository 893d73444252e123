"""The scaling study's table and plot (``make scale``): success rate and per-step cost against
Hard Move's n (K = 2^n discrete actions) for every agent of the ``scale`` protocol.

Inputs: result records of the ``scale`` protocol (final evaluation per seed, through
``scoring.summarize``, so the numbers are those of ``pamdp-bench table``) and the rows of
``pamdp-bench bench --suite=scale`` (``results/bench/scale.json``: seconds per training env step
and seed, 1 seed; for a planner, per planned step with its updates). Outputs under ``out``:
``scale.md`` (one row per n, per agent the success rate mean ± std (seeds, env steps) and the ms
per env step; each published number for an agent and n beside ours; per agent the mean success at
every evaluation point, which shows whether a row was still rising at its budget), ``scale.csv``
and ``scale.png`` (success and cost against n, log-scale cost).

An (agent, n) without records or without a bench row shows "—"; a run that has not reached its
budget shows its env steps, so a partial study reads as partial. The main table compares every
agent at the protocol's budget; a run extended past it (``--budget``, for example QMLE where its
curve still rises at 20k) gets its own section, so agents are never compared at unequal budgets.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pamdp_bench.analysis import anchors as A
from pamdp_bench.analysis import scoring as S
from pamdp_bench.harness.records import load_records

PROTOCOL = "scale"
_N = re.compile(r"^HardMove-n(\d+)-v0$")


def hard_move_n(env_id: str) -> int | None:
    """n of a Hard Move id, else None."""
    m = _N.match(env_id)
    return int(m.group(1)) if m else None


def bench_costs(path: str) -> dict[tuple[str, int], float | str]:
    """``(agent, n) -> seconds per env step and seed`` from a bench JSON (1-seed rows; a planner's
    row gives seconds per planned step), or the row's error where it could not be measured
    (``out of memory: ...``). A missing file gives no costs."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        record = json.load(f)
    out: dict[tuple[str, int], float | str] = {}
    for row in record.get("rows", []):
        n = hard_move_n(str(row.get("env", "")))
        if n is None or row.get("seeds") != 1:
            continue
        if "error" in row:
            out[(row["agent"], n)] = str(row["error"])
        elif (sec := seconds_per_step(row)) is not None:
            out[(row["agent"], n)] = sec
    return out


def seconds_per_step(row: Mapping[str, Any]) -> float | None:
    """A bench row's seconds per env step and seed: a planner's per planned step (with its
    updates), a trainer's inverse per-seed throughput; None for a row with neither."""
    if "seconds_per_planned_step" in row:
        return float(row["seconds_per_planned_step"]) / int(row.get("seeds", 1))
    if row.get("env_steps_per_second_per_seed"):
        return 1.0 / float(row["env_steps_per_second_per_seed"])
    return None


def budget(env_id: str, agent: str | None = None) -> int:
    """The ``scale`` protocol's env-step budget for an env (and ``agent``, a table label, where
    the protocol gives it its own; the protocol file is parsed once:
    ``anchors.shipped_protocol`` is cached)."""
    return int(A.protocol_field(PROTOCOL, env_id, "budget", agent=agent))


def within_budget(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records up to the protocol's budget: a run extended past it (``--budget``) is
    compared with the others at the budget they share."""
    return [r for r in records
            if int(r["env_steps"]) <= budget(str(r["env_id"]), str(r["agent"]))]


def scale_rows(summaries: Sequence[S.Summary], costs: Mapping[tuple[str, int], float | str]
               ) -> tuple[list[int], list[str], dict[tuple[str, int], dict[str, Any]]]:
    """``(ns, agents, cells)``; a cell holds success mean / std / seeds / env steps and cost.
    A cell is complete when every seed's last record is final or at the protocol's budget
    (a run given a larger budget wrote its budget point as not final)."""
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for s in summaries:
        n = hard_move_n(s.env_id)
        if n is None or s.protocol != PROTOCOL:
            continue
        mean, std, k = s.stat("success")
        ret_mean, ret_std, _ = s.stat("return")
        complete = s.complete or min(s.env_steps) >= budget(s.env_id, s.agent)
        cells[(s.agent, n)] = {"success_mean": mean, "success_std": std, "seeds": k,
                               "env_steps": min(s.env_steps), "complete": complete,
                               "return_mean": ret_mean, "return_std": ret_std}
    for (agent, n), sec in costs.items():
        cell = cells.setdefault((agent, n), {})
        if isinstance(sec, str):
            cell["cost_error"] = sec
        else:
            cell["seconds_per_step"] = sec
    ns = sorted({n for _, n in cells})
    agents = sorted({a for a, _ in cells})
    return ns, agents, cells


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None or not math.isfinite(x) else format(x, spec)


def _mean_std(mean: float, std: float) -> str:
    """``mean ± std`` as every success and return cell prints it (std "—" for one seed)."""
    return f"{mean:.2f} ± {_fmt(std, '.2f')}"


def _section(title: str, text: str, head: Sequence[str], rows: Sequence[str]) -> str:
    """A markdown section of its own (title, one paragraph, one table), or "" without rows."""
    if not rows:
        return ""
    return "\n".join(["", f"## {title}", "", text, "", "| " + " | ".join(head) + " |",
                      "|" + "---|" * len(head), *rows, ""])


def _cost_error_cell(error: str) -> str:
    """A short cell for a cost that could not be measured (the reason is in the bench file)."""
    return "OOM" if error.startswith("out of memory") else "failed"


def scale_markdown(ns: Sequence[int], agents: Sequence[str],
                   cells: Mapping[tuple[str, int], Mapping[str, Any]]) -> str:
    head = ["n", "K"] + [f"{a} {what}" for a in agents for what in ("success", "ms / step")]
    lines = ["# Scaling study: Hard Move n (K = 2^n actions)", "",
             "Success rate of the final evaluation, mean ± std over seeds (seeds, env steps "
             "reached), protocol `scale`; cost per training env step and seed (planners: per "
             "planned step with its updates), 1 seed, `pamdp-bench bench --suite=scale` (OOM: "
             "it did not fit in memory; the bench file says how much it asked for).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in ns:
        row = [str(n), f"{2**n:,}"]
        for a in agents:
            c = cells.get((a, n), {})
            if "success_mean" in c:
                partial = "" if c["complete"] else ", partial"
                row.append(f"{_mean_std(c['success_mean'], c['success_std'])} "
                           f"({c['seeds']}, {c['env_steps'] / 1000:g}k{partial})")
            else:
                row.append("—")
            sec = c.get("seconds_per_step")
            row.append(_cost_error_cell(c["cost_error"]) if "cost_error" in c
                       else _fmt(None if sec is None else sec * 1e3, ".1f"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def published_markdown(ns: Sequence[int], agents: Sequence[str],
                       cells: Mapping[tuple[str, int], Mapping[str, Any]]) -> str:
    """Each published number for an (agent, n) of the table beside ours in its metric: DLPA's
    return (DLPA Table 1) and the HyAR Table 2 success rates. Their protocols and budgets are
    not the ``scale`` protocol's, which the rows say."""
    rows = []
    for n in ns:
        for agent in agents:
            c = cells.get((agent, n), {})
            for p in A.published_for(f"HardMove-n{n}-v0", agent):
                key = "return" if p.metric == "return" else "success"
                if f"{key}_mean" not in c:
                    ours = "—"
                else:
                    unit = "return" if key == "return" else "succ"  # as ``Published.label``
                    ours = (f"{unit} {_mean_std(c[f'{key}_mean'], c[f'{key}_std'])} "
                            f"({c['env_steps'] / 1000:g}k)")
                where = f"protocol `{p.protocol}`" if p.protocol else "protocol unknown"
                note = f"; {p.note}" if p.note else ""
                rows.append(f"| {n} | {agent} | {ours} | {p.label()} | {p.short}, {where}"
                            f"{note} |")
    return _section("Published numbers beside ours",
                    "Final evaluation of the `scale` protocol against each published number for "
                    "the same agent and n, in the published metric. The published runs had other "
                    "budgets (HyAR: 1M env steps, 30-step evaluation episodes; DLPA: not "
                    "stated), so a gap is a budget question before it is a fidelity one.",
                    ["n", "agent", "ours", "published", "source"], rows)


def beyond_markdown(summaries: Sequence[S.Summary],
                    cells: Mapping[tuple[str, int], Mapping[str, Any]]) -> str:
    """Runs extended past the protocol's budget: success at the budget (the main table's
    cell) and at the last evaluation every seed reached."""
    rows = []
    for s in summaries:
        n = hard_move_n(s.env_id)
        if n is None or s.protocol != PROTOCOL or min(s.env_steps) <= budget(s.env_id, s.agent):
            continue
        at_budget = cells.get((s.agent, n), {})
        mean, std, k = s.stat("success")
        before = ("—" if "success_mean" not in at_budget else
                  _mean_std(at_budget["success_mean"], at_budget["success_std"]))
        partial = "" if s.complete else ", partial"
        rows.append(f"| {n} | {s.agent} | {before} | {_mean_std(mean, std)} "
                    f"({k}, {min(s.env_steps) / 1000:g}k{partial}) |")
    return _section("Beyond the protocol's budget",
                    "Runs given a larger budget (`--budget`): success at the protocol's budget "
                    "(the table above) and at the last evaluation every seed reached.",
                    ["n", "agent", "at the budget", "later (seeds, env steps)"], rows)


def progress_markdown(curves: Sequence[S.Curve]) -> str:
    """Per agent, the mean success over seeds at every evaluation point, one row per n: a row
    still rising at its last point has not shown where the method stops learning."""
    by_agent: dict[str, list[S.Curve]] = {}
    for c in curves:
        if c.protocol == PROTOCOL and hard_move_n(c.env_id) is not None:
            by_agent.setdefault(c.agent, []).append(c)
    if not by_agent:
        return ""
    lines = ["", "## Success by env steps", "",
             "Mean success over seeds at each evaluation: where a row still rises at its last "
             "point, the budget does not show where the method stops learning.", ""]
    for agent in sorted(by_agent):
        cs = sorted(by_agent[agent], key=lambda c: hard_move_n(c.env_id) or 0)
        steps = sorted({int(st) for c in cs for st in c.steps})
        head = ["n"] + [f"{st / 1000:g}k" for st in steps]
        lines += [f"### {agent}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in cs:
            at = {int(st): float(m) for st, m in zip(c.steps, c.mean, strict=True)}
            cells = [_fmt(at.get(st), ".2f") for st in steps]
            lines.append("| " + " | ".join([str(hard_move_n(c.env_id)), *cells]) + " |")
        lines.append("")
    return "\n".join(lines)


def plot_scale(ns: Sequence[int], agents: Sequence[str],
               cells: Mapping[tuple[str, int], Mapping[str, Any]], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_s, ax_c) = plt.subplots(1, 2, figsize=(10, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, a in enumerate(agents):
        color = colors[i % len(colors)]  # one colour per agent on both panels
        pts = [(n, cells[(a, n)]) for n in ns if "success_mean" in cells.get((a, n), {})]
        if pts:
            ax_s.errorbar([n for n, _ in pts], [c["success_mean"] for _, c in pts],
                          yerr=[0.0 if not math.isfinite(c["success_std"]) else c["success_std"]
                                for _, c in pts], marker="o", capsize=3, label=a, color=color)
            partial = [(n, c["success_mean"]) for n, c in pts if not c["complete"]]
            if partial:  # short of the budget: hollow markers
                ax_s.scatter([n for n, _ in partial], [m for _, m in partial], s=80,
                             facecolors="white", edgecolors=color, zorder=3,
                             label=f"{a} (partial run)")
        cost = [(n, cells[(a, n)]["seconds_per_step"] * 1e3) for n in ns
                if "seconds_per_step" in cells.get((a, n), {})]
        if cost:
            ax_c.plot([n for n, _ in cost], [c for _, c in cost], marker="o", label=a,
                      color=color)
        for n in ns:
            if "cost_error" in cells.get((a, n), {}):
                ax_c.annotate(f"{a}: {_cost_error_cell(cells[(a, n)]['cost_error'])}",
                              (n, 0.04), xycoords=("data", "axes fraction"),
                              ha="right" if n == ns[-1] else "center", va="bottom",
                              color=color, fontsize=8)
    ax_s.set(xlabel="Hard Move n (K = 2^n)", ylabel="success rate (eval at the budget)",
             ylim=(-0.05, 1.05))
    ax_c.set(xlabel="Hard Move n (K = 2^n)", ylabel="ms per env step and seed", yscale="log")
    for ax in (ax_s, ax_c):
        ax.set_xticks(list(ns))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # the cost panel is empty without a bench file
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def build_scale(run_paths: Sequence[str], bench_path: str, out_dir: str) -> tuple[str, list[str]]:
    """Write ``scale.md``, ``scale.csv`` and ``scale.png``; returns (markdown, files)."""
    records = load_records([p for p in run_paths if os.path.exists(p)])
    records = S.label_config_variants([r for r in records if r.get("protocol") == PROTOCOL])
    ns, agents, cells = scale_rows(S.summarize(within_budget(records)), bench_costs(bench_path))
    os.makedirs(out_dir, exist_ok=True)
    md = (scale_markdown(ns, agents, cells) + published_markdown(ns, agents, cells)
          + beyond_markdown(S.summarize(records), cells)
          + progress_markdown(S.learning_curves(records, "success", reps=1)))
    files = [os.path.join(out_dir, name) for name in ("scale.md", "scale.csv", "scale.png")]
    with open(files[0], "w") as f:
        f.write(md)
    with open(files[1], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["agent", "n", "num_actions", "success_mean", "success_std", "return_mean",
                    "return_std", "seeds", "env_steps", "complete", "seconds_per_step"])
        for a in agents:
            for n in ns:
                c = cells.get((a, n), {})
                w.writerow([a, n, 2**n, *(c.get(f, "") for f in (
                    "success_mean", "success_std", "return_mean", "return_std", "seeds",
                    "env_steps", "complete")),
                    c.get("seconds_per_step", c.get("cost_error", ""))])
    plot_scale(ns, agents, cells, files[2])
    return md, files
