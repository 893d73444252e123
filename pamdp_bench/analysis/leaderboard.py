"""Leaderboard entries: submit a baseline, verify an entry by re-running it, render the board.

An *entry* (``results/leaderboard/entries/<protocol>__<agent>.json``) is self-contained: the
agent's import path and links, the protocol and any overrides, the per-env configs and their
hashes, every result record of the run, and a SHA-256 digest of those records (their
reproducible fields, canonical JSON). ``verify`` checks the digest (an edited number fails at
once) and then re-runs one seed with the same protocol, config and overrides and compares every
reproducible field of that seed's records. The verdict goes to a sidecar file
``<entry>.verification.json`` so the entry itself is never rewritten.

Re-running one seed alone is bitwise identical for agents whose per-seed computation does not
depend on the seed-batch shape, and within a few ulp otherwise (see ``harness.runner``), so the
comparison allows ``VERIFY_RTOL`` relative deviation; on another device kind it is reported,
since different hardware can legitimately change low-order bits of learning runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from pamdp_bench.agents import (
    agent_spec,
    apply_overrides,
    get_agent,
    hash_named,
    parse_agent_spec,
    reading_config,
)
from pamdp_bench.harness import records as results_lib
from pamdp_bench.harness.records import comparable, flatten
from pamdp_bench.harness.runner import train
from pamdp_bench.protocols import load_protocol
from pamdp_bench.testing import ContractError, check_agent

ENTRY_SCHEMA = "pamdp_bench.entry/1"
ENTRIES_DIR = os.path.join("results", "leaderboard", "entries")
BOARD_PATH = os.path.join("results", "leaderboard.md")
VERIFY_RTOL = 1e-5
VERIFY_ATOL = 1e-6


class EntryError(ValueError):
    """A malformed, tampered or irreproducible entry."""


def records_digest(records: Sequence[dict[str, Any]]) -> str:
    """SHA-256 of the reproducible part of records, order-independent."""
    rows = sorted(json.dumps(comparable(r), sort_keys=True) for r in records)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _config_dict(config: Any) -> Any:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config


def submit(
    agent: str,
    protocol: str,
    out_dir: str,
    entries_dir: str = ENTRIES_DIR,
    *,
    envs: Sequence[str] | None = None,
    seeds: int | None = None,
    overrides: dict[str, int] | None = None,
    resume: bool = True,
) -> str:
    """Run ``agent`` on ``protocol`` (resumable, into ``out_dir``) and write its entry.

    Refused before any training: an entry of that name already exists, or the agent breaks
    the suite's contracts on one of the envs (``pamdp_bench.testing.check_agent``)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    name, config_overrides = parse_agent_spec(agent)
    cls = get_agent(name)
    proto = load_protocol(protocol)
    env_ids = list(envs) if envs else list(proto.envs)
    reading = proto.reading_for(cls.name)
    config_overrides = hash_named(reading_config(cls, env_ids[0], reading), config_overrides)
    label = agent_spec(cls.name, config_overrides)
    source = agent_spec(_class_path(cls), config_overrides)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
    path = os.path.join(entries_dir, f"{proto.name}__{safe}.json")
    if os.path.exists(path):  # before any compute is spent
        raise EntryError(f"{path} exists; remove it to replace the entry")
    for env_id in env_ids:  # the suite's contracts, by tracing only, before training
        try:
            check_agent(source, env_id, env_params=proto.for_env(env_id).env_params(True))
        except ContractError as err:
            raise EntryError(f"{label} does not keep the agent contract: {err}") from err
    records = train(source, proto, out_dir, envs=env_ids, seeds=seeds, resume=resume,
                    **overrides)
    if not records:
        raise EntryError(f"{agent} on {protocol}: the run produced no records")
    entry = {
        "schema": ENTRY_SCHEMA,
        "agent": label,
        "agent_source": source,
        "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
        "code_url": getattr(cls, "code_url", ""),
        "paper_url": getattr(cls, "paper_url", ""),
        "protocol": proto.name,
        "envs": env_ids,
        "seeds": sorted({r["seed"] for r in records}),
        "overrides": overrides,
        "configs": {e: _config_dict(apply_overrides(reading_config(cls, e, reading),
                                                    config_overrides, label)) for e in env_ids},
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "provenance": records[-1]["provenance"],
        "records_digest": records_digest(records),
        "records": records,
    }
    os.makedirs(entries_dir, exist_ok=True)
    if os.path.exists(path):
        raise EntryError(f"{path} exists; remove it to replace the entry")
    with open(path, "w") as f:
        json.dump(entry, f, indent=1, sort_keys=True)
    return path


def load_entry(path: str) -> dict[str, Any]:
    """Read an entry and check its structure and records (schema, digest)."""
    try:
        with open(path) as f:
            entry = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise EntryError(f"{path}: cannot read entry ({err})") from err
    if not isinstance(entry, dict) or entry.get("schema") != ENTRY_SCHEMA:
        raise EntryError(f"{path}: not a {ENTRY_SCHEMA} entry")
    for field in ("agent", "agent_source", "protocol", "envs", "seeds", "overrides",
                  "records", "records_digest"):
        if field not in entry:
            raise EntryError(f"{path}: missing field {field!r}")
    for i, rec in enumerate(entry["records"]):
        results_lib.validate(rec, f"{path}: record {i}")
    digest = records_digest(entry["records"])
    if digest != entry["records_digest"]:
        raise EntryError(f"{path}: records do not match their digest (the entry was edited "
                         f"after submission): {digest[:12]} != {entry['records_digest'][:12]}")
    return entry


@dataclasses.dataclass
class Verification:
    """Outcome of re-running one seed of an entry."""

    entry: str
    seed: int
    ok: bool
    compared: int
    max_rel_dev: float
    problems: list[str]
    device_kind: str
    same_device_kind: bool

    def describe(self) -> str:
        head = "VERIFIED" if self.ok else "FAILED"
        lines = [f"{head}: {self.entry} seed {self.seed}: {self.compared} records compared, "
                 f"max relative deviation {self.max_rel_dev:.2e} (tolerance {VERIFY_RTOL:g})"]
        if not self.same_device_kind:
            lines.append(f"  note: re-run on {self.device_kind}, entry was recorded on another "
                         "device kind")
        lines += [f"  {p}" for p in self.problems[:20]]
        return "\n".join(lines)


def _compare(ours: dict[str, Any], ref: dict[str, Any]) -> tuple[float, list[str]]:
    """Max relative deviation of numeric fields, and every field outside the tolerance."""
    a, b = flatten(comparable(ours)), flatten(comparable(ref))
    worst, problems = 0.0, []
    for field in sorted(set(a) | set(b)):
        x, y = a.get(field), b.get(field)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        if numeric:
            dev = abs(x - y)
            if dev > VERIFY_ATOL:
                worst = max(worst, dev / abs(y) if y else math.inf)
            if dev <= VERIFY_ATOL + VERIFY_RTOL * abs(y):
                continue
        elif x == y:
            continue
        hint = (" (the agent's code or defaults changed since submission)"
                if field == "config_hash" else "")
        problems.append(f"env steps {ref['env_steps']} {field}: re-run {x!r}, entry {y!r}{hint}")
    return worst, problems


def verify(path: str, seed: int | None = None, work_dir: str | None = None) -> Verification:
    """Re-run one seed of the entry at ``path`` and compare; writes the sidecar verdict."""
    import jax

    entry = load_entry(path)
    seed = entry["seeds"][0] if seed is None else seed
    if seed not in entry["seeds"]:
        raise EntryError(f"{path}: seed {seed} is not in the entry (seeds {entry['seeds']})")
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        rerun = train(entry["agent_source"], entry["protocol"], tmp, envs=entry["envs"],
                      seeds=1, seed_offset=seed, resume=False, progress=False,
                      **entry["overrides"])
    ref = {results_lib.record_key(r): r for r in entry["records"] if r["seed"] == seed}
    ours = {results_lib.record_key(r): r for r in rerun}
    problems: list[str] = []
    worst = 0.0
    for key in sorted(set(ref) | set(ours), key=str):
        if key not in ours:
            problems.append(f"{key}: in the entry but not produced by the re-run")
        elif key not in ref:
            problems.append(f"{key}: produced by the re-run but missing from the entry")
        else:
            dev, probs = _compare(ours[key], ref[key])
            worst = max(worst, dev)
            problems += [f"{key[1]}: {p}" for p in probs]
    device = jax.devices()[0].device_kind
    result = Verification(
        entry=path, seed=seed, ok=not problems, compared=len(set(ref) & set(ours)),
        max_rel_dev=worst, problems=problems, device_kind=device,
        same_device_kind=entry.get("provenance", {}).get("device_kind") == device,
    )
    sidecar = {
        "entry": os.path.basename(path), "records_digest": entry["records_digest"],
        "verified": result.ok, "seed": seed, "compared": result.compared,
        "max_rel_dev": worst, "problems": problems[:50], "device_kind": device,
        "git_commit": results_lib.git_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with open(path[:-5] + ".verification.json", "w") as f:
        json.dump(sidecar, f, indent=1, sort_keys=True)
    return result


def _verified_mark(path: str, entry: dict[str, Any]) -> str:
    side = path[:-5] + ".verification.json"
    if not os.path.exists(side):
        return "not verified"
    with open(side) as f:
        v = json.load(f)
    if v.get("records_digest") != entry["records_digest"]:
        return "stale verification"
    return f"✓ seed {v['seed']} ({v['device_kind']})" if v.get("verified") else "✗ failed"


def render_board(entries_dir: str = ENTRIES_DIR, out_path: str = BOARD_PATH) -> str:
    """``results/leaderboard.md`` from every entry: per protocol, per env final scores."""
    from pamdp_bench.analysis import scoring
    from pamdp_bench.analysis.anchors import display_name, env_sort_key

    paths = sorted(
        os.path.join(entries_dir, f) for f in os.listdir(entries_dir)
        if f.endswith(".json") and not f.endswith(".verification.json")
    ) if os.path.isdir(entries_dir) else []
    entries = [(p, load_entry(p)) for p in paths]
    lines = ["# pamdp_bench leaderboard", "",
             "Generated by `pamdp-bench leaderboard` from `results/leaderboard/entries/`. "
             "Each cell: final evaluation, mean ± std over seeds (n); return / success rate. "
             "Verified = `pamdp-bench verify` re-ran a seed and reproduced the entry.", ""]
    if not entries:
        lines.append("No entries yet: `pamdp-bench submit AGENT --protocol P` adds one.")
    by_proto: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for p, e in entries:
        by_proto.setdefault(e["protocol"], []).append((p, e))
    for proto, items in sorted(by_proto.items()):
        envs = sorted({env for _, e in items for env in e["envs"]}, key=env_sort_key)
        lines += [f"## Protocol `{proto}`", ""]
        head = ["agent", "verified", *[display_name(e) for e in envs], "overrides"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p, e in items:
            sums = {s.env_id: s for s in scoring.summarize(e["records"])}
            links = " ".join(f"[{n}]({u})" for n, u in (("code", e.get("code_url")),
                                                         ("paper", e.get("paper_url"))) if u)
            cells = [f"`{e['agent']}` {links}".strip(), _verified_mark(p, e)]
            for env in envs:
                s = sums.get(env)
                if s is None:
                    cells.append("—")
                    continue
                r, rs, n = s.stat("return")
                sr, ss, _ = s.stat("success")
                cells.append(f"{r:.3g} ± {rs:.2g} / {sr:.2f} ± {ss:.2f} (n={n})")
            ov = ", ".join(f"{k}={v}" for k, v in sorted(e["overrides"].items())) or "—"
            cells.append(ov)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        f.write(text)
    return text
