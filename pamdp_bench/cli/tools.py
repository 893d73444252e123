"""``pamdp-bench conformance``, ``bench``, ``render`` and ``envs``: checks, speed, pictures
and the env list."""

from __future__ import annotations

import argparse
import os
import sys

from pamdp_bench.cli.common import (
    Command,
    add_agent_config,
    add_bool,
    add_env,
    agent_spec,
    comma_list,
    env_ids,
    int_list,
)


def _conformance_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", metavar="DIR", help="the golden directory")
    p.add_argument("--only", type=comma_list, metavar="NAME[,NAME...]",
                   help="only these golden benchmarks (e.g. goal,platform); skips stats.json")
    add_bool(p, "stats", "also check stats.json when DIR has it (default: on)", default=True,
             negation_shown=True)
    p.add_argument("--stats_scale", type=float, default=1.0, metavar="F",
                   help="fraction of the recorded sample counts (default: %(default)s)")
    add_bool(p, "x64", "replay in float64 (enables jax x64)")
    add_bool(p, "verbose", "print every statistical comparison")


def cmd_conformance(a: argparse.Namespace) -> int:
    import jax
    import jax.numpy as jnp

    from pamdp_bench.tools import conformance, golden_stats

    directory = a.directory
    dtype = jnp.float32
    if a.x64:
        jax.config.update("jax_enable_x64", True)
        dtype = jnp.float64
    reports = conformance.run_replays(directory, a.only, dtype)
    if not reports:
        raise ValueError(f"no trajectory files in {directory}")
    ok = True
    print(f"trajectory replay ({'float64' if a.x64 else 'float32'}, noise off), "
          f"tolerance |diff| <= {conformance.OBS_ATOL:g} + {conformance.OBS_RTOL:g}*|ref|:")
    for rep in reports:
        print(rep.line())
        for div in rep.divergences:
            print("     diverged: " + div.describe())
        ok &= rep.ok
    stats_path = os.path.join(directory, "stats.json")
    if a.stats and os.path.exists(stats_path) and not a.only:
        checks = golden_stats.run_stats(stats_path, scale=a.stats_scale)
        failed = [c for c in checks if not c.ok]
        print(f"statistics (noise on) vs {stats_path}: {len(checks) - len(failed)}/"
              f"{len(checks)} comparisons within bounds")
        for c in checks:
            if a.verbose or not c.ok or c.section.startswith("random_policy"):
                print("  " + c.describe())
        ok &= not failed
    print("conformance: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


# bench has three modes; each flag below is read by the modes listed (the others refuse it
# rather than ignore it). Defaults are applied in cmd_bench, so "given" is "not None".
_BENCH_MODES = {
    "with --suite=adapter": ("env", "batches", "repeats", "out"),
    "with --suite=dlpa|modelfree|qmle": ("agent", "env", "out"),
    "with --agent": ("agent", "config", "env", "seeds"),
    "without --agent": ("env", "batches", "bench_budget", "repeats", "out", "readme"),
}
_BENCH_OPTIONAL = ("agent", "config", "env", "seeds", "batches", "bench_budget", "repeats",
                   "out", "readme")


def _bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", default="envs", metavar="NAME",
                   help="envs: env throughput (steps/s at several batch sizes) -> "
                   "--out/envs.{json,md}; adapter: the gymnasium adapters' steps/s -> "
                   "--out/adapter.{json,md}; dlpa, flexplore, modelfree, qmle, offline or "
                   "scale: the agent benches of `make bench` -> --out/SUITE.json (default: "
                   "%(default)s)")
    p.add_argument("--agent", metavar="SPEC",
                   help="envs suite: time this agent's training/planning instead (last line "
                   "JSON); dlpa/modelfree/qmle/... suites: only these agents, 'a;b'")
    add_agent_config(p)
    add_env(p, "env id(s) (default: all eight; with --agent: the first, default Platform-v0; "
               "agent suites: re-measure only these of the suite's envs, keep the other rows)")
    p.add_argument("--seeds", type=int, metavar="N", help="with --agent: seeds (default: 1)")
    p.add_argument("--batches", type=int_list, metavar="B[,B...]",
                   help="envs suite: batch sizes (default: 1,256,4096)")
    p.add_argument("--bench_budget", type=int, metavar="STEPS",
                   help="envs suite: agent steps per timed call (default: 200000)")
    p.add_argument("--repeats", type=int, metavar="N",
                   help="envs suite: timed calls per configuration, median reported "
                   "(default: 5)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: results/bench)")
    p.add_argument("--readme", metavar="FILE",
                   help="envs suite: also update the table between the README's bench markers")


def cmd_bench(a: argparse.Namespace) -> int:
    if a.suite == "adapter":
        mode = "with --suite=adapter"
    elif a.suite != "envs":
        mode = "with --suite=dlpa|modelfree|qmle"
    elif a.agent is not None:
        mode = "with --agent"
    else:
        mode = "without --agent"
    given = [f for f in _BENCH_OPTIONAL if getattr(a, f) not in (None, [])]
    unused = [f"--{f}" for f in given if f not in _BENCH_MODES[mode]]
    if unused:
        raise ValueError(f"bench {mode} does not use {', '.join(unused)}")
    out = a.out or os.path.join("results", "bench")
    if a.suite == "adapter":  # the gymnasium adapters, one env and N envs per call
        from pamdp_bench.tools import bench_adapter

        record = bench_adapter.run(a.env or ["Platform-v0", "CatchPoint-v0"],
                                   a.batches or [1, 64, 1024], a.repeats or 5)
        paths = bench_adapter.write(record, out)
        print(bench_adapter.markdown(record))
        print(f"wrote {paths[0]} and {paths[1]}")
        return 0
    if a.suite != "envs":  # the agent suites of `make bench`
        from pamdp_bench.tools.bench_agents import run_suite

        agents = a.agent.split(";") if a.agent is not None else None
        path = run_suite(a.suite, out, agents, envs=a.env or None)
        print(f"wrote {path}")
        return 0
    if a.agent is not None:  # agent training/planning speed instead of env throughput
        from pamdp_bench.tools.bench_agents import bench_agent_cli

        env_id = (a.env or ["Platform-v0"])[0]
        return bench_agent_cli(agent_spec(a.agent, a.config), env_id, a.seeds or 1)
    from pamdp_bench.tools import bench_envs as bench

    record = bench.run_bench(env_ids(a.env), a.batches or [1, 256, 4096],
                             a.bench_budget or 200_000, a.repeats or 5)
    json_path, md_path = bench.write_results(record, out)
    if a.readme and not bench.update_readme(record, a.readme):
        print(f"warning: {a.readme} has no bench markers; not updated", file=sys.stderr)
    print(bench.markdown_table(record))
    print(f"wrote {json_path} and {md_path}")
    return 0


def _render_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="Platform-v0", metavar="ID",
                   help="the env (default: %(default)s)")
    p.add_argument("--out", metavar="DIR", help="output directory (default: renders/ENV)")
    p.add_argument("--seed", type=int, default=0,
                   help="PRNG seed of the episode; with --run also the run's seed index whose "
                   "agent acts (default: %(default)s)")
    p.add_argument("--max_steps", type=int, default=0, metavar="N",
                   help="step limit (default 0: the env's own cap)")
    p.add_argument("--run", metavar="RUN_DIR",
                   help="render the trained agent of this run (`pamdp-bench train --out`), "
                   "from its newest checkpoint or --step, acting deterministically")
    p.add_argument("--step", type=int, metavar="N", help="with --run: the checkpoint at N env "
                   "steps")
    p.add_argument("--tries", type=int, default=1, metavar="N",
                   help="play up to N episodes (keys seed, seed+1, ...) and keep the first that "
                   "succeeds, e.g. a scoring Goal episode (default: %(default)s)")


def cmd_render(a: argparse.Namespace) -> int:
    if "," in a.env:
        raise ValueError(f"render takes one env, not {a.env!r}")
    from pamdp_bench.envs.rendering import render_episode_cli

    if a.step is not None and a.run is None:
        raise ValueError("--step needs --run")
    out = a.out or os.path.join("renders", a.env)
    paths = render_episode_cli(a.env, out, a.seed, a.max_steps, run=a.run, step=a.step,
                               tries=a.tries)
    print(f"wrote {len(paths)} files under {out} (GIF: {paths[-1]})")
    return 0


def cmd_envs(a: argparse.Namespace) -> int:
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


COMMANDS = (
    Command("conformance", "replay golden trajectories (and stats.json) from DIR; exit 1 on "
            "mismatch", _conformance_arguments, cmd_conformance,
            "DIR [--only=a,b] [--nostats] [--x64] [--verbose]"),
    Command("bench", "env throughput (steps/s per batch size); --agent: that agent's training "
            "speed", _bench_arguments, cmd_bench,
            "[--suite=envs|adapter|dlpa|modelfree|qmle|offline] [--agent=SPEC] [--env=ID] "
            "[--out=DIR]"),
    Command("render", "one episode of --env (random policy, or --run's trained agent) to PNG "
            "frames and a GIF", _render_arguments, cmd_render,
            "[--env=ID] [--run=RUN_DIR [--step=N]] [--seed=S] [--tries=N] [--out=DIR]"),
    Command("envs", "list the registered env ids with their spaces", lambda p: None, cmd_envs),
)
