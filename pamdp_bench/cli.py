"""The ``pamdp-bench`` command line: ``pamdp-bench COMMAND [--flags]``.

Commands:
  eval         random-policy evaluation of envs; prints a score table (the quick demo)
  conformance  replay golden trajectories (and stats.json) from a directory; exit 1 on mismatch
  bench        env throughput (steps/s at several batch sizes) -> results/bench/envs.{json,md}
  render       one episode of an env to PNG frames and a GIF
  envs         list the registered env ids with their spaces

Flags go through absl (``pamdp-bench COMMAND --helpfull`` lists every flag).
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging

COMMANDS = ("eval", "conformance", "bench", "render", "envs")

FLAGS = flags.FLAGS
flags.DEFINE_list("envs", None, "Env ids (comma list); default: the eight benchmarks.")
flags.DEFINE_string("env", "Platform-v0", "Env id (render).")
flags.DEFINE_integer("episodes", 1000, "Episodes per env (eval).")
flags.DEFINE_integer("seed", 0, "PRNG seed.")
flags.DEFINE_list("only", None, "conformance: only these golden benchmarks (e.g. goal,platform).")
flags.DEFINE_bool("stats", True, "conformance: also check stats.json when the directory has it.")
flags.DEFINE_float("stats_scale", 1.0, "conformance: fraction of the recorded sample counts.")
flags.DEFINE_bool("x64", False, "conformance: replay in float64 (enables jax x64).")
flags.DEFINE_bool("verbose", False, "conformance: print every statistical comparison.")
flags.DEFINE_list("batches", ["1", "256", "4096"], "bench: batch sizes.")
flags.DEFINE_integer("budget", 200_000, "bench: agent steps per timed call.")
flags.DEFINE_integer("repeats", 5, "bench: timed calls per configuration (median reported).")
flags.DEFINE_string("out", None, "Output directory (bench: results/bench; render: renders/ENV).")
flags.DEFINE_integer("max_steps", 60, "render: episode step limit.")

USAGE = __doc__


def _env_ids() -> list[str]:
    from pamdp_bench.registry import BENCHMARK_IDS

    return list(FLAGS.envs) if FLAGS.envs else list(BENCHMARK_IDS)


def cmd_eval(args: list[str]) -> int:
    from pamdp_bench.evaluate import evaluate_random, format_table

    rows = evaluate_random(_env_ids(), FLAGS.episodes, FLAGS.seed, log=logging.info)
    print(format_table(rows))
    return 0


def cmd_conformance(args: list[str]) -> int:
    if len(args) != 1:
        print("usage: pamdp-bench conformance DIR [--only=a,b] [--nostats] [--x64]",
              file=sys.stderr)
        return 2
    directory = args[0]
    import jax
    import jax.numpy as jnp

    from pamdp_bench import conformance, golden_stats

    dtype = jnp.float32
    if FLAGS.x64:
        jax.config.update("jax_enable_x64", True)
        dtype = jnp.float64
    try:
        reports = conformance.run_replays(directory, FLAGS.only, dtype)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ok = True
    print(f"trajectory replay ({'float64' if FLAGS.x64 else 'float32'}, noise off), "
          f"tolerance |diff| <= {conformance.OBS_ATOL:g} + {conformance.OBS_RTOL:g}*|ref|:")
    for rep in reports:
        print(rep.line())
        for div in rep.divergences:
            print("     diverged: " + div.describe())
        ok &= rep.ok
    if not reports:
        print(f"error: no trajectory files in {directory}", file=sys.stderr)
        return 2
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
    from pamdp_bench import bench

    record = bench.run_bench(
        _env_ids(), [int(b) for b in FLAGS.batches], FLAGS.budget, FLAGS.repeats
    )
    out = FLAGS.out or os.path.join("results", "bench")
    json_path, md_path = bench.write_results(record, out)
    print(bench.markdown_table(record))
    print(f"wrote {json_path} and {md_path}")
    return 0


def cmd_render(args: list[str]) -> int:
    from pamdp_bench.envs.rendering import render_episode_cli

    out = FLAGS.out or os.path.join("renders", FLAGS.env)
    paths = render_episode_cli(FLAGS.env, out, FLAGS.seed, FLAGS.max_steps)
    print(f"wrote {len(paths)} files under {out} (GIF: {paths[-1]})")
    return 0


def cmd_envs(args: list[str]) -> int:
    from pamdp_bench.registry import BENCHMARK_IDS, make

    print("| id | obs dim | K | param dims | episode cap |")
    print("|---|---|---|---|---|")
    for env_id in BENCHMARK_IDS:
        env, params = make(env_id)
        space = env.pamdp_space
        dims = space.param_dims if len(space.param_dims) <= 11 else f"[1] x {len(space.param_dims)}"
        print(f"| {env_id} | {env.obs_dim} | {space.num_actions} | {dims} | "
              f"{params.max_steps_in_episode} |")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        if len(argv) >= 2:
            print(f"error: unknown command {argv[1]!r}; choose from {', '.join(COMMANDS)}",
                  file=sys.stderr)
        return 2
    command, rest = argv[1], argv[2:]
    try:
        return globals()[f"cmd_{command}"](rest)
    except ValueError as err:  # bad ids, bad files: a message, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def run() -> None:
    """Console-script entry point."""
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
