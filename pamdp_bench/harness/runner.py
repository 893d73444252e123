"""The training/evaluation runner: a protocol, an agent, seeds -> result records + checkpoints.

For each env of the protocol (one after another, into the same ``OUT/results.jsonl``):

1. The agent is built on the training env (the protocol's training cap); ``init`` and
   ``train`` are ``vmap``ped over a seed axis. The seed axis is padded to a multiple of the
   local device count and sharded over the devices (a 1-d ``Mesh`` named ``seed``); padded
   lanes repeat seed lane 0 and are dropped before anything is evaluated, saved or written.
2. Training runs in jitted chunks, one per evaluation point (``EnvProtocol.eval_points``);
   ``train`` is compiled once per distinct chunk length.
3. After each chunk the host evaluates every seed (``act(..., deterministic=True)``,
   ``eval_episodes`` episodes per seed on a separate evaluation env with the protocol's
   evaluation cap and fresh reset keys; ``vmap`` over seeds x episodes), appends one result
   record per seed (return and success rate always both, ``train_metrics``, ``warmup_steps``
   when the agent reports it), saves an orbax checkpoint (async; the last 2 kept) and advances
   the progress display (tqdm on a terminal, else absl logging; within an interval, a
   heartbeat line every few minutes: ``progress.HEARTBEAT_SECONDS``).

Keys. Every key is a function of (``BASE_SEED``, seed index, purpose, eval point) only:
``seed_key(s) = fold_in(key(BASE_SEED), s)``; ``init`` gets ``fold_in(seed_key(s), 0)``; the
evaluation at ``p`` env steps uses ``split(fold_in(fold_in(seed_key(s), 1), p), E)``. So seed
``s`` gets the same keys whether it runs alone (``seed_offset=s``) or among others, and a
resumed run needs nothing from the host beyond the train state and the step count: its records
are bitwise identical to an uninterrupted run's (checked by a test that SIGKILLs a run).
Keys never depend on the batch, but XLA may compile a vectorised reduction or matmul
differently for another seed-batch size or device count, so "seed ``s`` alone equals seed ``s``
among others" (and sharded equals unsharded) is bitwise only where the agent's per-seed
computation does not change with the batch shape; it holds for the reference and test agents,
and otherwise up to last-ulp differences. A resume with the same seeds and devices is always
bitwise.

Resume. ``resume=True`` restores the newest checkpoint of each env (refusing one whose format
version, config hash, agent, env, protocol or seeds differ, naming both values) and continues
from there; finished envs are skipped. Records already in the results file for later eval
points (a kill between writing records and saving the checkpoint) are not written again: the
re-computed record must equal the stored one (all fields but ``wall_time_s`` and
``provenance``), else the run stops with an error. Without ``resume``, an out directory that
already holds records or checkpoints of the same (protocol, env, agent) is refused.

The config hash of a record covers the agent name and config, the resolved ``EnvProtocol``
(without its seed count and budget, which do not change any seed's numbers at a given env step)
and ``BASE_SEED``. So ``--resume`` with a larger ``--budget`` extends a finished run (a record
whose ``final`` flag was set at the old budget stays as written; tables take the latest final
record of a seed). Runs started before the budget left the hash carry the older hash
(``records.legacy_run_config_hash``); they are resumed under it, at their original budget, so
one run never mixes two hashes. Checkpoints store the hash's inputs, and a mismatch names the
fields that differ.

Offline protocols (``protocols``: ``datasets``). Each env x dataset kind is one run: the
dataset (``datasets.minari_io.load_arrays``) is put on the devices once, replicated, and
passed to the agent's ``init(key, data)`` and ``train(state, num_steps, data)`` as an
unbatched argument (never part of the train state, so checkpoints stay small and seeds share
one copy); ``budget`` and the evaluation points count gradient steps; records carry the dataset
id; checkpoints live under ``OUT/checkpoints/<env_id>/<kind>[-small]``. An offline agent
(``offline = True``) refuses an online protocol and vice versa.

Several hosts. When ``jax.distributed`` is initialised, process ``i`` of ``n`` owns a
contiguous slice of the seeds (``numpy.array_split``), shards it over its local devices,
writes its records to ``OUT/results.process-<i>-of-<n>.jsonl`` and its checkpoints under
``OUT/checkpoints/<env_id>/process-<i>-of-<n>/`` (result readers take every ``*.jsonl`` of a
directory). No data crosses hosts, so the processes need not run in lockstep; a resume must use
the same process count. ``pamdp_bench.distributed`` starts ``jax.distributed`` from environment
variables; ``tests/core/test_distributed.py`` runs two processes on one machine and checks their
merged records against a single-process run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from pamdp_bench.agents import (
    apply_overrides,
    get_agent,
    parse_agent_spec,
    reading_config,
    record_label,
)
from pamdp_bench.analysis.statistics import format_mean_std
from pamdp_bench.harness import checkpoints as ckpt_lib
from pamdp_bench.harness import memory
from pamdp_bench.harness import records as results_lib
from pamdp_bench.harness.evaluate import agent_episodes, summarize_episodes
from pamdp_bench.harness.placement import PlacementError, SeedPlacement, seed_placement
from pamdp_bench.harness.progress import Progress, quiet_orbax
from pamdp_bench.harness.records import (
    comparable,
    flatten,
    hash_input_differences,
    legacy_run_config_hash,
    run_config_hash,
    run_hash_inputs,
)
from pamdp_bench.harness.seeding import eval_keys, init_key
from pamdp_bench.protocols import EnvProtocol, Protocol, load_protocol


class RunError(ValueError):
    """A run that cannot start or continue (the message says why and what to do)."""


def _paths(out_dir: str, ep: EnvProtocol, placement: SeedPlacement) -> tuple[str, str]:
    """(results file, checkpoint directory) of this process for the task ``ep``."""
    ckpt = os.path.join(out_dir, "checkpoints", ep.env_id)
    if ep.dataset:
        ckpt = os.path.join(ckpt, ep.dataset.split("/")[-1])
    if placement.process_count == 1:
        return os.path.join(out_dir, "results.jsonl"), ckpt
    tag = f"process-{placement.process_index}-of-{placement.process_count}"
    return os.path.join(out_dir, f"results.{tag}.jsonl"), os.path.join(ckpt, tag)


@dataclasses.dataclass
class EnvRun:
    """Everything fixed about one env of a run (before any training)."""

    agent_cls: type
    agent_name: str
    agent: Any  # built on the training env
    ep: EnvProtocol
    config: Any
    config_hash: str
    placement: SeedPlacement
    results_path: str
    ckpt_dir: str
    #: the hash this run would have had before the budget left the hash (resume only)
    legacy_hash: str = ""
    #: what ``config_hash`` covers, stored with every checkpoint to name differing fields
    hash_inputs: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def identity(self) -> dict[str, Any]:
        """Fields a checkpoint must match to be resumed."""
        return {
            "format_version": ckpt_lib.FORMAT_VERSION,
            "config_hash": self.config_hash,
            "agent": self.agent_name,
            "env_id": self.ep.env_id,
            **({"dataset": self.ep.dataset} if self.ep.dataset else {}),
            "protocol": self.ep.protocol,
            "seeds": list(self.placement.seeds),
            "process_count": self.placement.process_count,
        }

    def owns(self, record: dict[str, Any]) -> bool:
        """Is ``record`` one of this run's (same protocol, env, agent, one of our seeds)?"""
        return (record["protocol"] == self.ep.protocol and record["env_id"] == self.ep.env_id
                and record.get("dataset") == self.ep.dataset
                and record["agent"] == self.agent_name and record["seed"] in self.placement.seeds)

    def existing_records(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        if not os.path.exists(self.results_path):
            return {}
        return {results_lib.record_key(r): r for r in results_lib.iter_records(self.results_path)
                if self.owns(r)}



def _has_files(directory: str) -> bool:
    return os.path.isdir(directory) and any(os.scandir(directory))


def _preflight(run: EnvRun, resume: bool) -> None:
    """Refuse, before any work, what would overwrite results or load a foreign checkpoint."""
    ep = run.ep
    if not resume:
        if os.path.exists(run.results_path):
            for r in results_lib.iter_records(run.results_path):
                if (r["protocol"], r["env_id"], r.get("dataset"), r["agent"]) == (
                        ep.protocol, ep.env_id, ep.dataset, run.agent_name):
                    raise RunError(
                        f"{run.results_path} already holds records of {run.agent_name} on "
                        f"{ep.task} ({ep.protocol}); pass --resume to continue that run, or "
                        "choose another --out directory (results are never overwritten)")
        if _has_files(run.ckpt_dir):
            raise RunError(f"{run.ckpt_dir} already holds checkpoints of a run; pass --resume "
                           "to continue it, or choose another --out directory (results are "
                           "never overwritten)")
        return
    results_lib.repair_truncated_tail(run.results_path)
    existing = run.existing_records()
    meta = None
    if _has_files(run.ckpt_dir):  # the newest step with readable metadata (run_env skips
        # damaged steps the same way, with a warning)
        with ckpt_lib.RunCheckpointer(run.ckpt_dir,
                                      process_local=run.placement.process_count > 1) as ck:
            for step in sorted(ck.all_steps(), reverse=True):
                try:
                    meta = ck.read_meta(step)
                    break
                except ckpt_lib.CorruptCheckpointError:
                    continue
    found = {r["config_hash"] for r in existing.values()}
    if meta is not None:
        found.add(meta.get("config_hash"))
    if run.legacy_hash and found == {run.legacy_hash}:
        logging.info("%s: continuing a run recorded under the hash that included the budget "
                     "(%s; this configuration hashes to %s now); it keeps its hash, so it can "
                     "only be resumed at its original budget", run.results_path,
                     run.legacy_hash, run.config_hash)
        run.config_hash = run.legacy_hash
    differences = ""
    if meta is not None and meta.get("hash_inputs"):
        diff = hash_input_differences(meta["hash_inputs"], run.hash_inputs)
        differences = ("; fields that differ (recorded -> this run): " + "; ".join(diff[:12])
                       if diff else "")
    hint = ("" if differences else " (a run recorded before the budget left the config hash "
            "keeps its older hash: resume it at its original --budget)")
    for key, r in existing.items():
        if r["config_hash"] != run.config_hash:
            raise RunError(
                f"{run.results_path}: record {key} has config hash {r['config_hash']!r}, this "
                f"run has config hash {run.config_hash!r}; refusing to resume a different "
                f"configuration into it{differences}{hint}")
    if meta is not None:
        try:
            ckpt_lib.check_compatible(meta, run.identity, f"{run.ckpt_dir}")
        except ckpt_lib.CheckpointError as err:
            raise ckpt_lib.CheckpointError(f"{err}{differences}") from err


def _recorded_to_the_end(run: EnvRun, existing: dict[tuple[Any, ...], dict[str, Any]]) -> bool:
    """Does the file hold a record for every seed at every evaluation point?

    A committed record set (a fresh clone has no checkpoints) is a finished run: resuming it
    must not train it again from scratch only to re-derive the same records."""
    have = {(r["seed"], r["env_steps"]) for r in existing.values()}
    return all((seed, point) in have for seed in run.placement.seeds
               for point in run.ep.eval_points())


def _seed_records(run: EnvRun, existing: dict[tuple[Any, ...], dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """This process's records, by seed and step."""
    mine = [r for r in existing.values() if r["seed"] in run.placement.seeds]
    return sorted(mine, key=lambda r: (r["seed"], r["env_steps"]))


def _sync_records(run: EnvRun, records: list[dict[str, Any]],
                  existing: dict[tuple[Any, ...], dict[str, Any]]) -> int:
    """Append the records not yet in the file; those already there must be identical."""
    new = []
    for r in records:
        key = results_lib.record_key(r)
        old = existing.get(key)
        if old is None:
            new.append(r)
            continue
        a, b = comparable(old), comparable(r)
        if a != b:
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            env_diff = results_lib.environment_differences(old.get("provenance"),
                                                           r.get("provenance", {}))
            why = ("changed code or config?" if not env_diff else
                   "the numeric environment differs (" + "; ".join(env_diff) + "): XLA's "
                   "kernels and the libraries' numerics can change the last bits, so a run "
                   "resumes bit for bit only where it was made. Move these records aside (or "
                   "use a new --out) to run the task again here")
            raise RunError(
                f"{run.results_path}: the stored record {key} differs from its re-computation "
                f"in {diff} (stored {[a.get(k) for k in diff]}, now {[b.get(k) for k in diff]});"
                f" the resumed run does not reproduce the original ({why})")
    results_lib.append_records(run.results_path, new)
    for r in new:
        existing[results_lib.record_key(r)] = r
    return len(new)


def _make_records(run: EnvRun, env_steps: int, episodes: dict[str, np.ndarray],
                  metrics: dict[str, np.ndarray], wall: float,
                  prov: dict[str, str]) -> list[dict[str, Any]]:
    """One record per seed of this process at ``env_steps``."""
    out = []
    for lane, seed in enumerate(run.placement.seeds):
        train_metrics, warmup = results_lib.scalar_metrics(
            {name: np.asarray(value)[lane] for name, value in metrics.items()})
        out.append(results_lib.build_record(
            run.ep, run.agent_name, seed, env_steps,
            summarize_episodes({k: v[lane] for k, v in episodes.items()}), run.config_hash,
            wall, prov, train_metrics, warmup))
    return out


def _load_data(ep: EnvProtocol, root: str | None, sharding: Any) -> Any:
    """An offline task's dataset on the devices, replicated (None for an online task)."""
    if not ep.dataset:
        return None
    from pamdp_bench.datasets.minari_io import load_arrays

    try:
        data = load_arrays(ep.dataset, root)
    except FileNotFoundError as err:
        raise RunError(f"{ep.dataset}: dataset not found ({err}); build it with `pamdp-bench "
                       f"datasets build --env={ep.env_id}` or pass --dataset_root") from err
    return jax.device_put(data, _replicated(sharding))


def _replicated(sharding: Any) -> Any:
    """A copy on every device of ``sharding``'s mesh."""
    return jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())


def run_env(run: EnvRun, *, resume: bool, progress: bool = True,
            dataset_root: str | None = None) -> list[dict[str, Any]]:
    """Train and evaluate one task for this process's seeds; returns its records (all points).

    ``dataset_root``: where offline tasks' datasets live (default: Minari's directory).
    """
    ep, placement, agent = run.ep, run.placement, run.agent
    existing = run.existing_records() if resume else {}
    if resume and not _has_files(run.ckpt_dir) and _recorded_to_the_end(run, existing):
        logging.info("%s %s (%s): already finished: its records hold every evaluation point "
                     "to %d %s steps (no checkpoint needed)", ep.task, run.agent_name,
                     ep.protocol, ep.budget, "gradient" if ep.dataset else "env")
        return _seed_records(run, existing)
    eval_env, eval_params = ep.env_params(training=False)
    sharding = placement.sharding
    lane_seeds = jnp.asarray(placement.lane_seeds)
    num_real = len(placement.seeds)
    data = _load_data(ep, dataset_root, sharding)
    # The dataset is an argument of the compiled functions, unbatched in every seed lane
    # (module docstring). Closed over instead, it became a constant of each executable: a
    # second copy per compilation (4 GB for Hard Move n=10's) and a slow compile.
    data_args = () if data is None else (data,)
    in_axes = (0,) + (None,) * len(data_args)
    data_shardings = tuple(_replicated(sharding) for _ in data_args)
    init_jit = jax.jit(jax.vmap(agent.init, in_axes=in_axes),
                       in_shardings=(sharding, *data_shardings), out_shardings=sharding)

    def init_fn(keys: jax.Array) -> Any:
        return init_jit(keys, *data_args)

    train_fns: dict[int, Callable[[Any], Any]] = {}

    def train_fn(n: int) -> Callable[[Any], Any]:
        if n not in train_fns:  # one compilation per distinct chunk length
            jitted = jax.jit(jax.vmap(lambda s, *d: agent.train(s, n, *d), in_axes=in_axes),
                             in_shardings=(sharding, *data_shardings), out_shardings=sharding,
                             donate_argnums=0)
            train_fns[n] = lambda s, f=jitted: f(s, *data_args)
        return train_fns[n]

    eval_fn = jax.jit(
        lambda states, keys: agent_episodes(agent, eval_env, eval_params, states, keys, True),
        in_shardings=(sharding, sharding), out_shardings=sharding,
    )
    keys_fn = jax.jit(lambda seeds, point, n: jax.vmap(lambda s: eval_keys(s, point, n))(seeds),
                      static_argnums=2)

    process_local = placement.process_count > 1
    ck = ckpt_lib.RunCheckpointer(run.ckpt_dir, process_local=process_local)
    label = f"{ep.task} {run.agent_name} ({ep.protocol})"
    try:
        found = None
        wall_before = 0.0
        if resume and ck.latest_step() is not None:
            template = jax.eval_shape(init_fn,
                                      jax.vmap(init_key)(jnp.asarray(placement.seeds)))
            found = ck.restore_latest(template, lambda m: ckpt_lib.check_compatible(
                m, run.identity, run.ckpt_dir))
        if found is not None:
            start, real_state, meta = found
            state = placement.pad(real_state)
            wall_before = float(meta.get("wall_time_s", 0.0))
            then = meta.get("provenance", {}).get("git_commit")
            now = results_lib.git_commit()
            if then != now:
                logging.warning("%s: the checkpoint was written at commit %s, this is %s; "
                                "records re-computed on resume are still checked for equality",
                                label, then, now)
            # Records of the checkpointed step (and earlier ones in this file) must be there.
            _sync_records(run, meta.get("records", []), existing)
            logging.info("%s: resuming from the checkpoint at %d env steps (%s)", label, start,
                         run.ckpt_dir)
        else:
            keys = jax.device_put(jax.vmap(init_key)(lane_seeds), sharding)
            state = init_fn(keys)
            start = 0
        points = [p for p in ep.eval_points() if p > start]
        if not points:
            logging.info("%s: already finished (%d env steps)", label, start)
        prov = results_lib.provenance()
        bar = Progress(label, ep.budget, start, num_real, enabled=progress and bool(points),
                       unit="gradient" if ep.dataset else "env")
        t0 = time.perf_counter()
        done = start
        for point in points:
            with bar.interval(done, point):  # heartbeat lines while the device works
                state, metrics = train_fn(point - done)(state)
                keys = jax.device_put(keys_fn(lane_seeds, point, ep.eval_episodes), sharding)
                episodes = eval_fn(state, keys)
                episodes = {k: np.asarray(v)[:num_real] for k, v in episodes.items()}
                metrics = {k: np.asarray(v)[:num_real] for k, v in flatten(metrics).items()}
            wall = wall_before + time.perf_counter() - t0
            prov_now = {**prov, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            records = _make_records(run, point, episodes, metrics, wall, prov_now)
            _sync_records(run, records, existing)
            ck.save(point, placement.real(state), {
                **run.identity, "hash_inputs": run.hash_inputs, "wall_time_s": wall,
                "records": records,
                "provenance": prov_now, "process_index": placement.process_index,
            })
            succ = np.mean([r["success_rate"] for r in records])
            bar.update(point, f"return {format_mean_std(r['return_mean'] for r in records)}, "
                              f"success {succ:.2f} (over {num_real} seeds)")
            done = point
        bar.close()
    except jax.errors.JaxRuntimeError as err:
        if not memory.is_out_of_memory(err):
            raise
        # Records and checkpoints already written stay; the task simply does not fit here.
        raise RunError(f"{label}: {memory.describe(err)}. The train state (replay included) or "
                       "one of its steps does not fit this device; a smaller replay "
                       "(--config=...) or a larger device runs it") from err
    finally:
        ck.close()
    return _seed_records(run, existing)


# ---------------------------------------------------------------------------- entry
def _resolve_protocol(ep: EnvProtocol, seeds: int | None, budget: int | None,
                      eval_interval: int | None, eval_episodes: int | None) -> EnvProtocol:
    changes: dict[str, int] = {}
    for name, value in (("seeds", seeds), ("budget", budget), ("eval_interval", eval_interval),
                        ("eval_episodes", eval_episodes)):
        if value is not None:
            if value < 1:
                raise RunError(f"--{name} must be >= 1, got {value}")
            changes[name] = value
    return dataclasses.replace(ep, **changes)


def train(
    agent: str | type,
    protocol: str | Protocol,
    out_dir: str,
    *,
    envs: Sequence[str] | None = None,
    seeds: int | None = None,
    resume: bool = False,
    seed_offset: int = 0,
    budget: int | None = None,
    eval_interval: int | None = None,
    eval_episodes: int | None = None,
    config: Any = None,
    devices: Sequence[Any] | None = None,
    progress: bool = True,
    dataset_root: str | None = None,
) -> list[dict[str, Any]]:
    """Run ``agent`` on ``protocol`` (all its envs, or ``envs``) and return the records.

    ``agent`` is a registered name, ``module:Class``, an agent spec ``name[field=value,...]``
    (config overrides applied on top of ``config`` or the defaults; the canonical spec is the
    records' agent name, see ``agents``) or a class; ``seeds`` overrides the
    protocol's seed count and ``seed_offset`` the first seed index (so ``seeds=1,
    seed_offset=3`` re-runs seed 3 of a larger run); ``budget``, ``eval_interval`` and
    ``eval_episodes`` override the protocol (smoke tests); ``config`` replaces the agent's
    defaults (``default_config(env_id)``, or the config reading the protocol names for the
    agent, ``agent_readings``; an object, or a callable ``env_id -> config``); ``devices``
    defaults to ``jax.local_devices()``; ``dataset_root``: where an offline protocol's datasets
    live (default: Minari's ``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``). Raises
    ``RunError``/``CheckpointError`` for runs that must not start (module docstring).
    """
    try:
        overrides: dict[str, Any] = {}
        if isinstance(agent, str):
            base_name, overrides = parse_agent_spec(agent)
            agent_cls = get_agent(base_name)
        else:
            agent_cls = agent
        proto = load_protocol(protocol) if isinstance(protocol, str) else protocol
        env_ids = list(envs) if envs else list(proto.envs)
        twice = sorted({e for e in env_ids if env_ids.count(e) > 1})
        if twice:
            raise RunError(f"env(s) {', '.join(twice)} given more than once; each env is one "
                           "run of every seed")
        offline = bool(getattr(agent_cls, "offline", False))
        if offline != proto.offline:
            raise RunError(
                f"{getattr(agent_cls, 'name', agent_cls)} is an {'off' if offline else 'on'}line "
                f"agent and protocol {proto.name!r} is an {'off' if proto.offline else 'on'}line "
                "protocol (offline protocols list 'datasets'; offline agents train on them)")
        eps = [_resolve_protocol(ep, seeds, budget, eval_interval, eval_episodes)
               for ep in proto.tasks(env_ids, getattr(agent_cls, "name", None))]
        base_cfgs = [config(ep.env_id) if callable(config) else config for ep in eps]
        reading = proto.reading_for(getattr(agent_cls, "name", None))
        base_cfgs = [reading_config(agent_cls, ep.env_id, reading) if c is None else c
                     for ep, c in zip(eps, base_cfgs, strict=True)]
    except RunError:
        raise
    except ValueError as err:
        raise RunError(str(err)) from err
    agent_name = record_label(getattr(agent_cls, "name", None) or agent_cls.__name__,
                              base_cfgs[0] if base_cfgs else None, overrides)
    out_dir = os.path.abspath(out_dir)
    runs = []
    for ep, cfg in zip(eps, base_cfgs, strict=True):
        try:
            placement = seed_placement(ep.seeds, seed_offset, devices)
        except PlacementError as err:
            raise RunError(str(err)) from err
        env, params = ep.env_params(training=True)
        try:  # an agent that cannot handle an env fails here, before anything runs
            cfg = apply_overrides(cfg, overrides, agent_name)
            agent_obj = agent_cls(env, params, cfg)
        except ValueError as err:
            raise RunError(f"{agent_name} on {ep.env_id}: {err}") from err
        results_path, ckpt_dir = _paths(out_dir, ep, placement)
        runs.append(EnvRun(agent_cls, agent_name, agent_obj, ep, cfg,
                           run_config_hash(agent_name, cfg, ep), placement, results_path,
                           ckpt_dir, legacy_run_config_hash(agent_name, cfg, ep),
                           json.loads(json.dumps(run_hash_inputs(agent_name, cfg, ep),
                                                 default=str))))
    records = []
    with quiet_orbax():
        for run in runs:  # refuse everything that must be refused before spending compute
            _preflight(run, resume)
        for run in runs:
            if not run.placement.seeds:
                logging.info("%s: process %d owns no seeds", run.ep.env_id, jax.process_index())
                continue
            logging.info("%s: %s on %d seed(s) %s, %d %s steps, seed axis over %d device(s); "
                         "config hash %s; results -> %s", run.ep.task, agent_name,
                         len(run.placement.seeds), list(run.placement.seeds), run.ep.budget,
                         "gradient" if run.ep.dataset else "env", run.placement.num_devices,
                         run.config_hash, run.results_path)
            records += run_env(run, resume=resume, progress=progress,
                               dataset_root=dataset_root)
    return records


