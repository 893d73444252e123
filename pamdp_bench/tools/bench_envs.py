"""Environment throughput: random-policy agent steps per second under one ``jit``.

For every env and batch size, one jitted function resets a ``vmap`` batch and runs
``lax.scan`` over steps of the vmapped gymnax ``step`` (auto-reset included) with actions
sampled from the hybrid action space inside the scan. Compile time is measured separately
(``lower`` + ``compile``); the timed calls run the compiled function on fresh keys and block
on the result. Each configuration is repeated and the median is reported.

The anchors are the original implementations' speeds measured on this kind of machine
(2 cores) through the same agent-side stack, one process, uniform-random policy; the ratio
column is ours / original.
"""

from __future__ import annotations

import json
import os
import platform as host_platform
import statistics
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from pamdp_bench import __version__
from pamdp_bench.registry import BENCHMARK_IDS, make

#: Original code, agent steps/s, random policy, this machine kind (issue #2).
ORIGINAL_STEPS_PER_SECOND: dict[str, float] = {
    "Platform-v0": 126,
    "Goal-v0": 442,
    "HardGoal-v0": 810,
    "CatchPoint-v0": 17_363,
    "HardMove-n4-v0": 6_438,
    "HardMove-n6-v0": 3_770,
    "HardMove-n8-v0": 1_058,
    "HardMove-n10-v0": 225,
}
#: Required speed-up at batch 4096 on this 2-core CPU (issue #2).
TARGET_RATIO: dict[str, float] = {
    "Platform-v0": 1000,
    "Goal-v0": 200,
    "HardGoal-v0": 100,
    "CatchPoint-v0": 250,
    "HardMove-n4-v0": 750,
    "HardMove-n6-v0": 1000,
    "HardMove-n8-v0": 1000,
    "HardMove-n10-v0": 1000,
}


def make_runner(env_id: str, batch: int, num_steps: int) -> Any:
    """A jittable ``key -> (sum of rewards, episodes ended)`` over ``batch x num_steps`` steps."""
    env, params = make(env_id)
    space = env.pamdp_space

    def run(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, key = jax.random.split(key)
        _, state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(reset_key, batch), params
        )

        def body(carry: Any, step_key: jax.Array) -> tuple[Any, None]:
            state, reward_sum, ended = carry
            act_key, env_key = jax.random.split(step_key)
            actions = jax.vmap(space.sample_rand_action)(jax.random.split(act_key, batch))
            _, state, reward, terminated, truncated, _ = jax.vmap(
                env.step, in_axes=(0, 0, 0, None)
            )(jax.random.split(env_key, batch), state, actions, params)
            ended = ended + jnp.sum(terminated | truncated)
            return (state, reward_sum + jnp.sum(reward), ended), None

        init = (state, jnp.float32(0.0), jnp.int32(0))
        (_, reward_sum, ended), _ = jax.lax.scan(body, init, jax.random.split(key, num_steps))
        return reward_sum, ended

    return run


def bench_env(
    env_id: str, batch: int, num_steps: int, repeats: int = 5
) -> dict[str, Any]:
    """Compile once, time ``repeats`` runs; steps/s from the median run."""
    run = jax.jit(make_runner(env_id, batch, num_steps))
    key = jax.random.key(0)
    t0 = time.perf_counter()
    compiled = run.lower(key).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(key))  # warm-up (allocations, thread pools)
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(r + 1)))
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    sps = batch * num_steps / med
    return {
        "env_id": env_id,
        "batch": batch,
        "steps_per_call": num_steps,
        "repeats": repeats,
        "seconds_median": med,
        "seconds_all": times,
        "steps_per_second": sps,
        "compile_seconds": compile_s,
    }


def steps_for(batch: int, budget: int) -> int:
    """Scan length giving roughly ``budget`` agent steps per timed call."""
    return max(20, budget // batch)


def run_bench(
    env_ids: Sequence[str] = BENCHMARK_IDS,
    batches: Sequence[int] = (1, 256, 4096),
    budget: int = 200_000,
    repeats: int = 5,
    log: Any = print,
) -> dict[str, Any]:
    """Benchmark every env x batch; returns the JSON-able record (with machine provenance)."""
    rows = []
    for env_id in env_ids:
        for b in batches:
            row = bench_env(env_id, b, steps_for(b, budget), repeats)
            orig = ORIGINAL_STEPS_PER_SECOND.get(env_id)
            row["original_steps_per_second"] = orig
            row["ratio_vs_original"] = row["steps_per_second"] / orig if orig else None
            rows.append(row)
            log(
                f"{env_id:<17} batch {b:>5}: {row['steps_per_second']:>13,.0f} steps/s"
                f"  (compile {row['compile_seconds']:.1f} s"
                + (f", {row['ratio_vs_original']:,.0f}x original)" if orig else ")")
            )
    return {
        "what": "random-policy agent steps/s, lax.scan over vmapped env.step incl. sampling "
        "and auto-reset, median of repeats",
        "pamdp_bench_version": __version__,
        "jax_version": jax.__version__,
        "device": str(jax.devices()[0].device_kind),
        "cpu_count": os.cpu_count(),
        "machine": host_platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }


def markdown_table(record: dict[str, Any]) -> str:
    """README table: steps/s per env and batch, ratio and target at the largest batch."""
    rows = record["rows"]
    batches = sorted({r["batch"] for r in rows})
    envs = list(dict.fromkeys(r["env_id"] for r in rows))
    head = ["env"] + [f"batch {b}" for b in batches] + [
        "original", f"ratio @{batches[-1]}", "target", "compile (s)"
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for env_id in envs:
        by_b = {r["batch"]: r for r in rows if r["env_id"] == env_id}
        top = by_b[batches[-1]]
        orig = ORIGINAL_STEPS_PER_SECOND.get(env_id)
        target = TARGET_RATIO.get(env_id)
        ratio = top["ratio_vs_original"]
        met = "" if target is None or ratio is None else (" ✓" if ratio >= target else " ✗")
        cells = [env_id] + [f"{by_b[b]['steps_per_second']:,.0f}" for b in batches] + [
            f"{orig:,}" if orig else "—",
            f"{ratio:,.0f}x{met}" if ratio else "—",
            f"{target:,.0f}x" if target else "—",
            f"{max(r['compile_seconds'] for r in by_b.values()):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Measured {record['date']} on {record['cpu_count']} CPU cores ({record['machine']}, "
        f"jax {record['jax_version']}), median of {rows[0]['repeats']} timed calls; "
        "`make bench` regenerates this table."
    )
    return "\n".join(lines)


def write_results(record: dict[str, Any], out_dir: str) -> tuple[str, str]:
    """Write ``envs.json`` and ``envs.md`` under ``out_dir``; returns the two paths."""
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "envs.json")
    md_path = os.path.join(out_dir, "envs.md")
    with open(json_path, "w") as f:
        json.dump(record, f, indent=1)
    with open(md_path, "w") as f:
        f.write(markdown_table(record) + "\n")
    return json_path, md_path


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(record: dict[str, Any], readme_path: str) -> bool:
    """Replace the table between the bench markers of a README; False if it has none."""
    with open(readme_path) as f:
        text = f.read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    table = markdown_table(record)
    text = text[: start + len(README_START)] + "\n" + table + "\n" + text[end:]
    with open(readme_path, "w") as f:
        f.write(text)
    return True
