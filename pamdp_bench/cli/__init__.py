"""The ``pamdp-bench`` command line: ``pamdp-bench COMMAND [ARGS] [--flags]``.

Commands:
  train        train an agent on a protocol:  --agent=random --protocol=quick --out=DIR
               [--env=ID[,ID]] [--seeds=N] [--resume]; records -> DIR/results.jsonl
  eval         evaluate a non-learning agent (random, scripted) on envs; prints a table
  table        score tables (markdown, CSV, PNG) from result files/dirs:  table PATH... --out=DIR
  submit       run a protocol for an agent and write a leaderboard entry:
               submit AGENT_OR_MODULE:CLASS --protocol=P [--seeds=N] [--out=DIR]
  verify       re-run one seed of an entry and check it reproduces:  verify ENTRY.json [--seed=S]
  leaderboard  regenerate results/leaderboard.md from the entries
  conformance  replay golden trajectories (and stats.json) from DIR; exit 1 on mismatch
  bench        env throughput (steps/s at several batch sizes) -> results/bench/envs.{json,md};
               with --agent=NAME --env=ID [--seeds=N]: that agent's training speed (last line JSON)
  render       one random-policy episode of --env to PNG frames and a GIF
  envs         list the registered env ids with their spaces

Every flag is listed by ``pamdp-bench COMMAND --helpfull``. Exit codes: 0 ok, 1 a check
failed (conformance, verify), 2 bad input (unknown ids, malformed files, refused runs).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
from absl import app, flags, logging

COMMANDS = ("train", "eval", "table", "submit", "verify", "leaderboard", "conformance",
            "bench", "render", "envs")

FLAGS = flags.FLAGS
flags.DEFINE_list("env", None, "Env id(s), comma separated; default: the protocol's / all eight.")
flags.DEFINE_string("agent", "random",
                    "Agent name, module:Class, or spec NAME[field=value,...] (train, eval, bench).")
flags.DEFINE_multi_string("config", [], "train/bench/submit: agent config override field=value "
                          "(JSON value; repeatable); folded into the agent spec.")
flags.DEFINE_string("protocol", "quick", "Protocol name (experiments/NAME.toml) or path.")
flags.DEFINE_integer("seeds", None, "Number of seeds (default: the protocol's).")
flags.DEFINE_integer("seed_offset", 0, "train: index of the first seed.")
flags.DEFINE_string("out", None, "Output directory (train, table, bench, render, submit).")
flags.DEFINE_bool("resume", False, "train: continue from the last checkpoint in --out.")
flags.DEFINE_bool("supported_only", False,
                  "train: skip the protocol's envs the agent cannot handle (e.g. scripted).")
flags.DEFINE_integer("budget", None, "train/submit: override the protocol's env-step budget.")
flags.DEFINE_integer("eval_interval", None, "train/submit: override the evaluation interval.")
flags.DEFINE_integer("eval_episodes", None, "train/submit: override evaluation episodes.")
flags.DEFINE_integer("episodes", 1000, "eval: episodes per env.")
flags.DEFINE_integer("seed", 0, "PRNG seed (eval, render, table bootstrap); verify: the seed.")
flags.DEFINE_integer("reps", 2000, "table: bootstrap replicates.")
flags.DEFINE_string("filter_protocol", None, "table: only records of this protocol.")
flags.DEFINE_string("entries", os.path.join("results", "leaderboard", "entries"),
                    "leaderboard/submit: the entries directory.")
flags.DEFINE_list("only", None, "conformance: only these golden benchmarks (e.g. goal,platform).")
flags.DEFINE_bool("stats", True, "conformance: also check stats.json when the directory has it.")
flags.DEFINE_float("stats_scale", 1.0, "conformance: fraction of the recorded sample counts.")
flags.DEFINE_bool("x64", False, "conformance: replay in float64 (enables jax x64).")
flags.DEFINE_bool("verbose", False, "conformance: print every statistical comparison.")
flags.DEFINE_list("batches", ["1", "256", "4096"], "bench: batch sizes.")
flags.DEFINE_string("suite", "envs", "bench: envs (env throughput), dlpa or modelfree "
                    "(agent benches written to --out/SUITE.json; --agent='a;b' restricts them).")
flags.DEFINE_integer("bench_budget", 200_000, "bench: agent steps per timed call.")
flags.DEFINE_integer("repeats", 5, "bench: timed calls per configuration (median reported).")
flags.DEFINE_string("readme", None, "bench: also update the table between the README's markers.")
flags.DEFINE_integer("max_steps", 0, "render: step limit (0: the env's own cap).")


def _env_ids(default_all: bool = True) -> list[str] | None:
    from pamdp_bench.registry import BENCHMARK_IDS

    if FLAGS.env:
        return list(FLAGS.env)
    return list(BENCHMARK_IDS) if default_all else None


def _agent(name: str | None = None) -> str:
    """The agent spec: ``--agent`` (or ``name``) with every ``--config field=value`` added."""
    from pamdp_bench.agents import agent_spec, parse_agent_spec

    base, overrides = parse_agent_spec(name or FLAGS.agent)
    extra = parse_agent_spec(f"{base}[{','.join(FLAGS.config)}]")[1] if FLAGS.config else {}
    clash = set(extra) & set(overrides)
    if clash:
        raise ValueError(f"config field(s) {sorted(clash)} given both in the agent spec and in "
                         "--config")
    return agent_spec(base, {**overrides, **extra})


def _need(args: list[str], n: int, usage: str) -> None:
    if len(args) < n:
        raise ValueError(f"usage: pamdp-bench {usage}")


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
) -> int:
    """``pamdp-bench train``: run and report; returns the exit code (2: refused/bad input)."""
    from pamdp_bench.harness import runner
    from pamdp_bench.harness.checkpoints import CheckpointError
    from pamdp_bench.harness.records import ResultFileError

    try:
        records = runner.train(agent, protocol, out_dir, envs=envs, seeds=seeds, resume=resume,
                        seed_offset=seed_offset, budget=budget, eval_interval=eval_interval,
                        eval_episodes=eval_episodes)
    except (runner.RunError, CheckpointError, ResultFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    final = [r for r in records if r["final"]]
    by_env: dict[str, list[dict[str, Any]]] = {}
    for r in final:
        by_env.setdefault(r["env_id"], []).append(r)
    for env_id, rs in by_env.items():
        ret = np.asarray([r["return_mean"] for r in rs])
        succ = np.asarray([r["success_rate"] for r in rs])
        print(f"{env_id}: final return {ret.mean():.3f} ± {ret.std():.3f}, success rate "
              f"{succ.mean():.3f} ± {succ.std():.3f} (n={len(rs)} seeds)")
    print(f"results: {os.path.join(os.path.abspath(out_dir), 'results.jsonl')}")
    return 0


def cmd_train(args: list[str]) -> int:
    if not FLAGS.out:
        raise ValueError("train needs --out=DIR (records go to DIR/results.jsonl)")
    envs = _env_ids(default_all=False)
    if FLAGS.supported_only:
        from pamdp_bench.agents import supports
        from pamdp_bench.protocols import load_protocol

        envs = [e for e in envs or load_protocol(FLAGS.protocol).envs
                if supports(_agent(), e)]
        if not envs:
            print(f"{_agent()}: no env of protocol {FLAGS.protocol} is supported; skipped")
            return 0
    return train_cli(_agent(), FLAGS.protocol, envs, FLAGS.seeds,
                     FLAGS.out, FLAGS.resume, FLAGS.seed_offset, budget=FLAGS.budget,
                     eval_interval=FLAGS.eval_interval, eval_episodes=FLAGS.eval_episodes)


def cmd_eval(args: list[str]) -> int:
    from pamdp_bench.harness.evaluate import evaluate_agent, format_table

    rows = evaluate_agent(FLAGS.agent, _env_ids(), FLAGS.episodes, FLAGS.seed,
                          log=logging.info)
    print(format_table(rows))
    return 0


def cmd_table(args: list[str]) -> int:
    from pamdp_bench.analysis.tables import table_cli

    _need(args, 1, "table RESULTS_FILE_OR_DIR... --out=DIR")
    out = FLAGS.out or os.path.join("results", "tables")
    return table_cli(args, out, FLAGS.filter_protocol, reps=FLAGS.reps, seed=FLAGS.seed)


def cmd_submit(args: list[str]) -> int:
    from pamdp_bench.analysis import leaderboard

    _need(args, 1, "submit AGENT_OR_MODULE:CLASS --protocol=P")
    agent = _agent(args[0])
    out = FLAGS.out or os.path.join("results", "runs", FLAGS.protocol, agent.replace(":", "."))
    overrides = {"budget": FLAGS.budget, "eval_interval": FLAGS.eval_interval,
                 "eval_episodes": FLAGS.eval_episodes}
    path = leaderboard.submit(agent, FLAGS.protocol, out, FLAGS.entries,
                              envs=_env_ids(default_all=False), seeds=FLAGS.seeds,
                              overrides=overrides)
    print(f"wrote entry {path}; `pamdp-bench verify {path}` checks it, "
          "`pamdp-bench leaderboard` adds it to results/leaderboard.md")
    return 0


def cmd_verify(args: list[str]) -> int:
    from pamdp_bench.analysis import leaderboard

    _need(args, 1, "verify ENTRY.json [--seed=S]")
    seed = FLAGS.seed if FLAGS["seed"].present else None
    result = leaderboard.verify(args[0], seed)
    print(result.describe())
    return 0 if result.ok else 1


def cmd_leaderboard(args: list[str]) -> int:
    from pamdp_bench.analysis import leaderboard

    out = FLAGS.out or leaderboard.BOARD_PATH
    print(leaderboard.render_board(FLAGS.entries, out))
    print(f"wrote {out}")
    return 0


def cmd_conformance(args: list[str]) -> int:
    _need(args, 1, "conformance DIR [--only=a,b] [--nostats] [--x64]")
    directory = args[0]
    import jax
    import jax.numpy as jnp

    from pamdp_bench.tools import conformance, golden_stats

    dtype = jnp.float32
    if FLAGS.x64:
        jax.config.update("jax_enable_x64", True)
        dtype = jnp.float64
    reports = conformance.run_replays(directory, FLAGS.only, dtype)
    if not reports:
        raise ValueError(f"no trajectory files in {directory}")
    ok = True
    print(f"trajectory replay ({'float64' if FLAGS.x64 else 'float32'}, noise off), "
          f"tolerance |diff| <= {conformance.OBS_ATOL:g} + {conformance.OBS_RTOL:g}*|ref|:")
    for rep in reports:
        print(rep.line())
        for div in rep.divergences:
            print("     diverged: " + div.describe())
        ok &= rep.ok
    stats_path = os.path.join(directory, "stats.json")
    if FLAGS.stats and os.path.exists(stats_path) and not FLAGS.only:
        checks = golden_stats.run_stats(stats_path, scale=FLAGS.stats_scale)
        failed = [c for c in checks if not c.ok]
        print(f"statistics (noise on) vs {stats_path}: {len(checks) - len(failed)}/"
              f"{len(checks)} comparisons within bounds")
        for c in checks:
            if FLAGS.verbose or not c.ok or c.section.startswith("random_policy"):
                print("  " + c.describe())
        ok &= not failed
    print("conformance: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def cmd_bench(args: list[str]) -> int:
    if FLAGS.suite != "envs":  # the agent suites of `make bench`
        from pamdp_bench.tools.bench_agents import run_suite

        agents = FLAGS.agent.split(";") if FLAGS["agent"].present else None
        path = run_suite(FLAGS.suite, FLAGS.out or os.path.join("results", "bench"), agents)
        print(f"wrote {path}")
        return 0
    if FLAGS["agent"].present:  # agent training/planning speed instead of env throughput
        from pamdp_bench.tools.bench_agents import bench_agent_cli

        env_id = (FLAGS.env or ["Platform-v0"])[0]
        return bench_agent_cli(_agent(), env_id, FLAGS.seeds or 1)
    from pamdp_bench.tools import bench_envs as bench

    record = bench.run_bench(_env_ids(), [int(b) for b in FLAGS.batches], FLAGS.bench_budget,
                             FLAGS.repeats)
    out = FLAGS.out or os.path.join("results", "bench")
    json_path, md_path = bench.write_results(record, out)
    if FLAGS.readme and not bench.update_readme(record, FLAGS.readme):
        print(f"warning: {FLAGS.readme} has no bench markers; not updated", file=sys.stderr)
    print(bench.markdown_table(record))
    print(f"wrote {json_path} and {md_path}")
    return 0


def cmd_render(args: list[str]) -> int:
    from pamdp_bench.envs.rendering import render_episode_cli

    env_id = (FLAGS.env or ["Platform-v0"])[0]
    out = FLAGS.out or os.path.join("renders", env_id)
    paths = render_episode_cli(env_id, out, FLAGS.seed, FLAGS.max_steps)
    print(f"wrote {len(paths)} files under {out} (GIF: {paths[-1]})")
    return 0


def cmd_envs(args: list[str]) -> int:
    from pamdp_bench.registry import BENCHMARK_IDS, make

    print("| id | obs dim | K | param dims | episode cap |")
    print("|---|---|---|---|---|")
    for env_id in BENCHMARK_IDS:
        env, params = make(env_id)
        space = env.pamdp_space
        dims = space.param_dims if space.num_actions <= 11 else f"1 each ({space.num_actions})"
        print(f"| {env_id} | {env.obs_dim} | {space.num_actions} | {dims} | "
              f"{params.max_steps_in_episode} |")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        if len(argv) >= 2:
            print(f"error: unknown command {argv[1]!r}; choose from {', '.join(COMMANDS)}",
                  file=sys.stderr)
        return 2
    command, rest = argv[1], argv[2:]
    try:
        return globals()[f"cmd_{command}"](rest)
    except ValueError as err:  # bad ids, malformed files, refused runs: a message, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def run() -> None:
    """Console-script entry point."""
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
