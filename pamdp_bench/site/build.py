"""``pamdp-bench site``: the leaderboard, the committed tables and the learning curves as pages.

Inputs. Leaderboard entries (``results/leaderboard/entries/*.json``, each carrying its records
and protocol) and the committed tables (``results/tables/<name>/``: ``scores.csv``,
``curves.csv``, ``aggregates.csv`` and figures as ``pamdp-bench table`` or the offline table
wrote them; ``results/tables/sources.json`` names the run directories each table was made from).

One place owns each number. The board's cells and its normalized IQM are computed from the
entries' records by ``analysis.scoring`` / ``analysis.tables`` (as ``pamdp-bench leaderboard``
does); its verified marks are ``analysis.leaderboard``'s (a check mark only for a verdict bound
to the entry and signed under ``PAMDP_BENCH_VERDICT_KEY``, or for ``--verify``, which re-runs
every entry). A table's numbers are read from the CSVs its generator wrote (``test_tables``
checks they regenerate from the records). Every number links to the records it comes from: a
board cell to its entry's page (final record of every seed with provenance, every evaluation
point, the entry file itself), a table row to the table's records page (the same per seed, each
naming the record file, which is copied into the site).

[choice] Libraries: uPlot (interactive curves with CI bands, 51 kB) and tablesort (sortable
columns, 3 kB), both MIT, are vendored under ``static/vendor`` (``VENDOR.md``: source, version,
sha256) so that a page needs no network; Jinja2 renders the pages with autoescaping. The data
reach the pages as JSON inside ``<script type="application/json">`` (Chromium refuses
``fetch()`` of local files on a page opened from ``file://``).

Output. The site is written to a temporary sibling and moved in whole; an existing ``--out`` is
replaced only if it holds the marker file of an earlier site (no other directory is ever
emptied).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jinja2
import numpy as np
import tomllib

from pamdp_bench.analysis import anchors as A
from pamdp_bench.analysis import leaderboard as L
from pamdp_bench.analysis import scoring as S
from pamdp_bench.analysis import statistics as St
from pamdp_bench.analysis.tables import compute_aggregates, plot_label
from pamdp_bench.harness import records as R

SITE_MARKER = ".pamdp_bench_site"
TABLES_DIR = os.path.join("results", "tables")
SOURCES_FILE = "sources.json"
_HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_DIR = os.path.join(_HERE, "static")
TEMPLATES_DIR = os.path.join(_HERE, "templates")
FIGURE_PATTERNS = (re.compile(r"^aggregates.*\.png$"), re.compile(r"^profiles.*\.png$"),
                   re.compile(r"^curves\.png$"))


class SiteError(ValueError):
    """Input the site cannot be built from, or an output directory it must not overwrite."""


@dataclasses.dataclass(frozen=True)
class SiteReport:
    """What ``build_site`` wrote: page paths relative to ``out_dir``."""

    out_dir: str
    pages: tuple[str, ...]
    protocols: tuple[str, ...]  # protocols on the board
    entries: int
    tables: tuple[str, ...]
    envs: tuple[str, ...]


# ----------------------------------------------------------------------------- small helpers
def slug(text: str) -> str:
    """A file-name and anchor-safe form of ``text`` (env ids, agent specs, dataset ids)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def fmt(value: Any, digits: int = 3) -> str:
    x = _num(value)
    return "n/a" if x is None else f"{x:.{digits}g}"


def fmt_pm(mean: Any, std: Any, digits: int = 3) -> str:
    m, s = _num(mean), _num(std)
    if m is None:
        return "n/a"
    return f"{m:.{digits}g}" if s is None else f"{m:.{digits}g} ± {s:.2g}"


@dataclasses.dataclass(frozen=True)
class Cell:
    """A table cell: shown text, numeric sort key (tablesort's ``data-sort``), link, tooltip."""

    text: str
    sort: float | str | None = None
    href: str | None = None
    title: str | None = None


def _cell(text: str, sort: Any = None, href: str | None = None, title: str | None = None
          ) -> Cell:
    key = _num(sort)
    return Cell(text, key if key is not None else (sort if isinstance(sort, str) else None),
                href, title)


# ----------------------------------------------------------------------------- records pages
def _anchor(protocol: str, env_id: str, agent: str, dataset: str | None = None) -> str:
    parts = [protocol, env_id] + ([dataset] if dataset else []) + [agent]
    return "r-" + slug("--".join(parts))


@dataclasses.dataclass(frozen=True)
class RecordGroup:
    """Final record of every seed of one (protocol, env, [dataset,] agent), and all points."""

    anchor: str
    title: str
    finals: list[dict[str, Any]]
    points: list[dict[str, Any]]


def _record_row(r: Mapping[str, Any], file_href: str | None, file_name: str | None
                ) -> dict[str, Any]:
    prov = r.get("provenance") or {}
    return {"seed": r["seed"], "env_steps": r["env_steps"], "final": bool(r["final"]),
            "return": fmt(r["return_mean"], 4), "success": fmt(r["success_rate"], 3),
            "config_hash": r["config_hash"], "commit": str(prov.get("git_commit", ""))[:10],
            "device": f"{prov.get('device_kind', '?')} x{prov.get('device_count', '?')}",
            "jax": prov.get("jax_version", ""), "time": prov.get("time", ""),
            "file_href": file_href, "file_name": file_name}


def record_groups(located: Sequence[tuple[tuple[str, str], Mapping[str, Any]]]
                  ) -> dict[str, RecordGroup]:
    """anchor -> group, for ``located`` records (``((file href, file name), record)``).

    Agents are labelled as the tables label them: online, config variants apart
    (``label_config_variants``); offline, per dataset (a run's config hash covers its dataset,
    so one agent has one hash per dataset and is not relabelled)."""
    tagged = [{**r, "_file": f} for f, r in located]
    online = [r for r in tagged if not r.get("dataset")]
    labelled = S.label_config_variants(online) + [r for r in tagged if r.get("dataset")]
    grouped: dict[tuple[str, str, str | None, str], list[Mapping[str, Any]]] = {}
    for r in labelled:
        key = (r["protocol"], r["env_id"], r.get("dataset"), r["agent"])
        grouped.setdefault(key, []).append(r)
    out: dict[str, RecordGroup] = {}
    for (protocol, env_id, dataset, agent), rs in sorted(
            grouped.items(), key=lambda kv: (kv[0][0], A.env_sort_key(kv[0][1]),
                                             kv[0][2] or "", kv[0][3])):
        finals = S.final_records(rs)[(protocol, env_id, agent)]
        anchor = _anchor(protocol, env_id, agent, dataset)
        title = " · ".join([f"protocol {protocol}", A.display_name(env_id)]
                           + ([dataset] if dataset else []) + [agent])
        out[anchor] = RecordGroup(
            anchor, title,
            [_record_row(finals[s], *finals[s]["_file"]) for s in sorted(finals)],
            [_record_row(r, *r["_file"]) for r in sorted(rs, key=lambda r: (r["seed"],
                                                                             r["env_steps"]))])
    return out


# ----------------------------------------------------------------------------- the board
@dataclasses.dataclass(frozen=True)
class BoardRow:
    agent: str
    page: str
    entry_file: str
    links: list[tuple[str, str]]
    mark: str
    verified: bool
    iqm: Cell
    cells: list[Cell]
    overrides: str


@dataclasses.dataclass(frozen=True)
class Board:
    protocol: str
    description: str
    envs: list[tuple[str, str, str]]  # (env id, display name, env page)
    rows: list[BoardRow]
    iqm_note: str


@dataclasses.dataclass(frozen=True)
class EntryPage:
    path: str  # page file name
    entry_file: str  # the copied entry JSON, relative to the site root
    entry: dict[str, Any]
    mark: str
    verified: bool
    groups: list[RecordGroup]


def _protocol_description(entry: Mapping[str, Any]) -> str:
    try:
        return str(tomllib.loads(entry.get("protocol_toml", "")).get("description", ""))
    except tomllib.TOMLDecodeError:
        return ""


def _load_entries(entries_dir: str, verify: bool
                  ) -> list[tuple[str, dict[str, Any], str, bool]]:
    """``(path, entry, mark, verified)`` of every entry file; a malformed or tampered entry is
    an error naming its file (the board is not published with an entry silently left out)."""
    out = []
    for p in L.entry_paths(entries_dir):
        try:
            entry = L.load_entry(p)
        except (L.EntryError, OSError, ValueError) as err:
            raise SiteError(f"{p}: not a valid leaderboard entry ({err})") from err
        mark = L.entry_mark(p, entry, L.verify(p) if verify else None)
        out.append((p, entry, mark, mark.startswith("✓")))
    return out


def build_board(entries: Sequence[tuple[str, dict[str, Any], str, bool]], reps: int, seed: int
                ) -> tuple[list[Board], list[EntryPage], dict[str, list[S.Curve]]]:
    """Boards per protocol, entry pages, and the entries' learning curves per protocol."""
    by_proto: dict[str, list[tuple[str, dict[str, Any], str, bool]]] = {}
    for item in entries:
        by_proto.setdefault(item[1]["protocol"], []).append(item)
    boards: list[Board] = []
    pages: list[EntryPage] = []
    curves: dict[str, list[S.Curve]] = {}
    for proto, items in sorted(by_proto.items()):
        records = [r for _, e, _, _ in items for r in e["records"]]
        summaries = S.summarize(records)
        aggs, _ = compute_aggregates(summaries, reps, seed)
        iqm = {a.agent: a for a in aggs if a.kind == "normalized"}
        envs = sorted({env for _, e, _, _ in items for env in e["envs"]}, key=A.env_sort_key)
        rows: list[BoardRow] = []
        for path, entry, mark, ok in items:
            stem = os.path.basename(path)[:-5]
            page, entry_file = f"entry-{slug(stem)}.html", f"data/entries/{stem}.json"
            sums = {s.env_id: s for s in summaries if s.agent == entry["agent"]}
            cells = []
            for env in envs:
                s = sums.get(env)
                if s is None:
                    cells.append(_cell("—"))
                    continue
                r, rs, n = s.stat("return")
                sr, ss, _ = s.stat("success")
                nm, _, _ = s.stat("normalized")
                text = f"{fmt_pm(r, rs)} / {sr:.2f}"
                title = (f"return {fmt_pm(r, rs, 4)}, success {sr:.2f} ± {ss:.2f}, "
                         f"normalized {fmt(nm)}, n={n} seeds at {max(s.env_steps):,} steps")
                cells.append(_cell(text, r, f"{page}#{_anchor(proto, env, entry['agent'])}",
                                   title))
            agg = iqm.get(entry["agent"])
            if agg is None:
                iqm_cell = _cell("n/a", None, None, "no env of this entry has both anchors")
            else:
                iv = agg.intervals["iqm"]
                star = "" if len(agg.envs) == len(envs) else "*"
                iqm_cell = _cell(f"{iv.point:.2f} [{iv.lo:.2f}, {iv.hi:.2f}]{star}", iv.point,
                                 f"{page}#aggregate",
                                 f"IQM of normalized return over {len(agg.envs)} env(s) x "
                                 f"seeds ({agg.runs} runs), 95% stratified bootstrap CI")
            links = [(n, u) for n, u in (("code", entry.get("code_url")),
                                         ("paper", entry.get("paper_url"))) if u]
            overrides = ", ".join(f"{k}={v}" for k, v in sorted(entry["overrides"].items()))
            rows.append(BoardRow(entry["agent"], page, entry_file, links, mark, ok, iqm_cell,
                                 cells, overrides or "—"))
            groups = record_groups([((entry_file, os.path.basename(path)), r)
                                    for r in entry["records"]])
            pages.append(EntryPage(page, entry_file, entry, mark, ok, list(groups.values())))
        boards.append(Board(proto, _protocol_description(items[0][1]),
                            [(e, A.display_name(e), f"env-{slug(e)}.html") for e in envs], rows,
                            "IQM over envs x seeds of the normalized final return (random 0, "
                            "upper anchor 1; anchors as in the tables' ANCHORS.md), 95% "
                            "stratified bootstrap CI; * = on fewer envs than the protocol's."))
        curves[proto] = [c for m in ("return", "success")
                         for c in S.learning_curves(records, m, reps, seed)]
    return boards, pages, curves


# ----------------------------------------------------------------------------- tables
@dataclasses.dataclass(frozen=True)
class TableView:
    name: str
    page: str
    records_page: str
    kind: str  # "online" (pamdp-bench table) or "offline" (the offline table)
    header: list[str]
    rows: list[list[Cell]]
    aggregates: list[dict[str, str]]
    figures: list[str]
    record_files: list[tuple[str, str]]  # (href, name)
    groups: list[RecordGroup]
    generated: list[tuple[str, str]]  # (href, name) of the table's own .md and .csv files


def _read_csv(path: str) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise SiteError(f"{path}: unreadable table file ({err})") from err


def _online_rows(scores: Sequence[Mapping[str, str]], records_page: str,
                 anchors: set[str]) -> tuple[list[str], list[list[Cell]]]:
    header = ["protocol", "env", "agent", "n", "env steps", "return", "success",
              "normalized", "published"]
    rows = []
    for s in scores:
        anchor = _anchor(s["protocol"], s["env_id"], s["agent"])
        href = f"{records_page}#{anchor}" if anchor in anchors else None
        rows.append([
            _cell(s["protocol"], s["protocol"]),
            _cell(A.display_name(s["env_id"]), s["env_id"], f"env-{slug(s['env_id'])}.html"),
            _cell(s["agent"], s["agent"], href),
            _cell(s["n"], s["n"]),
            _cell(f"{int(float(s['env_steps_max'])):,}", s["env_steps_max"]),
            _cell(fmt_pm(s["return_mean"], s["return_std"]), s["return_mean"], href),
            _cell(fmt_pm(s["success_mean"], s["success_std"]), s["success_mean"], href),
            _cell(fmt_pm(s["normalized_mean"], s["normalized_std"]), s["normalized_mean"], href),
            _cell(s.get("published_all") or "—", s.get("published_mean") or ""),
        ])
    return header, rows


def _offline_rows(scores: Sequence[Mapping[str, str]], records_page: str,
                  anchors: set[str]) -> tuple[list[str], list[list[Cell]]]:
    header = ["protocol", "dataset", "agent", "seeds", "gradient steps", "normalized (0-100)",
              "return", "success"]
    rows = []
    for s in scores:
        anchor = _anchor(s["protocol"], s["env_id"], s["agent"], s["dataset"])
        href = f"{records_page}#{anchor}" if anchor in anchors else None
        rows.append([
            _cell(s["protocol"], s["protocol"]),
            _cell(s["dataset"], s["dataset"], f"env-{slug(s['env_id'])}.html"),
            _cell(s["agent"], s["agent"], href),
            _cell(s["seeds"], s["seeds"]),
            _cell(f"{int(float(s['grad_steps'])):,}", s["grad_steps"]),
            _cell(fmt_pm(s["normalized_mean"], s["normalized_std"]), s["normalized_mean"], href),
            _cell(fmt_pm(s["return_mean"], s["return_std"]), s["return_mean"], href),
            _cell(fmt(s["success_mean"]), s["success_mean"], href),
        ])
    return header, rows


def _sources(tables_dir: str) -> dict[str, list[str]]:
    path = os.path.join(tables_dir, SOURCES_FILE)
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise SiteError(f"{path}: not valid JSON ({err})") from err
    return {k: list(v) for k, v in data.items() if not k.startswith("_")}


def _resolve_source(src: str, tables_dir: str) -> str:
    """A sources.json path: as written (relative to the working directory), else relative to
    the repository holding ``tables_dir`` (``<root>/results/tables``)."""
    if os.path.exists(src):
        return src
    root = os.path.dirname(os.path.dirname(os.path.abspath(tables_dir)))
    return os.path.join(root, src)


def build_table(name: str, tables_dir: str, sources: Sequence[str], site_dir: str
                ) -> TableView:
    """One committed table: its scores, aggregates and figures, and its records copied."""
    tdir = os.path.join(tables_dir, name)
    page, records_page = f"table-{slug(name)}.html", f"table-{slug(name)}-records.html"
    files: dict[str, tuple[str, str]] = {}  # record file -> (href, name) in the site
    root = os.path.dirname(os.path.dirname(os.path.abspath(tables_dir)))
    paths = R.result_files([_resolve_source(s, tables_dir) for s in sources])
    for i, path in enumerate(paths):
        rel = os.path.relpath(path, root)
        rel = rel if not rel.startswith("..") else f"{i}-{os.path.basename(path)}"
        files[path] = (_copy(path, site_dir, f"records/{slug(name)}/{rel}"), rel)
    groups = record_groups([(files[p], r) for p, r in R.load_located_records(paths)])
    scores = _read_csv(os.path.join(tdir, "scores.csv"))
    offline = bool(scores) and "dataset" in scores[0]
    header, rows = (_offline_rows if offline else _online_rows)(scores, records_page,
                                                                set(groups))
    aggregates = []
    agg_path = os.path.join(tdir, "aggregates.csv")
    if not offline and os.path.exists(agg_path):
        for a in _read_csv(agg_path):
            if a["metric"] == "normalized" and a["statistic"] in ("iqm", "mean"):
                aggregates.append({"protocol": a["protocol"], "agent": a["agent"],
                                   "statistic": a["statistic"], "envs": a["n_envs"],
                                   "runs": a["runs"], "point": fmt(a["point"]),
                                   "ci": f"[{fmt(a['lo'])}, {fmt(a['hi'])}]",
                                   "sort": a["point"]})
    figures, generated = [], []
    for f in sorted(os.listdir(tdir)):
        if any(p.match(f) for p in FIGURE_PATTERNS):
            figures.append(_copy(os.path.join(tdir, f), site_dir, f"tables/{slug(name)}/{f}"))
        elif f.endswith((".md", ".csv")):
            generated.append((_copy(os.path.join(tdir, f), site_dir,
                                    f"tables/{slug(name)}/{f}"), f))
    return TableView(name, page, records_page, "offline" if offline else "online", header, rows,
                     aggregates, figures, list(files.values()), list(groups.values()),
                     generated)


def _copy(src: str, site_dir: str, href: str) -> str:
    """Copy ``src`` to ``href`` under the site; returns ``href``."""
    dst = os.path.join(site_dir, href)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    return href


# ----------------------------------------------------------------------------- curves
@dataclasses.dataclass
class Chart:
    """One interactive chart: series of (x, mean, lo, hi) per agent (band: 95% CI or ±std)."""

    id: str
    title: str
    ylabel: str
    xlabel: str
    band: str
    series: list[dict[str, Any]]
    source_href: str | None = None


def _series(label: str, xs: Iterable[Any], mean: Iterable[Any], lo: Iterable[Any],
            hi: Iterable[Any]) -> dict[str, Any]:
    return {"label": plot_label(label), "full": label, "x": [int(float(x)) for x in xs],
            "mean": [_num(v) for v in mean], "lo": [_num(v) for v in lo],
            "hi": [_num(v) for v in hi]}


def charts_from_curves(curves: Sequence[S.Curve], source: str, source_href: str | None
                       ) -> dict[str, list[Chart]]:
    """env id -> charts (one per protocol and metric) from ``analysis.scoring`` curves."""
    grouped: dict[tuple[str, str, str], list[S.Curve]] = {}
    for c in curves:
        grouped.setdefault((c.env_id, c.protocol, c.metric), []).append(c)
    out: dict[str, list[Chart]] = {}
    for (env, proto, metric), cs in sorted(grouped.items()):
        out.setdefault(env, []).append(Chart(
            "", f"{source}, protocol {proto}: {metric}", metric, "env steps",
            "95% bootstrap CI over seeds",
            [_series(c.agent, c.steps, c.mean, c.lo, c.hi)
             for c in sorted(cs, key=lambda c: c.agent)], source_href))
    return out


def _curves_from_rows(rows: Sequence[Mapping[str, str]]) -> list[S.Curve]:
    """An online table's ``curves.csv`` rows back as curves (one per protocol, env, agent and
    metric, points in file order); empty cells become NaN (shown as gaps)."""
    grouped: dict[tuple[str, str, str, str], list[Mapping[str, str]]] = {}
    for r in rows:
        grouped.setdefault((r["protocol"], r["env_id"], r["agent"], r["metric"]), []).append(r)

    def col(rs: list[Mapping[str, str]], name: str) -> np.ndarray:
        return np.array([_num(r[name]) for r in rs], dtype=float)  # None -> nan

    return [S.Curve(proto, env, agent, metric, col(rs, "env_steps"), col(rs, "n"),
                    col(rs, "mean"), col(rs, "lo"), col(rs, "hi"))
            for (proto, env, agent, metric), rs in grouped.items()]


def charts_from_csv(view: TableView, tables_dir: str) -> dict[str, list[Chart]]:
    path = os.path.join(tables_dir, view.name, "curves.csv")
    if not os.path.exists(path):
        return {}
    rows = _read_csv(path)
    source = f"table {view.name}"
    if view.kind == "online":
        return charts_from_curves(_curves_from_rows(rows), source, view.page)
    from pamdp_bench.datasets.catalog import parse_id

    out: dict[str, list[Chart]] = {}
    by_ds: dict[str, dict[str, list[Mapping[str, str]]]] = {}
    for r in rows:
        by_ds.setdefault(r["dataset"], {}).setdefault(r["agent"], []).append(r)
    for ds, agents in sorted(by_ds.items()):
        series = []
        for a, rs in sorted(agents.items()):
            m = [float(r["normalized_mean"]) for r in rs]
            s = [_num(r["normalized_std"]) or 0.0 for r in rs]
            series.append(_series(a, [r["grad_steps"] for r in rs], m,
                                  [x - d for x, d in zip(m, s, strict=True)],
                                  [x + d for x, d in zip(m, s, strict=True)]))
        out.setdefault(parse_id(ds).env_id, []).append(Chart(
            "", f"{source}, dataset {ds}: normalized score", "normalized (0-100)",
            "gradient steps", "± std over seeds", series, view.page))
    return out


# ----------------------------------------------------------------------------- writing
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["tojson_script"] = lambda v: jinja2.utils.markupsafe.Markup(
        json.dumps(v, separators=(",", ":"), allow_nan=False).replace("</", "<\\/"))
    return env


def _check_out(out_dir: str) -> None:
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SiteError(f"--out {out_dir}: exists and is not a directory")
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not os.path.exists(
            os.path.join(out_dir, SITE_MARKER)):
        raise SiteError(f"--out {out_dir}: a non-empty directory that is not a site written by "
                        f"`pamdp-bench site` (no {SITE_MARKER}); nothing was changed: choose an "
                        "empty or new directory")


def build_site(out_dir: str, entries_dir: str = L.ENTRIES_DIR, tables_dir: str = TABLES_DIR,
               verify: bool = False, reps: int = St.DEFAULT_REPS, seed: int = St.DEFAULT_SEED
               ) -> SiteReport:
    """Write the site for ``entries_dir`` and ``tables_dir`` into ``out_dir`` (see module doc).

    ``verify``: re-run every entry (``pamdp-bench verify``) and mark it from that result."""
    _check_out(out_dir)
    have_entries = os.path.isdir(entries_dir)
    have_tables = os.path.isdir(tables_dir)
    if not have_entries and not have_tables:
        raise SiteError(f"nothing to publish: neither {entries_dir} (leaderboard entries) nor "
                        f"{tables_dir} (result tables) exists")
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".site-", dir=parent)
    try:
        report = _write(tmp, entries_dir, tables_dir, verify, reps, seed)
        if os.path.isdir(out_dir):
            old = tempfile.mkdtemp(prefix=".site-old-", dir=parent)
            os.rename(out_dir, os.path.join(old, "site"))
            os.rename(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dataclasses.replace(report, out_dir=out_dir)


def _write(site: str, entries_dir: str, tables_dir: str, verify: bool, reps: int, seed: int
           ) -> SiteReport:
    jenv = _environment()
    entries = _load_entries(entries_dir, verify)
    boards, entry_pages, entry_curves = build_board(entries, reps, seed)
    os.makedirs(os.path.join(site, "data", "entries"), exist_ok=True)
    for path, _, _, _ in entries:
        shutil.copyfile(path, os.path.join(site, "data", "entries", os.path.basename(path)))

    sources = _sources(tables_dir) if os.path.isdir(tables_dir) else {}
    names = sorted(d for d in os.listdir(tables_dir)
                   if os.path.isfile(os.path.join(tables_dir, d, "scores.csv"))
                   ) if os.path.isdir(tables_dir) else []
    tables = [build_table(n, tables_dir, sources.get(n, []), site) for n in names]

    charts: dict[str, list[Chart]] = {}
    for proto, curves in entry_curves.items():
        for env, cs in charts_from_curves(curves, "leaderboard", "index.html#board-"
                                          + slug(proto)).items():
            charts.setdefault(env, []).extend(cs)
    for view in tables:
        for env, cs in charts_from_csv(view, tables_dir).items():
            charts.setdefault(env, []).extend(cs)
    envs = sorted(charts, key=A.env_sort_key)

    nav_envs = [(e, A.display_name(e), f"env-{slug(e)}.html") for e in envs]
    common = {"nav_envs": nav_envs, "tables": tables}
    pages: list[str] = []

    def page(name: str, template: str, **kw: Any) -> None:
        html = jenv.get_template(template).render(**common, **kw)
        with open(os.path.join(site, name), "w", encoding="utf-8") as f:
            f.write(html)
        pages.append(name)

    page("index.html", "index.html", title="Leaderboard", boards=boards,
         n_entries=len(entries))
    for ep in entry_pages:
        page(ep.path, "entry.html", title=f"{ep.entry['agent']} on {ep.entry['protocol']}",
             ep=ep)
    for view in tables:
        page(view.page, "table.html", title=f"Table {view.name}", t=view)
        page(view.records_page, "records.html", title=f"Records of table {view.name}", t=view)
    for env, title, href in nav_envs:
        cs = charts[env]
        for i, c in enumerate(cs):
            c.id = f"chart-{i}"
        page(href, "env.html", title=title, env_id=env, charts=cs,
             chart_data=[dataclasses.asdict(c) for c in cs])

    static = os.path.join(site, "static")
    shutil.copytree(STATIC_DIR, static)
    with open(os.path.join(site, SITE_MARKER), "w") as f:
        f.write("written by pamdp-bench site; the directory is replaced on the next build\n")
    with open(os.path.join(site, ".nojekyll"), "w"):
        pass  # GitHub Pages: serve the files as they are
    return SiteReport(site, tuple(pages), tuple(b.protocol for b in boards), len(entries),
                      tuple(t.name for t in tables), tuple(envs))
