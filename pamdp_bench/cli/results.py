"""``pamdp-bench table``, ``scale``, ``submit``, ``verify`` and ``leaderboard``: from records
to tables and leaderboard entries."""

from __future__ import annotations

import argparse
import os

from pamdp_bench.cli.common import Command, add_agent_config, add_env, add_run_overrides, agent_spec

ENTRIES = os.path.join("results", "leaderboard", "entries")


def _table_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="result files or run directories")
    p.add_argument("--out", default=os.path.join("results", "tables"), metavar="DIR",
                   help="where the markdown, CSV and PNG go (default: %(default)s)")
    p.add_argument("--filter_protocol", metavar="NAME", help="only records of this protocol")
    p.add_argument("--reps", type=int, default=2000, metavar="N",
                   help="bootstrap replicates (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="PRNG seed of the bootstrap (default: %(default)s)")
    p.add_argument("--manifest", default=None, metavar="FILE",
                   help="offline records: the datasets manifest holding the normalisation "
                        "anchors (default: results/datasets/manifest.json)")
    p.add_argument("--train_metrics", default="", metavar="NAME[,NAME]",
                   help="also tabulate these training metrics of the records (names as in "
                        "their train_metrics, e.g. model/reward_loss) per evaluation point: "
                        "train_metrics.md / .csv")


def cmd_table(a: argparse.Namespace) -> int:
    from pamdp_bench.analysis.tables import table_cli

    names = [n for n in a.train_metrics.split(",") if n]
    return table_cli(a.paths, a.out, a.filter_protocol, reps=a.reps, seed=a.seed,
                     manifest=a.manifest, train_metrics=names)


def _scale_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", default=[os.path.join("results", "runs", "scale")],
                   metavar="PATH", help="result files or run directories of the scale "
                   "protocol (default: results/runs/scale)")
    p.add_argument("--bench", default=os.path.join("results", "bench", "scale.json"),
                   metavar="FILE", help="per-step costs from `bench --suite=scale` "
                   "(default: %(default)s)")
    p.add_argument("--out", default=os.path.join("results", "tables", "scale"), metavar="DIR",
                   help="where scale.md / .csv / .png go (default: %(default)s)")


def cmd_scale(a: argparse.Namespace) -> int:
    from pamdp_bench.analysis.scale import build_scale

    md, files = build_scale(a.paths, a.bench, a.out)
    print(md)
    print("wrote " + ", ".join(files))
    return 0


def _submit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("agent", metavar="AGENT",
                   help="agent name, module:Class, or spec NAME[field=value,...]")
    add_agent_config(p)
    p.add_argument("--protocol", default="quick", metavar="NAME_OR_PATH",
                   help="protocol name or path (default: %(default)s)")
    add_env(p, "env id(s) (default: the protocol's)")
    add_run_overrides(p)
    p.add_argument("--out", metavar="DIR",
                   help="run directory (default: results/runs/PROTOCOL/AGENT)")
    p.add_argument("--entries", default=ENTRIES, metavar="DIR",
                   help="the entries directory (default: %(default)s)")


def cmd_submit(a: argparse.Namespace) -> int:
    from pamdp_bench.analysis import leaderboard

    agent = agent_spec(a.agent, a.config)
    out = a.out or os.path.join("results", "runs", a.protocol, agent.replace(":", "."))
    overrides = {"budget": a.budget, "eval_interval": a.eval_interval,
                 "eval_episodes": a.eval_episodes}
    path = leaderboard.submit(agent, a.protocol, out, a.entries, envs=a.env or None,
                              seeds=a.seeds, overrides=overrides)
    print(f"wrote entry {path}; `pamdp-bench verify {path}` checks it, "
          "`pamdp-bench leaderboard` adds it to results/leaderboard.md")
    return 0


class _SeedIndexGone(argparse.Action):
    """verify's old ``--seed`` / ``--seed_index``: refused with the reason (a seed re-run alone
    is not bitwise equal to the same seed in the entry's batch)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(f"{option_string} is gone: verify re-runs the entry's whole seed batch (a "
                     "seed run alone differs from the same seed in a vmapped batch); use "
                     "--env=ID[,ID] to verify a subset of the envs")


def _verify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("entry", metavar="ENTRY.json", help="a leaderboard entry")
    add_env(p, "verify only these env(s) of the entry (default: all; each env costs what its "
               "submission cost)")
    for old in ("--seed_index", "--seed"):
        p.add_argument(old, action=_SeedIndexGone, help=argparse.SUPPRESS)


def cmd_verify(a: argparse.Namespace) -> int:
    from pamdp_bench.analysis import leaderboard

    result = leaderboard.verify(a.entry, a.env or None)
    print(result.describe())
    return 0 if result.ok else 1


def _leaderboard_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--entries", default=ENTRIES, metavar="DIR",
                   help="the entries directory (default: %(default)s)")
    p.add_argument("--out", metavar="FILE",
                   help="the board to write (default: leaderboard.md two levels above "
                   "--entries, i.e. results/leaderboard.md)")
    p.add_argument("--verify", action="store_true",
                   help="re-verify every entry (re-runs them) instead of reading verdict files")


def cmd_leaderboard(a: argparse.Namespace) -> int:
    from pamdp_bench.analysis import leaderboard

    if not os.path.isdir(a.entries):
        raise ValueError(f"no entries directory {os.path.abspath(a.entries)} (run from the "
                         "repository root, or pass --entries=DIR)")
    out = a.out or leaderboard.board_path(a.entries)
    print(leaderboard.render_board(a.entries, out, reverify=a.verify))
    print(f"wrote {out}")
    return 0


def _site_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="site", metavar="DIR",
                   help="where the site goes (default: %(default)s); an existing DIR is "
                   "replaced only if it holds an earlier site")
    p.add_argument("--entries", default=ENTRIES, metavar="DIR",
                   help="leaderboard entries (default: %(default)s)")
    p.add_argument("--tables", default=os.path.join("results", "tables"), metavar="DIR",
                   help="committed tables and their sources.json (default: %(default)s)")
    p.add_argument("--verify", action="store_true",
                   help="re-verify every entry (re-runs them) instead of reading verdict files")
    p.add_argument("--screenshot", metavar="PNG",
                   help="also save a headless-Chromium screenshot of the leaderboard page")


def cmd_site(a: argparse.Namespace) -> int:
    from pamdp_bench.site import build_site

    report = build_site(a.out, a.entries, a.tables, verify=a.verify)
    print(f"wrote {len(report.pages)} pages to {report.out_dir}: {report.entries} entries, "
          f"tables {', '.join(report.tables) or '-'}, {len(report.envs)} env pages; open "
          f"{os.path.join(report.out_dir, 'index.html')}")
    if a.screenshot:
        from pamdp_bench.site import browser

        try:
            browser.screenshot(os.path.join(report.out_dir, "index.html"), a.screenshot)
        except browser.BrowserUnavailable as err:
            raise ValueError(str(err)) from err
        print(f"wrote {a.screenshot}")
    return 0


COMMANDS = (
    Command("table", "score tables (markdown, CSV, PNG) from result files/dirs",
            _table_arguments, cmd_table, "PATH... [--out=DIR] [--filter_protocol=NAME]"),
    Command("scale", "the scaling study's table and plot (success and cost against Hard Move n)",
            _scale_arguments, cmd_scale, "[PATH...] [--bench=FILE] [--out=DIR]"),
    Command("submit", "run a protocol for an agent and write a leaderboard entry",
            _submit_arguments, cmd_submit, "AGENT_OR_MODULE:CLASS [--protocol=P] [--seeds=N]"),
    Command("verify", "re-run an entry's seed batch and check every record reproduces (exit 1 "
            "if not)", _verify_arguments, cmd_verify, "ENTRY.json [--env=ID[,ID]]"),
    Command("leaderboard", "regenerate results/leaderboard.md from the entries",
            _leaderboard_arguments, cmd_leaderboard, "[--entries=DIR] [--out=FILE] [--verify]"),
    Command("site", "the leaderboard, tables and learning curves as a static web site",
            _site_arguments, cmd_site, "[--out=DIR] [--entries=DIR] [--tables=DIR] [--verify]"),
)
