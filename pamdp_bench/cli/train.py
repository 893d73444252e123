"""``pamdp-bench train`` and ``pamdp-bench eval``: run agents on envs."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from absl import logging

from pamdp_bench.analysis.statistics import format_mean_std
from pamdp_bench.cli.common import (
    Command,
    add_agent_config,
    add_bool,
    add_env,
    add_run_overrides,
    agent_spec,
    env_ids,
)


def train_cli(
    agent: str,
    protocol: str,
    envs: list[str] | None,
    seeds: int | None,
    out_dir: str,
    resume: bool,
    seed_offset: int = 0,
    *,
    budget: int | None = None,
    eval_interval: int | None = None,
    eval_episodes: int | None = None,
    dataset_root: str | None = None,
) -> int:
    """``pamdp-bench train``: run and report; returns the exit code (2: refused/bad input)."""
    from pamdp_bench.harness import runner
    from pamdp_bench.harness.checkpoints import CheckpointError
    from pamdp_bench.harness.records import ResultFileError

    try:
        records = runner.train(agent, protocol, out_dir, envs=envs, seeds=seeds, resume=resume,
                        seed_offset=seed_offset, budget=budget, eval_interval=eval_interval,
                        eval_episodes=eval_episodes, dataset_root=dataset_root)
    except (runner.RunError, CheckpointError, ResultFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(final_summary(records)))
    print(f"results: {os.path.join(os.path.abspath(out_dir), 'results.jsonl')}")
    return 0


def final_summary(records: list[dict[str, Any]]) -> list[str]:
    """One line per task (env, or dataset of an offline run): mean ± std over seeds of each
    seed's latest evaluation, chosen and summarised as the score tables do
    (``analysis.scoring.final_records``, std with ddof=1). A run extended to a larger budget
    holds a final record per budget; only each seed's latest counts."""
    from pamdp_bench.analysis.scoring import final_records

    latest = final_records({**r, "env_id": r.get("dataset") or r["env_id"]} for r in records)
    lines = []
    for (_, task, _), by_seed in latest.items():
        rs = list(by_seed.values())
        lines.append(f"{task}: final return {format_mean_std(r['return_mean'] for r in rs)}, "
                     f"success rate {format_mean_std(r['success_rate'] for r in rs)} "
                     f"(n={len(rs)} seeds, {max(r['env_steps'] for r in rs):,} env steps)")
    return lines


def _train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agent", required=True, metavar="SPEC",
                   help="agent name, module:Class, or spec NAME[field=value,...] (required)")
    add_agent_config(p)
    p.add_argument("--protocol", default="quick", metavar="NAME_OR_PATH",
                   help="protocol name (experiments/NAME.toml) or path (default: %(default)s)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="run directory; records go to DIR/results.jsonl (required)")
    add_env(p, "env id(s) to run (default: the protocol's)")
    add_run_overrides(p)
    p.add_argument("--seed_offset", type=int, default=0, metavar="I",
                   help="index of the first seed (default: %(default)s)")
    add_bool(p, "resume", "continue from the last checkpoint in --out", negation_shown=True)
    p.add_argument("--dataset_root", default=None, metavar="DIR",
                   help="offline protocols: where the datasets live (default: Minari's "
                        "MINARI_DATASETS_PATH or ~/.minari/datasets)")
    add_bool(p, "supported_only",
             "skip the protocol's envs the agent cannot handle (e.g. scripted)")


def cmd_train(a: argparse.Namespace) -> int:
    agent = agent_spec(a.agent, a.config)
    envs = env_ids(a.env, default_all=False)
    if a.supported_only:
        from pamdp_bench.agents import supports
        from pamdp_bench.protocols import load_protocol

        envs = [e for e in envs or load_protocol(a.protocol).envs if supports(agent, e)]
        if not envs:
            print(f"{agent}: no env of protocol {a.protocol} is supported; skipped")
            return 0
    return train_cli(agent, a.protocol, envs, a.seeds, a.out, a.resume, a.seed_offset,
                     budget=a.budget, eval_interval=a.eval_interval,
                     eval_episodes=a.eval_episodes, dataset_root=a.dataset_root)


def _eval_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", metavar="RUN_DIR",
                   help="a run directory of `pamdp-bench train`: evaluate its trained agent "
                   "(every env and seed in it) from its newest checkpoint or --step")
    p.add_argument("--agent", metavar="NAME",
                   help="without RUN_DIR: a non-learning agent, random or scripted "
                   "(default: random)")
    add_env(p, "env id(s) (default: all eight, or every env of RUN_DIR)")
    p.add_argument("--step", type=int, metavar="N",
                   help="with RUN_DIR: the checkpoint at N env steps (default: the newest)")
    p.add_argument("--episodes", type=int, metavar="N",
                   help="episodes per env and seed (default: the run's protocol; 1000 for "
                   "random / scripted)")
    p.add_argument("--seed", type=int, default=0,
                   help="without RUN_DIR: PRNG seed (default: %(default)s)")


def _eval_run(a: argparse.Namespace) -> int:
    import numpy as np

    from pamdp_bench.harness.restore import checkpoint_dirs, load_trained

    envs = a.env or list(checkpoint_dirs(a.run))
    runs = [load_trained(a.run, env_id, a.step) for env_id in envs]  # errors before output
    lines = ["| env | agent | env steps | seed | return mean ± std (episodes) | success | "
             "run's record |", "|---|---|---|---|---|---|---|"]
    for env_id, run in zip(envs, runs, strict=True):
        rows = run.evaluate(a.episodes)
        for r in rows:
            rec = run.recorded(r["seed"])
            same = "—"
            if rec is not None and r["episodes"] == rec["eval_episodes"]:
                same = ("same" if rec["return_mean"] == r["return_mean"]
                        else f"{rec['return_mean']:.4g} (differs)")
            lines.append(f"| {env_id} | {run.meta['agent']} | {run.step} | {r['seed']} | "
                         f"{r['return_mean']:.3f} ± {r['return_std']:.3f} ({r['episodes']}) | "
                         f"{r['success_rate']:.3f} | {same} |")
        if len(rows) > 1:
            ret = format_mean_std(r["return_mean"] for r in rows)
            succ = np.mean([r["success_rate"] for r in rows])
            lines.append(f"| {env_id} | mean over {len(rows)} seeds | {run.step} | | "
                         f"{ret} | {succ:.3f} | |")
    print("\n".join(lines))
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from pamdp_bench.harness.evaluate import evaluate_agent, format_table

    if a.run is not None:
        if a.agent is not None:
            raise ValueError("eval takes RUN_DIR or --agent, not both (the run names its agent)")
        return _eval_run(a)
    if a.step is not None:
        raise ValueError("--step needs RUN_DIR")
    rows = evaluate_agent(a.agent or "random", env_ids(a.env), a.episodes or 1000, a.seed,
                          log=logging.info)
    print(format_table(rows))
    return 0


COMMANDS = (
    Command("train", "train an agent on a protocol; records -> --out/results.jsonl",
            _train_arguments, cmd_train,
            "--agent=SPEC --out=DIR [--protocol=quick] [--env=ID[,ID]] [--seeds=N] [--resume]"),
    Command("eval", "evaluate a trained run (RUN_DIR, from its checkpoints) or a non-learning "
            "agent (random, scripted); prints a table", _eval_arguments, cmd_eval,
            "[RUN_DIR [--step=N]] [--agent=random] [--env=ID[,ID]] [--episodes=N]"),
)
