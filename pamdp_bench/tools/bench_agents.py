"""Agent speed benches: seconds per planned env step for model-based agents (through the
agent's bench hooks, so this module imports no baseline), training env steps/s for others,
gradient steps/s for offline agents (on a dataset of random episodes).

``bench_agent_cli(agent, env_id, seeds)`` prints progress lines and, as its last line, one JSON
object: ``seconds_per_planned_step`` (a full training env step after the seed phase: plan,
env step, store, ``num_updates`` updates, with the state donated as the runner does; one seed
unvmapped, for ``seeds`` > 1 the vmapped step of all seeds),
``plan_seconds`` (one plan, single seed), ``update_seconds`` (all updates of one env step,
single seed, state donated), ``compile_seconds`` (the training step), the FLOPs XLA counts
for the plan and the updates (loop bodies scaled by their trip counts), the achieved FLOP/s,
and a measured fp32 matmul peak of this machine for scale. Times are medians (the best step
time is also given); the 1-minute load average is recorded because a shared 2-core machine
skews them.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.analysis.scale import seconds_per_step
from pamdp_bench.harness import memory

TRAIN_CAP = 25  # the DLPA protocol's training truncation


def _times(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Wall times of ``repeats`` blocked calls of ``fn()``, after one untimed call."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return times


def _time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``fn()`` (blocked), after one untimed call."""
    return float(np.median(_times(fn, repeats)))


def _flops(jitted: Any, *args: Any) -> float | None:
    try:
        cost = jitted.lower(*args).compile().cost_analysis()
        if isinstance(cost, list):
            cost = cost[0]
        return float(cost.get("flops", 0.0)) or None
    except Exception:  # cost analysis is best effort
        return None


def matmul_peak(n: int = 1024, repeats: int = 5) -> float:
    """Measured fp32 matmul FLOP/s of this machine (one n x n x n matmul)."""
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    return 2.0 * n**3 / _time(lambda: f(a), repeats)


def _part_caller(fn: Callable[[Any, jax.Array], Any], state: Any, key: jax.Array
                 ) -> tuple[Any, Callable[[], Any]]:
    """The jitted part and a call timing it. A part that returns a new state (the updates) runs
    as the runner runs it: state donated and carried from call to call, so its buffers are
    updated in place. Timed on a fresh state each call instead, XLA would copy every table
    into a new output (the K-row embedding tables at large K: the cause of an "updates" part
    slower than the whole planned step it belongs to)."""
    if jax.tree.structure(jax.eval_shape(fn, state, key)) != jax.tree.structure(state):
        jitted = jax.jit(fn)
        return jitted, lambda: jitted(state, key)
    jitted = jax.jit(fn, donate_argnums=0)
    holder = [jax.tree.map(jnp.copy, state)]  # ``state`` itself stays for the other parts

    def call() -> Any:
        holder[0] = jitted(holder[0], key)
        return holder[0]

    return jitted, call


def bench_planned(spec: str, env_id: str, seeds: int = 1, steps: int = 5, repeats: int = 5,
                  config: Any = None, rounds: int = 3, log: Callable[[str], None] = print
                  ) -> dict[str, Any]:
    """Cost per planned env step of a model-based agent (plan + its updates), as the runner
    runs it.

    The agent supplies three hooks (DLPA and the agents built on it do): ``bench_state(key)`` a
    state past its seed phase, ready for planned steps; ``bench_parts()`` ``{name: (fn(state,
    key), flops_scale, calls_per_step)}``, the parts timed alone (single seed; a part returning
    the state runs donated) with their XLA FLOP counts (``flops_scale``: XLA counts a loop body
    once, so a part whose body loops ``n`` times is scaled by ``n``); ``bench_info()`` a dict of
    descriptive fields (horizon, structure, K, the official code's seconds per planned step).
    With ``seeds`` > 1 the vmapped step and the single-seed step are timed in alternating
    rounds: ``per_seed_vs_single`` (median over rounds of vmapped-per-seed / single) is the
    "does the per-seed cost grow with vmapped seeds" number.
    """
    from pamdp_bench.agents import agent_config, get_agent
    from pamdp_bench.registry import make

    env, params = make(env_id, max_steps_in_episode=TRAIN_CAP)
    cls = get_agent(spec)
    agent = cls(env, params, config if config is not None else agent_config(spec, env_id))
    missing = [h for h in ("bench_state", "bench_parts", "bench_info") if not hasattr(agent, h)]
    if missing:
        raise ValueError(f"{spec} has no per-planned-step bench hooks {missing}")
    info = agent.bench_info()
    log(f"bench {spec} on {env_id}: {info} seeds={seeds} devices={jax.device_count()}")
    keys = jax.random.split(jax.random.key(0), seeds)
    state1 = jax.jit(agent.bench_state)(keys[0])
    pkey = jax.random.key(1)
    out: dict[str, Any] = {"agent": spec, "env": env_id, "seeds": seeds, **info}
    for name, (fn, flops_scale, calls) in agent.bench_parts().items():
        jitted, call_part = _part_caller(fn, state1, pkey)
        secs = _time(call_part, repeats)
        flops = _flops(jitted, state1, pkey)
        flops = flops * flops_scale if flops else None
        out.update({f"{name}_seconds": secs, f"{name}_seconds_single": secs / calls,
                    f"{name}_flops": flops, f"{name}_flops_per_s": flops / secs if flops else None})
        log(f"  {name}: {secs * 1e3:.1f} ms")

    # full training steps as the runner runs them (state donated); one seed unvmapped, more
    # seeds vmapped
    def stepper(n: int) -> tuple[Callable[[], Any], float]:
        """A call running ``steps`` env steps of ``n`` seeds on its own donated state (carried
        from call to call), and its compile time."""
        if n == 1:
            states = jax.jit(agent.bench_state)(keys[0])
            fn = jax.jit(lambda s: agent.train(s, steps)[0], donate_argnums=0)
        else:
            states = jax.jit(jax.vmap(agent.bench_state))(keys[:n])
            fn = jax.jit(jax.vmap(lambda s: agent.train(s, steps)[0]), donate_argnums=0)
        t0 = time.perf_counter()
        compiled = fn.lower(states).compile()
        compile_s = time.perf_counter() - t0
        holder = [states]

        def call() -> Any:
            holder[0] = compiled(holder[0])
            return holder[0]

        return call, compile_s

    call, compile_s = stepper(seeds)
    log(f"  compile train({steps}) x{seeds} seeds: {compile_s:.1f} s")
    # With several seeds, single-seed and vmapped timings alternate in ``rounds`` rounds, so
    # the per-seed comparison is not skewed by a load change between two separate runs.
    single = stepper(1)[0] if seeds > 1 else None
    step_times: list[float] = []
    ratios: list[float] = []
    single_times: list[float] = []
    for _ in range(rounds if single else 1):
        multi = np.asarray(_times(call, repeats)) / steps
        step_times.extend(multi)
        if single:
            one = np.asarray(_times(single, repeats)) / steps
            single_times.extend(one)
            ratios.append(float(np.median(multi) / seeds / np.median(one)))
    step_s, step_min = float(np.median(step_times)), float(np.min(step_times))
    log(f"  per planned env step: {step_s * 1e3:.1f} ms median, {step_min * 1e3:.1f} ms best "
        f"({seeds} seeds)")
    if ratios:
        log(f"  per-seed cost / single-seed cost, by round: "
            f"{', '.join(f'{r:.3f}' for r in ratios)}")

    peak = matmul_peak()
    out.update({
        "seconds_per_planned_step": step_s,
        "seconds_per_planned_step_best": step_min,
        "load_average_1min": os.getloadavg()[0],
        "seconds_per_planned_step_per_seed": step_s / seeds,
        "compile_seconds": compile_s,
        "matmul_peak_flops_per_s": peak,
        **({"single_seed_seconds_per_planned_step": float(np.median(single_times)),
            "per_seed_vs_single_by_round": ratios,
            "per_seed_vs_single": float(np.median(ratios))} if ratios else {}),
        "cpu_count": os.cpu_count(), "backend": jax.default_backend(),
    })
    official = info.get("official_seconds_per_planned_step")
    if official:  # per seed: the official code runs one
        out["speedup_vs_official"] = official * seeds / step_s
    for name in agent.bench_parts():
        if out[f"{name}_flops_per_s"]:
            out[f"{name}_fraction_of_peak"] = out[f"{name}_flops_per_s"] / peak
    return out


def bench_train(spec: str, env_id: str, seeds: int = 1, chunk: int = 1000, repeats: int = 5,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Training throughput of any harness agent: env steps per second of ``train`` chunks.

    The agent is built on the env's training parameters, ``seeds`` states are ``vmap``ped and
    one ``jit``ted ``train(state, chunk)`` (state donated, as in the runner) is compiled
    (``compile_seconds``). One untimed call
    moves past the learning start (and runs any uncounted warm-up: HyAR); then ``repeats``
    timed calls continue training from where the previous one stopped. ``env_steps_per_second``
    sums the seeds (median call).
    """
    from pamdp_bench.agents import agent_config, get_agent
    from pamdp_bench.datasets.collect import random_policy_arrays
    from pamdp_bench.registry import make

    cls = get_agent(spec)
    env, params = make(env_id)
    agent = cls(env, params, agent_config(spec, env_id))
    log(f"bench {spec} on {env_id}: seeds={seeds} chunk={chunk} devices={jax.device_count()}")
    keys = jax.random.split(jax.random.key(0), seeds)
    offline = bool(getattr(cls, "offline", False))
    if offline:  # gradient steps on a dataset of random episodes
        data = random_policy_arrays(env, params, OFFLINE_BENCH_TRANSITIONS)
        states = jax.jit(jax.vmap(lambda k: agent.init(k, data)))(keys)
        train_fn = jax.jit(jax.vmap(lambda s: agent.train(s, chunk, data)), donate_argnums=0)
    else:
        states = jax.jit(jax.vmap(agent.init))(keys)
        train_fn = jax.jit(jax.vmap(lambda s: agent.train(s, chunk)), donate_argnums=0)
    t0 = time.perf_counter()
    compiled = train_fn.lower(states).compile()
    compile_s = time.perf_counter() - t0
    log(f"  compile train({chunk}) x{seeds} seeds: {compile_s:.1f} s")
    t0 = time.perf_counter()
    states, metrics = jax.block_until_ready(compiled(states))
    first_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        states, metrics = jax.block_until_ready(compiled(states))
        times.append(time.perf_counter() - t0)
    call_s = float(np.median(times))
    sps = seeds * chunk / call_s
    unit = "gradient" if offline else "env"
    log(f"  {sps:,.1f} {unit} steps/s (seeds summed), {call_s:.2f} s per chunk of {chunk}")
    warmup = metrics.get("warmup_steps")
    flops = None if offline else _flops_per_env_step(agent, jax.tree.map(lambda x: x[0], states))
    peak = matmul_peak() if flops else None
    return {
        "agent": spec, "env": env_id, "seeds": seeds, "chunk": chunk, "repeats": repeats,
        "env_steps_per_second": sps, "env_steps_per_second_per_seed": sps / seeds,
        "seconds_per_chunk": call_s, "seconds_per_chunk_best": float(np.min(times)),
        "compile_seconds": compile_s, "first_call_seconds": first_s,
        "warmup_steps": int(np.max(np.asarray(warmup))) if warmup is not None else 0,
        "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count(),
        "backend": jax.default_backend(), **_vs_official(spec, env_id, sps),
        **({"flops_per_env_step_per_seed": flops, "matmul_peak_flops_per_s": peak,
            "fraction_of_peak": flops * sps / peak} if flops else {}),
        # offline agents: the steps above are gradient steps (no env is stepped)
        **({"gradient_steps_per_second": sps, "gradient_steps_per_second_per_seed": sps / seeds,
            "dataset_transitions": OFFLINE_BENCH_TRANSITIONS} if offline else {}),
    }


def _flops_per_env_step(agent: Any, state: Any) -> float | None:
    """FLOPs one seed spends per env step on acting and learning: XLA's cost analysis of one
    ``act`` (stochastic) plus one update over ``train_every`` (the env step and rare extra
    work such as HyAR's online VAE calls are not counted). The update is ``learn`` where the
    agent writes its own (QMLE), else ``update`` (the loop's ``learn`` wraps it in a
    ``lax.cond``, which the cost analysis does not see into). Off-policy agents only (None
    for others): XLA counts a loop body once, so DLPA's planner would be undercounted."""
    from pamdp_bench.baselines.common.offpolicy import OffPolicyAgent

    if not isinstance(agent, OffPolicyAgent):
        return None
    key = jax.random.key(0)
    act = _flops(jax.jit(lambda s, o, k: agent.act(s, o, k, False)), state, state.obs, key)
    if type(agent).learn is OffPolicyAgent.learn:
        learn = _flops(jax.jit(lambda s, k: agent.update(s.learner, s, k)), state, key)
    else:
        learn = _flops(jax.jit(agent.learn), state, key)
    if act is None or learn is None:
        return None
    return act + learn / int(getattr(agent, "train_every", 1))


#: Offline benches train on this many transitions of the uniform random policy (the speed of a
#: gradient step does not depend on the dataset's size: batches are gathered by index).
OFFLINE_BENCH_TRANSITIONS = 20_000


def _vs_official(spec: str, env_id: str, sps: float) -> dict[str, float]:
    """The official per-step cost and our speed-up, where it was measured: env steps/s summed
    over the seeds run together against the official code running them one after another."""
    official = OFFICIAL_SECONDS_PER_TRAIN_STEP.get((spec, env_id))
    if official is None:
        return {}
    return {"official_seconds_per_train_step": official, "speedup_vs_official": sps * official}


def bench_agent(spec: str, env_id: str, seeds: int = 1, log: Callable[[str], None] = print,
                repeats: int = 5, chunk: int = 1000) -> dict[str, Any]:
    """Agents with bench hooks (model-based planners): the per-planned-step bench; any other
    agent: training throughput."""
    from pamdp_bench.agents import get_agent

    if hasattr(get_agent(spec), "bench_parts"):
        return bench_planned(spec, env_id, seeds=seeds, log=log)
    return bench_train(spec, env_id, seeds=seeds, log=log, repeats=repeats, chunk=chunk)


def bench_agent_cli(spec: str, env_id: str, seeds: int = 1) -> int:
    """``pamdp-bench bench --agent=SPEC --env=ENV --seeds=N``: last line is a JSON object."""
    out = bench_agent(spec, env_id, seeds=seeds)
    print(json.dumps(out, sort_keys=True), flush=True)
    return 0


#: What ``make bench`` measures for the agents (issue targets: DLPA per planned step on
#: Platform and Hard Move n=4, 1 and 5 seeds; model-free throughput on Platform, 1 and 8 seeds;
#: QMLE on Platform and Hard Move n = 4, 10, 16, 1 and 8 seeds).
SUITES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]] = {
    "dlpa": (("dlpa",), ("Platform-v0", "HardMove-n4-v0"), (1, 5)),
    # FLEXplore beside DLPA per planned step (issue 17: at most 1.5x DLPA's)
    "flexplore": (("flexplore", "dlpa"), ("Platform-v0", "HardMove-n4-v0"), (1,)),
    "modelfree": (("pdqn", "mpdqn", "pdqn_td3", "paddpg", "patd3", "hppo", "hyar_td3",
                   "hyar_ddpg"), ("Platform-v0",), (1, 8)),
    "qmle": (("qmle",), ("Platform-v0", "HardMove-n4-v0", "HardMove-n10-v0",
                         "HardMove-n16-v0"), (1, 8)),
    # offline agents: gradient steps per second (issue 15), 1 and 4 seeds vmapped
    "offline": (("clap", "bc"), ("Platform-v0", "HardMove-n4-v0"), (1, 4)),
    # the per-step costs of the scaling study (``pamdp-bench scale``): 1 seed, n = 4..16
    "scale": (("qmle", "dlpa", "pdqn"), tuple(f"HardMove-n{n}-v0" for n in range(4, 17, 2)),
              (1,)),
}
#: Timed calls per row and env steps per call where the defaults (5 calls of 1000 steps)
#: would take too long (QMLE: ~15 ms per env step and seed on this CPU; 200 steps are 20
#: updates).
SUITE_REPEATS: dict[str, int] = {"qmle": 3, "scale": 3, "offline": 3}
#: offline: C-LAP at §6.3's sizes takes 1.7 to 4.2 s per gradient step and seed on this CPU
SUITE_CHUNK: dict[str, int] = {"qmle": 200, "scale": 200, "offline": 10}

#: The original implementations' agent cost per training env step (seconds; env excluded), for
#: the speed-up column. QMLE: the official PyTorch QMLE (``atavakol/qmle`` @ ``0687780``) with
#: its own network, replay and loop body at these sizes, timed on this kind of machine (best of
#: 1 and 2 threads), as measured for issue 18: 21 ms (Platform), 22 ms (Hard Move n=4),
#: 112 ms (n=10).
OFFICIAL_SECONDS_PER_TRAIN_STEP: dict[tuple[str, str], float] = {
    ("qmle", "Platform-v0"): 0.021,
    ("qmle", "HardMove-n4-v0"): 0.022,
    ("qmle", "HardMove-n10-v0"): 0.112,
}


def run_suite(name: str, out_dir: str, agents: Sequence[str] | None = None,
              log: Callable[[str], None] = print, envs: Sequence[str] | None = None) -> str:
    """Run one bench suite and write ``out_dir/NAME.json`` (rewritten after every row, so an
    interrupted bench keeps what it measured) and ``NAME.md``; returns the JSON path. ``envs``
    restricts the run to some of the suite's envs. Rows of the earlier file for (agent, env)
    pairs not measured now are kept; a malformed earlier file is refused, not overwritten."""
    from pamdp_bench.agents import available_agents, parse_agent_spec

    if name not in SUITES:
        raise ValueError(f"unknown bench suite {name!r}; suites: envs, {', '.join(SUITES)}")
    default_agents, suite_envs, seed_counts = SUITES[name]
    outside = sorted(set(envs or ()) - set(suite_envs))
    if outside:
        raise ValueError(f"env(s) {outside} are not in the {name} suite: {', '.join(suite_envs)}")
    envs = [e for e in suite_envs if envs is None or e in envs]
    known = set(available_agents())
    chosen = list(agents) if agents else [a for a in default_agents if a in known]
    unknown = [a for a in chosen if parse_agent_spec(a)[0] not in known]
    if unknown:
        raise ValueError(f"unknown agent(s) {unknown}; available: {', '.join(sorted(known))}")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    # Rows not re-measured now are kept (a partial re-bench updates only its rows).
    kept = [r for r in _previous_rows(path, name)
            if r.get("agent") not in chosen or r.get("env") not in envs]
    record: dict[str, Any] = {"suite": name, "rows": kept, "time": time.strftime(
        "%Y-%m-%dT%H:%M:%S%z"), "jax_version": jax.__version__,
        "note": "medians; a shared machine skews them: see load_average_1min per row"}
    record["matmul_peak_flops_per_s"] = matmul_peak()
    order = {a: i for i, a in enumerate(dict.fromkeys((*default_agents, *chosen)))}
    for agent in chosen:
        for env_id in envs:
            for seeds in seed_counts:
                record["rows"].append(_bench_or_error(
                    agent, env_id, seeds=seeds, log=log, repeats=SUITE_REPEATS.get(name, 5),
                    chunk=SUITE_CHUNK.get(name, 1000)))
                record["rows"].sort(key=lambda r: (order.get(r["agent"], len(order)),
                                                   _env_order(r["env"]), r["seeds"]))
                with open(path, "w") as f:
                    json.dump(record, f, indent=1, sort_keys=True)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
        f.write(suite_markdown(record))
    return path


def _env_order(env_id: str) -> tuple[str, int]:
    """Sort key putting HardMove-n4 before HardMove-n10 (the number compared as a number)."""
    m = re.match(r"^(.*?)(\d+)(-v\d+)$", env_id)
    return (m.group(1), int(m.group(2))) if m else (env_id, -1)


def _bench_or_error(agent: str, env_id: str, seeds: int, log: Callable[[str], None],
                    repeats: int, chunk: int) -> dict[str, Any]:
    """``bench_agent``'s row, or, where the agent does not fit in memory, a row saying so
    (``error``, ``requested_bytes``): a suite measures every agent it can and records where one
    stops fitting (the scaling study's P-DQN at n = 16) instead of aborting."""
    try:
        return bench_agent(agent, env_id, seeds=seeds, log=log, repeats=repeats, chunk=chunk)
    except jax.errors.JaxRuntimeError as err:
        if not memory.is_out_of_memory(err):
            raise
        what = memory.describe(err)
        log(f"  {what}")
        return {"agent": agent, "env": env_id, "seeds": seeds, "error": what,
                "requested_bytes": memory.requested_bytes(err),
                "load_average_1min": os.getloadavg()[0], "cpu_count": os.cpu_count(),
                "backend": jax.default_backend()}


def _previous_rows(path: str, name: str) -> list[dict[str, Any]]:
    """The rows of an earlier ``NAME.json`` of this suite; a malformed file is an error (it is
    not overwritten)."""
    if not os.path.exists(path):
        return []
    try:
        with open(path) as f:
            old = json.load(f)
        if old.get("suite") != name or not isinstance(old.get("rows"), list):
            raise ValueError("not a bench record of this suite")
    except ValueError as e:
        raise ValueError(f"{path}: cannot keep its rows ({e}); move it away to re-bench") from e
    return old["rows"]


def suite_markdown(record: dict[str, Any]) -> str:
    """A table of a suite's rows (DLPA: ms per planned step; model-free: env steps/s).
    "ms per step and seed" is the wall time of one vmapped step divided by the number of
    seeds it advances (what a seed costs when run beside the others), like DLPA's "per seed
    (ms)"."""
    rows = [r for r in record["rows"] if "error" not in r]
    failed = [r for r in record["rows"] if "error" in r]
    if record["suite"] == "flexplore":
        dlpa = {(r["env"], r["seeds"]): r["seconds_per_planned_step"] for r in rows
                if r["agent"] == "dlpa"}
        lines = ["| agent | env | seeds | per planned step (ms) | plan (ms) | 25 updates (ms) | "
                 "vs DLPA | compile (s) | load |", "|" + "---|" * 9]
        for r in rows:
            base = dlpa.get((r["env"], r["seeds"]))
            ratio = f"{r['seconds_per_planned_step'] / base:.2f}x" if base else ""
            lines.append(
                f"| {r['agent']} | {r['env']} | {r['seeds']} | "
                f"{r['seconds_per_planned_step'] * 1e3:.1f} | {r['plan_seconds'] * 1e3:.1f} | "
                f"{r['update_seconds'] * 1e3:.1f} | {ratio} | {r['compile_seconds']:.1f} | "
                f"{r['load_average_1min']:.1f} |")
    elif record["suite"] == "dlpa":
        lines = ["| env | seeds | per planned step (ms) | per seed (ms) | plan (ms) | 25 updates "
                 "(ms) | official (ms) | speed-up | plan / update FLOP/s vs peak | per seed / "
                 "1 seed (rounds) | compile (s) | load |", "|" + "---|" * 12]
        for r in rows:
            off = r.get("official_seconds_per_planned_step")
            frac = "/".join(f"{r.get(f'{n}_fraction_of_peak') or 0:.0%}"
                            for n in ("plan", "update"))
            by_round = r.get("per_seed_vs_single_by_round")
            growth = (f"{r['per_seed_vs_single']:.2f} ({', '.join(f'{x:.2f}' for x in by_round)})"
                      if by_round else "")
            lines.append(
                f"| {r['env']} | {r['seeds']} | {r['seconds_per_planned_step'] * 1e3:.1f} | "
                f"{r['seconds_per_planned_step_per_seed'] * 1e3:.1f} | "
                f"{r['plan_seconds'] * 1e3:.1f} | {r['update_seconds'] * 1e3:.1f} | "
                f"{off * 1e3 if off else float('nan'):.0f} | "
                f"{r.get('speedup_vs_official', float('nan')):.1f}x | {frac} | {growth} | "
                f"{r['compile_seconds']:.1f} | {r['load_average_1min']:.1f} |")
    elif record["suite"] == "scale":  # planners (per planned step) beside trainers
        lines = ["| agent | env | ms per env step (planners: planned step with its updates) | "
                 "plan (ms) | updates (ms) | GFLOP per step | compile (s) | load |",
                 "|" + "---|" * 8]
        for r in rows:
            planned = "seconds_per_planned_step" in r
            sec = seconds_per_step(r)
            flops = (sum(r.get(f"{n}_flops") or 0.0 for n in ("plan", "update")) or None
                     if planned else r.get("flops_per_env_step_per_seed"))
            lines.append(
                f"| {r['agent']} | {r['env']} | {sec * 1e3:.1f} | "
                f"{_fmt(r.get('plan_seconds'), 1e3, '.1f')} | "
                f"{_fmt(r.get('update_seconds'), 1e3, '.1f')} | {_fmt(flops, 1e-9, '.2f')} | "
                f"{r['compile_seconds']:.1f} | {r['load_average_1min']:.1f} |")
    elif record["suite"] == "offline":
        lines = ["| agent | env | seeds | gradient steps/s (seeds summed) | per seed | ms per "
                 "step and seed | 200k steps x 3 seeds at this rate (h) | compile (s) | load |",
                 "|" + "---|" * 9]
        for r in rows:
            per_seed = r["gradient_steps_per_second_per_seed"]
            total = r["gradient_steps_per_second"]
            lines.append(
                f"| {r['agent']} | {r['env']} | {r['seeds']} | {total:,.1f} | "
                f"{per_seed:,.1f} | {1e3 / total:.2f} | {3 * 200_000 / total / 3600:.1f} | "
                f"{r['compile_seconds']:.1f} | {r['load_average_1min']:.1f} |")
    else:
        lines = ["| agent | env | seeds | env steps/s (seeds summed) | per seed | ms per step and "
                 "seed | official (ms per step, seeds one after another) | speed-up | 200k "
                 "steps x 5 seeds at this rate (min) | GFLOP per step and seed | FLOP/s vs "
                 "matmul peak | compile (s) | load |", "|" + "---|" * 13]
        for r in rows:
            five = 5 * 200_000 / r["env_steps_per_second"]  # 5 x 200k at this rate
            off = r.get("official_seconds_per_train_step")
            off_ms = f"{off * 1e3:.0f}" if off else ""
            speedup = f"{r['speedup_vs_official']:.2f}x" if off else ""
            lines.append(
                f"| {r['agent']} | {r['env']} | {r['seeds']} | {r['env_steps_per_second']:,.0f} | "
                f"{r['env_steps_per_second_per_seed']:,.0f} | "
                f"{1e3 / r['env_steps_per_second']:.2f} | "
                f"{off_ms} | {speedup} | {five / 60:.1f} | "
                f"{_fmt(r.get('flops_per_env_step_per_seed'), 1e-9, '.2f')} | "
                f"{_fmt(r.get('fraction_of_peak'), 100, '.0f', '%')} | "
                f"{r['compile_seconds']:.1f} | {r['load_average_1min']:.1f} |")
    if failed:
        lines += ["", "Not measured:"] + [f"- {r['agent']} on {r['env']}, {r['seeds']} seed(s): "
                                          f"{r['error']}" for r in failed]
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, scale: float, spec: str, unit: str = "") -> str:
    """A table cell: ``value * scale`` formatted, or empty when the row has no value."""
    return "" if value is None else f"{value * scale:{spec}}{unit}"
