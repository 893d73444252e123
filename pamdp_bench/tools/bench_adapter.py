"""Speed of the gymnasium adapters (``make bench-adapter`` -> results/bench/adapter.{json,md}).

What PyTorch-style code pays per env step: ``GymnasiumPAMDPEnv.step`` one env at a time (host
validation, one jitted step, one transfer; resets included when episodes end), and
``PAMDPVectorEnv.step`` for N envs in one call. A fixed action sequence (seeded uniform random
actions, drawn before timing) so every row does the same work; median of ``repeats`` timed
windows of ``steps`` calls each, after a warm-up call that compiles.

The single-env rows are measured twice: in this process (all the machine's CPUs) and in a child
process confined to one CPU before jax starts (``os.sched_setaffinity``, what ``taskset -c 0``
does), so XLA's worker threads share the caller's core. Each step hands work between the
Python thread and XLA's threads, and when those sit on different vCPUs every hand-off wakes an
idle vCPU through the hypervisor. How much that costs depends on the host under this 2-vCPU VM:
on one, 4x (Platform: ~500 vs ~2,100 steps/s, 22-31% CPU steal while the unconfined rows ran,
~1% confined); on another, with no steal, 1.04-1.12x (4,692-5,059 vs 5,229-5,279 steps/s,
three runs). The table's steal column says which case a row was measured in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from pamdp_bench.harness.records import provenance
from pamdp_bench.tools.cpu_steal import steal_meter


def _actions(space: Any, n: int, steps: int, seed: int) -> list[tuple[Any, Any]]:
    rng = np.random.default_rng(seed)
    k = rng.integers(0, space.num_actions, (steps, n))
    z = rng.uniform(-1, 1, (steps, n, space.total_param_dim)).astype(np.float32)
    return [(k[t], z[t]) for t in range(steps)]


def bench_single(env_id: str, steps: int = 2000, repeats: int = 5) -> float:
    """Median env steps/s of ``GymnasiumPAMDPEnv.step`` (flat parameters), one env."""
    from pamdp_bench.envs.gymnasium_adapter import GymnasiumPAMDPEnv

    env = GymnasiumPAMDPEnv(env_id, flat_params=True)
    acts = [(int(k[0]), z[0]) for k, z in _actions(env.pamdp_env.pamdp_space, 1, steps, 0)]
    env.reset(seed=0)
    env.step(acts[0])
    rates = []
    for _ in range(repeats):
        env.reset(seed=0)
        t0 = time.perf_counter()
        for a in acts:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        rates.append(steps / (time.perf_counter() - t0))
    return float(np.median(rates))


def bench_vector(env_id: str, num_envs: int, steps: int = 200, repeats: int = 5) -> float:
    """Median env steps/s of ``PAMDPVectorEnv.step`` with ``num_envs`` envs."""
    from pamdp_bench.envs.gymnasium_adapter import PAMDPVectorEnv

    venv = PAMDPVectorEnv(env_id, num_envs=num_envs)
    acts = _actions(venv.pamdp_env.pamdp_space, num_envs, steps, 0)
    venv.reset(seed=0)
    venv.step(acts[0])
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for a in acts:
            venv.step(a)
        rates.append(steps * num_envs / (time.perf_counter() - t0))
    return float(np.median(rates))


def _row(env_id: str, api: str, num_envs: int, measure: Callable[[], float]) -> dict[str, Any]:
    """One result row: ``measure()``'s rate, the CPUs this process may use and the steal."""
    with steal_meter() as m:
        rate = measure()
    return {"env_id": env_id, "api": api, "num_envs": num_envs,
            "cpus": len(os.sched_getaffinity(0)), "env_steps_per_s": rate,
            "cpu_steal": m["steal"]}


def _single_row(env_id: str, repeats: int, steps: int = 2000) -> dict[str, Any]:
    return _row(env_id, "GymnasiumPAMDPEnv", 1,
                partial(bench_single, env_id, steps=steps, repeats=repeats))


def single_row_on_one_cpu(env_id: str, repeats: int, steps: int = 2000) -> dict[str, Any]:
    """``_single_row`` in a child process confined to the lowest CPU this process may use,
    before it imports jax (threads inherit the confinement when created; a running process
    cannot move jax's existing threads)."""
    cpu = min(os.sched_getaffinity(0))
    code = (f"import json, os; os.sched_setaffinity(0, {{{cpu}}}); "
            "from pamdp_bench.tools.bench_adapter import _single_row; "
            f"print(json.dumps(_single_row({env_id!r}, {int(repeats)}, {int(steps)})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(env_ids: Sequence[str], batches: Sequence[int] = (1, 64, 1024),
        repeats: int = 5) -> dict[str, Any]:
    rows = []
    for env_id in env_ids:
        rows.append(_single_row(env_id, repeats))
        rows.append(single_row_on_one_cpu(env_id, repeats))
        rows += [_row(env_id, "PAMDPVectorEnv", n, partial(bench_vector, env_id, n,
                                                           repeats=repeats)) for n in batches]
    return {"schema": "pamdp_bench.bench_adapter/1", "rows": rows, "repeats": repeats,
            "provenance": provenance()}


def markdown(record: dict[str, Any]) -> str:
    lines = ["| env | API | envs per call | CPUs | env steps/s (median) | CPU steal |",
             "|---|---|---|---|---|---|"]
    for r in record["rows"]:
        steal = r.get("cpu_steal")
        steal_txt = "n/a" if steal is None else f"{100 * steal:.0f}%"
        lines.append(f"| {r['env_id']} | `{r['api']}` | {r['num_envs']} | {r.get('cpus', '?')} "
                     f"| {r['env_steps_per_s']:,.0f} | {steal_txt} |")
    return "\n".join(lines)


def write(record: dict[str, Any], out_dir: str) -> tuple[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    json_path, md_path = os.path.join(out_dir, "adapter.json"), os.path.join(out_dir,
                                                                             "adapter.md")
    with open(json_path, "w") as f:
        json.dump(record, f, indent=1)
    prov = record["provenance"]
    with open(md_path, "w") as f:
        f.write("# Gymnasium adapter speed\n\n`make bench-adapter` "
                "(`pamdp_bench/tools/bench_adapter.py`): one env through `GymnasiumPAMDPEnv` "
                "(resets included), N envs through `PAMDPVectorEnv`; median of "
                f"{record['repeats']} timed windows. jax {prov.get('jax_version')}, "
                f"{prov.get('device_kind')}, commit {prov.get('git_commit', '')[:10]}. "
                "CPU steal: the share of the machine's CPU time the hypervisor took during the "
                "row (`tools/cpu_steal.py`); rows measured under steal are slower than the "
                "code is. CPUs: the CPUs the process could run on; the one-CPU single-env row "
                "runs in a child confined to one CPU (`taskset -c 0`), see the module "
                "docstring for why it is faster on a small VM.\n\n")
        f.write(markdown(record) + "\n")
    return json_path, md_path
