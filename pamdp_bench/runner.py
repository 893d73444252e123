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
   the progress display (tqdm on a terminal, else absl logging).

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
(without its seed count, which does not change any seed's numbers) and ``BASE_SEED``.

Several hosts. When ``jax.distributed`` is initialised, process ``i`` of ``n`` owns a
contiguous slice of the seeds (``numpy.array_split``), shards it over its local devices,
writes its records to ``OUT/results.process-<i>-of-<n>.jsonl`` and its checkpoints under
``OUT/checkpoints/<env_id>/process-<i>-of-<n>/`` (result readers take every ``*.jsonl`` of a
directory). No data crosses hosts, so the processes need not run in lockstep; a resume must use
the same process count. Only the single-host path is tested here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging as py_logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from pamdp_bench import checkpoints as ckpt_lib
from pamdp_bench import results as results_lib
from pamdp_bench.agents import agent_spec, apply_overrides, get_agent, parse_agent_spec
from pamdp_bench.evaluate import agent_episodes, summarize_episodes
from pamdp_bench.protocols import EnvProtocol, Protocol, load_protocol

#: The root of every key of a run (see the module docstring).
BASE_SEED = 0
_INIT_STREAM = 0
_EVAL_STREAM = 1
#: Record fields that legitimately differ between a run and its resumed re-computation.
VOLATILE_FIELDS = ("wall_time_s", "provenance")


class RunError(ValueError):
    """A run that cannot start or continue (the message says why and what to do)."""


# ----------------------------------------------------------------------------- keys
def seed_key(seed: int | jax.Array) -> jax.Array:
    """The root key of seed index ``seed``."""
    return jax.random.fold_in(jax.random.key(BASE_SEED), seed)


def init_key(seed: int | jax.Array) -> jax.Array:
    """The key given to the agent's ``init`` for seed ``seed``."""
    return jax.random.fold_in(seed_key(seed), _INIT_STREAM)


def eval_keys(seed: int | jax.Array, env_steps: int | jax.Array, episodes: int) -> jax.Array:
    """``[episodes]`` episode keys of seed ``seed``'s evaluation at ``env_steps``."""
    point = jax.random.fold_in(jax.random.fold_in(seed_key(seed), _EVAL_STREAM), env_steps)
    return jax.random.split(point, episodes)


# ------------------------------------------------------------------------ placement
@dataclasses.dataclass(frozen=True)
class SeedPlacement:
    """Which seeds this process runs and how its seed axis is laid out on devices."""

    seeds: tuple[int, ...]  # seed indices owned by this process
    mesh: Mesh
    process_index: int = 0
    process_count: int = 1

    @property
    def num_devices(self) -> int:
        return int(self.mesh.devices.size)

    @property
    def lanes(self) -> int:
        """Seed-axis length after padding to a multiple of the device count."""
        return -(-len(self.seeds) // self.num_devices) * self.num_devices

    @property
    def lane_seeds(self) -> np.ndarray:
        """Seed index of every lane (padded lanes repeat the first seed)."""
        pad = [self.seeds[0]] * (self.lanes - len(self.seeds))
        return np.asarray(list(self.seeds) + pad, np.int32)

    @property
    def sharding(self) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec("seed"))

    def pad(self, tree: Any) -> Any:
        """Real-lane pytree ``[S, ...]`` -> padded ``[lanes, ...]``, placed on the mesh."""
        idx = np.concatenate([np.arange(len(self.seeds)),
                              np.zeros(self.lanes - len(self.seeds), np.int64)])
        padded = jax.tree.map(lambda x: jnp.asarray(x)[idx], tree)
        return jax.device_put(padded, self.sharding)

    def real(self, tree: Any) -> Any:
        """Drop padded lanes."""
        n = len(self.seeds)
        return jax.tree.map(lambda x: x[:n], tree)


def seed_placement(
    num_seeds: int, seed_offset: int = 0, devices: Sequence[Any] | None = None
) -> SeedPlacement:
    """This process's seeds (its slice under ``jax.distributed``) over its local devices."""
    if num_seeds < 1 or seed_offset < 0:
        raise RunError(f"need seeds >= 1 and seed_offset >= 0, got {num_seeds}, {seed_offset}")
    count, index = jax.process_count(), jax.process_index()
    all_seeds = np.arange(seed_offset, seed_offset + num_seeds)
    own = tuple(int(s) for s in np.array_split(all_seeds, count)[index])
    devs = list(devices) if devices is not None else jax.local_devices()
    mesh = Mesh(np.asarray(devs), ("seed",))
    return SeedPlacement(seeds=own, mesh=mesh, process_index=index, process_count=count)


# ----------------------------------------------------------------------- run pieces
def run_config_hash(agent_name: str, config: Any, ep: EnvProtocol) -> str:
    """Hash of what determines a seed's numbers: agent, agent config, resolved protocol."""
    agent_cfg = results_lib.config_dict(config)
    proto = dataclasses.asdict(ep)
    proto.pop("seeds")
    if not proto["env_overrides"]:  # keeps the hashes of runs from before the field existed
        proto.pop("env_overrides")
    return results_lib.config_hash({"agent": agent_name, "agent_config": agent_cfg,
                                    "protocol": proto, "base_seed": BASE_SEED})


def _paths(out_dir: str, env_id: str, placement: SeedPlacement) -> tuple[str, str]:
    """(results file, checkpoint directory) of this process for ``env_id``."""
    ckpt = os.path.join(out_dir, "checkpoints", env_id)
    if placement.process_count == 1:
        return os.path.join(out_dir, "results.jsonl"), ckpt
    tag = f"process-{placement.process_index}-of-{placement.process_count}"
    return os.path.join(out_dir, f"results.{tag}.jsonl"), os.path.join(ckpt, tag)


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without the fields that differ between a run and its re-computation."""
    return {k: v for k, v in record.items() if k not in VOLATILE_FIELDS}


def _scalar(value: np.ndarray) -> Any:
    """A per-seed metric value as a JSON scalar (non-finite floats as strings)."""
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return bool(value)
    if np.issubdtype(value.dtype, np.integer):
        return int(value)
    f = float(value)
    return f if math.isfinite(f) else str(f)


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level with ``/``-joined names (metrics, record comparison)."""
    out: dict[str, Any] = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{name}/"))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _repair_truncated_tail(path: str) -> None:
    """Drop a partial last line left by a killed writer (resume only; logged)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        lineno = data.count(b"\n") + 1
        logging.warning("%s:%d: removing a truncated last line left by a killed run (%d bytes)",
                        path, lineno, len(data) - cut)
        f.truncate(cut)


def _fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _Progress:
    """Env steps, steps/s, ETA and the last evaluation: tqdm on a terminal, else absl logs."""

    def __init__(self, label: str, total: int, start: int, num_seeds: int, enabled: bool):
        self.label, self.total, self.start, self.num_seeds = label, total, start, num_seeds
        self.t0 = time.perf_counter()
        self.bar = None
        self.enabled = enabled
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # optional: fall back to log lines
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=start, desc=label, unit="step",
                                dynamic_ncols=True, file=sys.stderr)

    def update(self, env_steps: int, last_eval: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(last_eval, refresh=False)
            self.bar.update(env_steps - self.bar.n)
            return
        elapsed = time.perf_counter() - self.t0
        rate = (env_steps - self.start) / elapsed if elapsed > 0 else float("nan")
        eta = (self.total - env_steps) / rate if rate > 0 else float("nan")
        logging.info("%s: %d/%d env steps (%.0f%%) | %.0f steps/s per seed x %d seeds | "
                     "ETA %s | eval: %s", self.label, env_steps, self.total,
                     100.0 * env_steps / self.total, rate, self.num_seeds,
                     _fmt_duration(eta), last_eval)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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

    @property
    def identity(self) -> dict[str, Any]:
        """Fields a checkpoint must match to be resumed."""
        return {
            "format_version": ckpt_lib.FORMAT_VERSION,
            "config_hash": self.config_hash,
            "agent": self.agent_name,
            "env_id": self.ep.env_id,
            "protocol": self.ep.protocol,
            "seeds": list(self.placement.seeds),
            "process_count": self.placement.process_count,
        }

    def owns(self, record: dict[str, Any]) -> bool:
        """Is ``record`` one of this run's (same protocol, env, agent, one of our seeds)?"""
        return (record["protocol"] == self.ep.protocol and record["env_id"] == self.ep.env_id
                and record["agent"] == self.agent_name and record["seed"] in self.placement.seeds)

    def existing_records(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        if not os.path.exists(self.results_path):
            return {}
        return {results_lib.record_key(r): r for r in results_lib.iter_records(self.results_path)
                if self.owns(r)}

    def latest_checkpoint(self) -> int | None:
        if not _has_files(self.ckpt_dir):
            return None
        with ckpt_lib.RunCheckpointer(self.ckpt_dir,
                                      process_local=self.placement.process_count > 1) as ck:
            return ck.latest_step()


class _QuietOrbax(py_logging.Filter):
    """Drop orbax's INFO chatter (dozens of lines per save) so progress lines stay readable."""

    def filter(self, record: py_logging.LogRecord) -> bool:
        return record.levelno > py_logging.INFO or f"{os.sep}orbax{os.sep}" not in record.pathname


@contextlib.contextmanager
def _quiet_orbax() -> Iterator[None]:
    logger = py_logging.getLogger("absl")
    filt = _QuietOrbax()
    logger.addFilter(filt)
    try:
        yield
    finally:
        logger.removeFilter(filt)


def _has_files(directory: str) -> bool:
    return os.path.isdir(directory) and any(os.scandir(directory))


def _preflight(run: EnvRun, resume: bool) -> None:
    """Refuse, before any work, what would overwrite results or load a foreign checkpoint."""
    ep = run.ep
    if not resume:
        if os.path.exists(run.results_path):
            for r in results_lib.iter_records(run.results_path):
                if (r["protocol"], r["env_id"], r["agent"]) == (ep.protocol, ep.env_id,
                                                                run.agent_name):
                    raise RunError(
                        f"{run.results_path} already holds records of {run.agent_name} on "
                        f"{ep.env_id} ({ep.protocol}); pass --resume to continue that run, or "
                        "choose another --out directory (results are never overwritten)")
        if _has_files(run.ckpt_dir):
            raise RunError(f"{run.ckpt_dir} already holds checkpoints of a run; pass --resume "
                           "to continue it, or choose another --out directory (results are "
                           "never overwritten)")
        return
    _repair_truncated_tail(run.results_path)
    for key, r in run.existing_records().items():
        if r["config_hash"] != run.config_hash:
            raise RunError(
                f"{run.results_path}: record {key} has config hash {r['config_hash']!r}, this "
                f"run has config hash {run.config_hash!r}; refusing to resume a different "
                "configuration into it")
    step = run.latest_checkpoint()
    if step is not None:
        with ckpt_lib.RunCheckpointer(run.ckpt_dir,
                                      process_local=run.placement.process_count > 1) as ck:
            meta = ck.read_meta(step)
        ckpt_lib.check_compatible(meta, run.identity, f"{run.ckpt_dir}")


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
            raise RunError(
                f"{run.results_path}: the stored record {key} differs from its re-computation "
                f"in {diff} (stored {[a.get(k) for k in diff]}, now {[b.get(k) for k in diff]});"
                " the resumed run does not reproduce the original (changed code or config?)")
    results_lib.append_records(run.results_path, new)
    for r in new:
        existing[results_lib.record_key(r)] = r
    return len(new)


def _make_records(run: EnvRun, env_steps: int, episodes: dict[str, np.ndarray],
                  metrics: dict[str, np.ndarray], wall: float,
                  prov: dict[str, str]) -> list[dict[str, Any]]:
    ep = run.ep
    out = []
    for lane, seed in enumerate(run.placement.seeds):
        rec: dict[str, Any] = {
            "schema": results_lib.SCHEMA,
            "protocol": ep.protocol,
            "env_id": ep.env_id,
            "agent": run.agent_name,
            "seed": int(seed),
            "env_steps": int(env_steps),
            "eval_episodes": ep.eval_episodes,
            **summarize_episodes({k: v[lane] for k, v in episodes.items()}),
            "final": env_steps == ep.budget,
            "config_hash": run.config_hash,
            "wall_time_s": round(wall, 3),
            "provenance": prov,
        }
        train_metrics = {}
        for name, value in metrics.items():
            v = np.asarray(value)[lane]
            if v.shape != ():
                continue  # the protocol asks for scalars; anything else is not recorded
            if name == "warmup_steps":
                rec["warmup_steps"] = int(v)
            else:
                train_metrics[name] = _scalar(v)
        rec["train_metrics"] = train_metrics
        out.append(rec)
    return out


def run_env(run: EnvRun, *, resume: bool, progress: bool = True) -> list[dict[str, Any]]:
    """Train and evaluate one env for this process's seeds; returns its records (all points)."""
    ep, placement, agent = run.ep, run.placement, run.agent
    eval_env, eval_params = ep.env_params(training=False)
    sharding = placement.sharding
    lane_seeds = jnp.asarray(placement.lane_seeds)
    num_real = len(placement.seeds)

    init_fn = jax.jit(jax.vmap(agent.init), in_shardings=sharding, out_shardings=sharding)
    train_fns: dict[int, Callable[[Any], Any]] = {}

    def train_fn(n: int) -> Callable[[Any], Any]:
        if n not in train_fns:  # one compilation per distinct chunk length
            train_fns[n] = jax.jit(jax.vmap(lambda s: agent.train(s, n)),
                                   in_shardings=sharding, out_shardings=sharding,
                                   donate_argnums=0)
        return train_fns[n]

    eval_fn = jax.jit(
        lambda states, keys: agent_episodes(agent, eval_env, eval_params, states, keys, True),
        in_shardings=(sharding, sharding), out_shardings=sharding,
    )
    keys_fn = jax.jit(lambda seeds, point, n: jax.vmap(lambda s: eval_keys(s, point, n))(seeds),
                      static_argnums=2)

    existing = run.existing_records() if resume else {}
    process_local = placement.process_count > 1
    ck = ckpt_lib.RunCheckpointer(run.ckpt_dir, process_local=process_local)
    label = f"{ep.env_id} {run.agent_name} ({ep.protocol})"
    try:
        start = ck.latest_step() if resume else None
        wall_before = 0.0
        if start is not None:
            template = jax.eval_shape(jax.vmap(agent.init),
                                      jax.vmap(init_key)(jnp.asarray(placement.seeds)))
            meta = ck.read_meta(start)
            ckpt_lib.check_compatible(meta, run.identity, run.ckpt_dir)
            real_state, meta = ck.restore(start, template)
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
        bar = _Progress(label, ep.budget, start, num_real, enabled=progress and bool(points))
        t0 = time.perf_counter()
        done = start
        for point in points:
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
                **run.identity, "wall_time_s": wall, "records": records,
                "provenance": prov_now, "process_index": placement.process_index,
            })
            rets = np.asarray([r["return_mean"] for r in records])
            succ = np.asarray([r["success_rate"] for r in records])
            bar.update(point, f"return {rets.mean():.3f} ± {rets.std():.3f}, "
                              f"success {succ.mean():.2f} (over {num_real} seeds)")
            done = point
        bar.close()
    finally:
        ck.close()
    all_records = [r for r in existing.values() if r["seed"] in placement.seeds]
    return sorted(all_records, key=lambda r: (r["seed"], r["env_steps"]))


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
) -> list[dict[str, Any]]:
    """Run ``agent`` on ``protocol`` (all its envs, or ``envs``) and return the records.

    ``agent`` is a registered name, ``module:Class``, an agent spec ``name[field=value,...]``
    (config overrides applied on top of ``config`` or the defaults; the canonical spec is the
    records' agent name, see ``agents``) or a class; ``seeds`` overrides the
    protocol's seed count and ``seed_offset`` the first seed index (so ``seeds=1,
    seed_offset=3`` re-runs seed 3 of a larger run); ``budget``, ``eval_interval`` and
    ``eval_episodes`` override the protocol (smoke tests); ``config`` replaces the agent's
    ``default_config(env_id)`` (an object, or a callable ``env_id -> config``); ``devices``
    defaults to ``jax.local_devices()``. Raises ``RunError``/``CheckpointError`` for runs that
    must not start (see the module docstring).
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
        eps = [_resolve_protocol(proto.for_env(e), seeds, budget, eval_interval, eval_episodes)
               for e in env_ids]
    except RunError:
        raise
    except ValueError as err:
        raise RunError(str(err)) from err
    agent_name = agent_spec(getattr(agent_cls, "name", None) or agent_cls.__name__, overrides)
    out_dir = os.path.abspath(out_dir)
    runs = []
    for ep in eps:
        placement = seed_placement(ep.seeds, seed_offset, devices)
        cfg = config(ep.env_id) if callable(config) else config
        if cfg is None:
            cfg = agent_cls.default_config(ep.env_id)
        env, params = ep.env_params(training=True)
        try:  # an agent that cannot handle an env fails here, before anything runs
            cfg = apply_overrides(cfg, overrides, agent_name)
            agent_obj = agent_cls(env, params, cfg)
        except ValueError as err:
            raise RunError(f"{agent_name} on {ep.env_id}: {err}") from err
        results_path, ckpt_dir = _paths(out_dir, ep.env_id, placement)
        runs.append(EnvRun(agent_cls, agent_name, agent_obj, ep, cfg,
                           run_config_hash(agent_name, cfg, ep), placement, results_path,
                           ckpt_dir))
    records = []
    with _quiet_orbax():
        for run in runs:  # refuse everything that must be refused before spending compute
            _preflight(run, resume)
        for run in runs:
            if not run.placement.seeds:
                logging.info("%s: process %d owns no seeds", run.ep.env_id, jax.process_index())
                continue
            logging.info("%s: %s on %d seed(s) %s, %d env steps, seed axis over %d device(s); "
                         "config hash %s; results -> %s", run.ep.env_id, agent_name,
                         len(run.placement.seeds), list(run.placement.seeds), run.ep.budget,
                         run.placement.num_devices, run.config_hash, run.results_path)
            records += run_env(run, resume=resume, progress=progress)
    return records


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
    try:
        records = train(agent, protocol, out_dir, envs=envs, seeds=seeds, resume=resume,
                        seed_offset=seed_offset, budget=budget, eval_interval=eval_interval,
                        eval_episodes=eval_episodes)
    except (RunError, ckpt_lib.CheckpointError, results_lib.ResultFileError) as err:
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

