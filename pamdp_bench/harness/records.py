"""Result records: one JSON line per (protocol, env, agent, seed, evaluation point).

Files are append-only: a writer opens with ``"a"``, writes whole lines and flushes, so a killed
run loses at most the line being written, and a reader reports such a truncated line with its
file and line number instead of failing silently or discarding the rest. Every record carries
its provenance (package version, git commit, config hash, jax/jaxlib versions, device kind,
the host CPU, wall time), so a table can always say where its numbers came from. The CPU is
part of it because XLA compiles CPU code for the host's instruction set: the same code, seeds
and jax on two CPUs can round differently, and a learning run then drifts (BC on Platform's
expert data, 500 gradient steps: return 0.476 on one 2-core host, 0.375 on another).

The schema is small and checked by hand (one table below) rather than with a JSON-schema
library: the messages name the file, line and field, which is what a user needs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import platform
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from absl import logging

from pamdp_bench.harness.seeding import BASE_SEED

if TYPE_CHECKING:
    from pamdp_bench.protocols import EnvProtocol

SCHEMA = "pamdp_bench.result/1"

#: field -> (allowed types, required). Numbers may be ints or floats; NaN is rejected.
FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "schema": ((str,), True),
    "protocol": ((str,), True),
    "env_id": ((str,), True),
    "agent": ((str,), True),
    "seed": ((int,), True),
    "env_steps": ((int,), True),  # training env steps counted toward the budget so far
    # (offline records, those with a dataset: gradient steps; no env step is taken)
    "dataset": ((str,), False),  # offline protocols: the dataset id trained on
    "warmup_steps": ((int,), False),  # uncounted warm-up env steps (HyAR), if any
    "eval_episodes": ((int,), True),
    # the step cap of those episodes (protocol's, else the env's own): anchors depend on it.
    # Optional: records written before it existed lack it (tables then read the protocol file)
    "eval_episode_cap": ((int,), False),
    "return_mean": ((int, float), True),
    "return_std": ((int, float), True),
    "success_rate": ((int, float), True),
    "length_mean": ((int, float), True),
    "final": ((bool,), True),  # the evaluation at the end of the budget
    "config_hash": ((str,), True),
    "wall_time_s": ((int, float), True),
    "provenance": ((dict,), True),
    "train_metrics": ((dict,), False),
}
PROVENANCE_FIELDS = (
    "package_version", "git_commit", "jax_version", "jaxlib_version", "device_kind", "host"
)


class ResultFileError(ValueError):
    """A malformed result file; the message names the file, line and problem."""


def config_dict(config: Any) -> Any:
    """The JSON-able form of a config as it enters a config hash.

    A dataclass config becomes ``asdict(config)`` with each field renamed through the class's
    ``LEGACY_FIELD_NAMES`` (``{current name: name when the hash was first defined}``), so a
    field renamed for consistency across agents keeps the hashes of unchanged behaviour (and the
    records and checkpoints that carry them) stable. Likewise a field added later is left out
    while it holds the value that reproduces the behaviour from before it existed (the class's
    ``HASH_ADDED_FIELDS``, ``{name: that value}``), so adding an option changes no hash; setting
    it does. Anything else is returned as it is.
    """
    if not dataclasses.is_dataclass(config):
        return config
    legacy = getattr(type(config), "LEGACY_FIELD_NAMES", {})
    added = getattr(type(config), "HASH_ADDED_FIELDS", {})
    return {legacy.get(k, k): v for k, v in dataclasses.asdict(config).items()
            if not (k in added and v == added[k])}


def config_hash(config: Any) -> str:
    """Stable short hash of a config (dataclass, via ``config_dict``, or JSON-able mapping)."""
    blob = json.dumps(config_dict(config), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def git_commit(path: str | None = None) -> str:
    """The commit of the checkout containing ``path`` (``+dirty`` if modified), else unknown."""
    where = path or os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.cache  # one host, one answer; provenance() asks once per run
def cpu_description() -> str:
    """The host CPU: model, widest vector instruction set and a digest of its feature flags
    (Linux's ``/proc/cpuinfo``; elsewhere ``platform``'s processor and machine)."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        info = {}
    info = {k.strip(): v.strip() for k, v in info.items()}
    model = info.get("model name", model)
    flags = info.get("flags", info.get("Features", ""))
    have = set(flags.split())
    isa = next((name for name, flag in (("avx512", "avx512f"), ("avx2", "avx2"),
                                        ("neon", "asimd")) if flag in have), "other")
    digest = hashlib.sha256(" ".join(sorted(have)).encode()).hexdigest()[:8]
    return f"{model}; {isa}; flags {digest}"


#: The libraries besides jax whose numerics enter a record (networks, optimisers, replay).
NUMERIC_LIBRARIES = ("flax", "optax", "flashbax", "chex", "numpy")
#: Provenance fields naming the numeric environment: a re-computation under different values
#: may differ in the last bits (XLA picks kernels by CPU; libraries change defaults).
ENVIRONMENT_FIELDS = ("cpu", "device_kind", "jax_version", "jaxlib_version", "libraries")


@functools.cache
def library_versions() -> str:
    """``"flax 0.12.8, optax 0.2.8, ..."`` for ``NUMERIC_LIBRARIES`` (installed versions)."""
    from importlib import metadata

    out = []
    for name in NUMERIC_LIBRARIES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} absent")
    return ", ".join(out)


def environment_differences(then: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
    """How the numeric environment of a stored record (its provenance) differs from ``now``'s:
    ``["cpu: A -> B", "libraries: not recorded", ...]``; empty when every recorded field agrees."""
    then = then or {}
    out = []
    for field in ENVIRONMENT_FIELDS:
        if field not in then:
            out.append(f"{field}: not recorded")
        elif then[field] != now.get(field):
            out.append(f"{field}: {then[field]} -> {now.get(field)}")
    return out


def provenance() -> dict[str, str]:
    """Where a number came from: versions (jax and the numeric libraries), commit, device,
    CPU."""
    import jax
    import jaxlib

    from pamdp_bench import __version__

    return {
        "package_version": __version__,
        "git_commit": git_commit(),
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "libraries": library_versions(),
        "device_kind": jax.devices()[0].device_kind,
        "device_count": str(jax.device_count()),
        "cpu": cpu_description(),
        "host": socket.gethostname(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def validate(record: Any, where: str = "record") -> dict[str, Any]:
    """Check one record against the schema; raise ``ResultFileError`` naming the problem."""
    if not isinstance(record, dict):
        raise ResultFileError(
            f"{where}: a record must be a JSON object, got {type(record).__name__}"
        )
    for name, (types, required) in FIELDS.items():
        if name not in record:
            if required:
                raise ResultFileError(f"{where}: missing field {name!r}")
            continue
        value = record[name]
        ok_type = isinstance(value, types) and not (bool in types) ^ isinstance(value, bool)
        if not ok_type:
            want = "/".join(t.__name__ for t in types)
            raise ResultFileError(
                f"{where}: field {name!r} must be {want}, got {type(value).__name__} ({value!r})"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultFileError(f"{where}: field {name!r} is not finite ({value})")
    if record["schema"] != SCHEMA:
        raise ResultFileError(f"{where}: schema {record['schema']!r}, expected {SCHEMA!r}")
    if not 0.0 <= record["success_rate"] <= 1.0:
        raise ResultFileError(f"{where}: success_rate {record['success_rate']} outside [0, 1]")
    if record["eval_episodes"] < 1 or record["env_steps"] < 0 or record["seed"] < 0:
        raise ResultFileError(f"{where}: eval_episodes >= 1, env_steps >= 0, seed >= 0 required")
    if record.get("eval_episode_cap", 1) < 1:
        raise ResultFileError(f"{where}: eval_episode_cap must be >= 1, got "
                              f"{record['eval_episode_cap']}")
    missing = [f for f in PROVENANCE_FIELDS if f not in record["provenance"]]
    if missing:
        raise ResultFileError(f"{where}: provenance lacks {missing}")
    return record


def record_key(record: dict[str, Any]) -> tuple[Any, ...]:
    """Identity of a record: one per (protocol, env, agent, seed, evaluation point, dataset);
    ``dataset`` is None for online records (last, so the other positions stay put)."""
    return (record["protocol"], record["env_id"], record["agent"], record["seed"],
            record["env_steps"], record.get("dataset"))


def append_records(path: str, records: Iterable[dict[str, Any]]) -> int:
    """Validate, then append records as JSON lines (flushed and fsynced); returns the count.

    Everything is validated before anything is written, so a bad record never leaves a partial
    batch behind; existing lines are never rewritten.
    """
    records = [validate(r, f"{path}: new record") for r in records]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return len(records)


def iter_records(path: str) -> Iterator[dict[str, Any]]:
    """Yield validated records of one file; malformed lines raise with file:line."""
    for _, record in iter_numbered_records(path):
        yield record


def iter_numbered_records(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, validated record)`` of one file (``iter_records`` with locations)."""
    with open(path, encoding="utf-8", errors="strict") as f:
        lineno = 0
        while True:
            lineno += 1
            try:
                line = f.readline()
            except UnicodeDecodeError as err:
                raise ResultFileError(f"{path}:{lineno}: not UTF-8 text ({err.reason})") from err
            if not line:
                break
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                if not line.endswith("\n"):  # only a line that does not parse is truncated
                    raise ResultFileError(f"{where}: truncated last line (a run was killed "
                                          "while writing?); remove it or re-run with --resume"
                                          ) from err
                raise ResultFileError(f"{where}: not valid JSON ({err.msg})") from err
            yield lineno, validate(record, where)


def result_files(paths: Iterable[str]) -> list[str]:
    """Expand files and directories (recursively, ``*.jsonl``) into a sorted file list."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                out += [os.path.join(root, f) for f in files if f.endswith(".jsonl")]
        elif os.path.isfile(p):
            out.append(p)
        else:
            raise ResultFileError(f"{p}: no such file or directory")
    return sorted(set(out))


def load_records(paths: Iterable[str]) -> list[dict[str, Any]]:
    """All records of files/directories (``load_located_records`` without the files)."""
    return [r for _, r in load_located_records(paths)]


def load_located_records(paths: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """``(file, record)`` of all records of files/directories (the file a record was first
    read from); duplicates of one key and config hash must agree in every field but wall time,
    provenance and ``final`` (a run extended to a larger budget wrote the same point as final
    before), else an error naming both file:line locations and the fields. Records of the same
    key with different config hashes (an agent re-run after its defaults changed) are all kept;
    the tables show each config as its own row."""
    seen: dict[tuple[Any, ...], tuple[str, str, dict[str, Any]]] = {}
    for path in result_files(paths):
        for lineno, r in iter_numbered_records(path):
            key = (*record_key(r), r["config_hash"])
            where = f"{path}:{lineno}"
            if key in seen:
                _, prev_where, prev = seen[key]
                a, b = flatten(comparable(prev)), flatten(comparable(r))
                differ = sorted(f for f in set(a) | set(b)
                                if f != "final" and a.get(f) != b.get(f))
                if differ:
                    raise ResultFileError(
                        f"{where}: record {key} conflicts with the one at {prev_where} "
                        f"(fields that differ: {', '.join(differ[:8])})")
                continue
            seen[key] = (path, where, r)
    return [(path, r) for path, _, r in seen.values()]


# ------------------------------------------------------------------- run records
#: Record fields that legitimately differ between a run and its resumed re-computation.
VOLATILE_FIELDS = ("wall_time_s", "provenance")
#: Fields restating what ``config_hash`` already pins (the protocol is in the hash), left out of
#: comparisons so records written before they existed still match their re-computation.
DERIVED_FIELDS = ("eval_episode_cap",)


def run_hash_inputs(agent_name: str, config: Any, ep: EnvProtocol, *,
                    with_budget: bool = False) -> dict[str, Any]:
    """What a run's config hash covers: agent, agent config, the resolved protocol without its
    seed count and budget (neither changes any seed's numbers at a given env step, so a run
    can be extended to a larger budget), and the key root. ``with_budget``: the inputs of the
    hashes written before the budget left them (``legacy_run_config_hash``)."""
    proto = dataclasses.asdict(ep)
    proto.pop("seeds")
    if not with_budget:
        proto.pop("budget")
    if not proto["env_overrides"]:  # keeps the hashes of runs from before the field existed
        proto.pop("env_overrides")
    if proto["dataset"] is None:  # likewise (online runs)
        proto.pop("dataset")
    return {"agent": agent_name, "agent_config": config_dict(config), "protocol": proto,
            "base_seed": BASE_SEED}


def run_config_hash(agent_name: str, config: Any, ep: EnvProtocol) -> str:
    """Hash of what determines a seed's numbers (``run_hash_inputs``)."""
    return config_hash(run_hash_inputs(agent_name, config, ep))


def legacy_run_config_hash(agent_name: str, config: Any, ep: EnvProtocol) -> str:
    """The hash runs were started under before the budget left the hash: the runner keeps it
    for resuming such a run at its original budget, so one run never mixes two hashes."""
    return config_hash(run_hash_inputs(agent_name, config, ep, with_budget=True))


def hash_input_differences(saved: Any, current: Any, prefix: str = "") -> list[str]:
    """``field: saved -> current`` for every leaf that differs between two hash inputs."""
    if isinstance(saved, dict) and isinstance(current, dict):
        out = []
        for k in sorted(set(saved) | set(current), key=str):
            name = f"{prefix}.{k}" if prefix else str(k)
            if k not in saved:
                out.append(f"{name}: (absent) -> {current[k]!r}")
            elif k not in current:
                out.append(f"{name}: {saved[k]!r} -> (absent)")
            else:
                out += hash_input_differences(saved[k], current[k], name)
        return out
    if isinstance(saved, (list, tuple)) and isinstance(current, (list, tuple)):
        saved, current = list(saved), list(current)
    return [] if saved == current else [f"{prefix}: {saved!r} -> {current!r}"]


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without the fields that differ between a run and its re-computation (and
    those the config hash already covers, ``DERIVED_FIELDS``)."""
    return {k: v for k, v in record.items()
            if k not in VOLATILE_FIELDS and k not in DERIVED_FIELDS}


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


def repair_truncated_tail(path: str) -> None:
    """Before a resume appends: a last line without its newline gets one if it is a valid
    record (nothing valid is ever deleted), and is dropped (logged) only if it does not parse,
    i.e. a record torn by a killed writer."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        lineno = data.count(b"\n") + 1
        tail = data[cut:]
        try:
            validate(json.loads(tail.decode("utf-8")), f"{path}:{lineno}")
        except (UnicodeDecodeError, json.JSONDecodeError, ResultFileError):
            logging.warning("%s:%d: removing a truncated last line left by a killed run "
                            "(%d bytes)", path, lineno, len(tail))
            f.truncate(cut)
            return
        logging.warning("%s:%d: the last record had no final newline; adding it", path, lineno)
        f.write(b"\n")


def scalar_metrics(metrics: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """One seed's train metrics as JSON scalars (non-scalar values dropped: the protocol asks
    for scalars) and its uncounted warm-up steps (``metrics["warmup_steps"]``), if reported."""
    out: dict[str, Any] = {}
    warmup = None
    for name, value in metrics.items():
        v = np.asarray(value)
        if v.shape != ():
            continue
        if name == "warmup_steps":
            warmup = int(v)
        else:
            out[name] = _scalar(v)
    return out, warmup


def build_record(ep: EnvProtocol, agent: str, seed: int, env_steps: int,
                 summary: dict[str, float], config_hash: str, wall_time_s: float,
                 provenance: dict[str, str], train_metrics: dict[str, Any],
                 warmup_steps: int | None = None) -> dict[str, Any]:
    """One validated result record (the only place records are assembled)."""
    rec: dict[str, Any] = {
        "schema": SCHEMA,
        "protocol": ep.protocol,
        "env_id": ep.env_id,
        **({"dataset": ep.dataset} if ep.dataset else {}),
        "agent": agent,
        "seed": int(seed),
        "env_steps": int(env_steps),
        "eval_episodes": ep.eval_episodes,
        "eval_episode_cap": ep.effective_eval_cap,
        **summary,
        "final": int(env_steps) == ep.budget,
        "config_hash": config_hash,
        "wall_time_s": round(wall_time_s, 3),
        "provenance": provenance,
    }
    if warmup_steps is not None:
        rec["warmup_steps"] = int(warmup_steps)
    rec["train_metrics"] = train_metrics
    return validate(rec)
