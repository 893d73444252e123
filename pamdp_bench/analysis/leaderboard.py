"""Leaderboard entries: submit a baseline, verify an entry by re-running it, render the board.

Threat model. An entry arrives as files in a pull request; whoever submits it controls every
byte of them. The maintainers (or CI) run ``pamdp-bench verify`` / ``pamdp-bench leaderboard
--verify``; nothing a submitter writes is trusted without that.

An *entry* (``results/leaderboard/entries/<protocol>__<agent>.json``, schema
``pamdp_bench.entry/2``) is self-contained: the agent's label and import path, links, the
protocol's name *and the full text of its TOML file*, the envs, the seed count asked for and the
seeds run, the overrides (budget, eval interval, eval episodes), the per-env configs, the
package version, every result record, and ``entry_digest``: the SHA-256 of the canonical JSON
of every other field. So an edited number, label, seed list or protocol fails ``load_entry``
unless the digest is recomputed, and a recomputed digest is what ``verify`` is for:

* the label must be the one ``submit`` derives from ``agent_source`` (a random agent cannot be
  shown as ``dlpa``); records must carry that label, the protocol and envs of the entry;
* the seeds must be ``0..n-1`` for the seed count the protocol (or the submission's
  ``--seeds``) asks for, and the records must cover every (env, seed, evaluation point) of the
  resolved protocol: no seed or point may be dropped;
* the run is repeated with the entry's exact seed batch (the same ``vmap`` layout: a seed run
  alone is not bitwise equal to the same seed in a batch, because XLA reduces differently for
  another batch shape) and the entry's own protocol text, and every number of every record is
  compared. The cost of a verification is the cost of the submission; ``envs`` verifies a
  subset of the envs (each env is a separate run, so the layout is unchanged).

Comparison. On the device kind and count the entry was recorded on (and, for ``cpu``, the same
host CPU: ``records.cpu_description``; XLA compiles for the host's instruction set, so two CPU
hosts can round differently), records must be equal bit for bit (every field but wall time and
provenance). Elsewhere the numbers of learning runs can legitimately drift, so each numeric
field must agree within ``VERIFY_RTOL`` relative (``VERIFY_ATOL`` absolute) and the verdict
says ``tolerance``, never ``bitwise``; a drift beyond that is a failure that only a
verification on the entry's device kind and CPU can settle. Entries recorded before records
named their CPU are compared bit for bit on their device kind and count, as before.

Verdicts. ``verify`` writes ``<entry>.verification.json`` bound to the entry's digest; with
``PAMDP_BENCH_VERDICT_KEY`` set it is signed (HMAC-SHA256). The board shows ✓ only for a
verdict whose digest is the entry's and whose signature checks under the renderer's key, or for
one it has just produced itself (``leaderboard --verify``, which re-verifies every entry
instead of reading files). An unsigned or forged sidecar is shown as such, never as ✓.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from pamdp_bench.agents import (
    apply_overrides,
    get_agent,
    hash_named,
    parse_agent_spec,
    reading_config,
    record_label,
)
from pamdp_bench.harness import records as results_lib
from pamdp_bench.harness.records import comparable, flatten
from pamdp_bench.harness.runner import _resolve_protocol, train
from pamdp_bench.protocols import load_protocol
from pamdp_bench.testing import ContractError, check_agent

ENTRY_SCHEMA = "pamdp_bench.entry/2"
ENTRIES_DIR = os.path.join("results", "leaderboard", "entries")
VERDICT_KEY_ENV = "PAMDP_BENCH_VERDICT_KEY"
VERIFY_RTOL = 1e-5
VERIFY_ATOL = 1e-6


class EntryError(ValueError):
    """A malformed, tampered or irreproducible entry."""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def entry_digest(entry: dict[str, Any]) -> str:
    """SHA-256 of every field of an entry but the digest itself (records in a fixed order,
    without the fields that differ between a run and its re-computation)."""
    body = {k: v for k, v in entry.items() if k != "entry_digest"}
    body["records"] = sorted(json.dumps(comparable(r), sort_keys=True)
                             for r in entry.get("records", []))
    return hashlib.sha256(_canonical(body)).hexdigest()


def _class_path(cls: type) -> str:
    """``module:Class`` of an agent class, when that path imports back to it; else its
    registered name (a preset such as ``mpdqn`` is a class made at registration, with no
    importable path, and its name is how ``get_agent`` finds it)."""
    module = sys.modules.get(cls.__module__)
    obj = module
    for part in cls.__qualname__.split("."):
        obj = getattr(obj, part, None)
    if obj is cls:
        return f"{cls.__module__}:{cls.__qualname__}"
    name = getattr(cls, "name", "")
    try:
        if name and get_agent(name) is cls:
            return name
    except ValueError:
        pass
    raise EntryError(f"{cls.__module__}:{cls.__qualname__} can neither be imported by that "
                     "path nor found by its registered name: a verifier could not rebuild it")


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
    first_config = reading_config(cls, env_ids[0], reading)
    label = record_label(cls.name, first_config, config_overrides)
    source = record_label(_class_path(cls), first_config, config_overrides)
    config_overrides = hash_named(first_config, config_overrides)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
    path = os.path.join(entries_dir, f"{proto.name}__{safe}.json")
    if os.path.exists(path):  # before any compute is spent
        raise EntryError(f"{path} exists; remove it to replace the entry")
    for env_id in env_ids:  # the suite's contracts, by tracing only, before training
        try:
            check_agent(source, env_id,
                        env_params=proto.for_env(env_id, cls.name).env_params(True))
        except ContractError as err:
            raise EntryError(f"{label} does not keep the agent contract: {err}") from err
    records = train(source, proto, out_dir, envs=env_ids, seeds=seeds, resume=resume,
                    **overrides)
    if not records:
        raise EntryError(f"{agent} on {protocol}: the run produced no records")
    from pamdp_bench import __version__

    with open(proto.path, encoding="utf-8") as f:
        protocol_toml = f.read()
    entry = {
        "schema": ENTRY_SCHEMA,
        "agent": label,
        "agent_source": source,
        "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
        "code_url": getattr(cls, "code_url", ""),
        "paper_url": getattr(cls, "paper_url", ""),
        "protocol": proto.name,
        "protocol_toml": protocol_toml,
        "envs": env_ids,
        "seeds_requested": seeds,
        "seeds": sorted({r["seed"] for r in records}),
        "overrides": overrides,
        "configs": {e: _config_dict(apply_overrides(reading_config(cls, e, reading),
                                                    config_overrides, label)) for e in env_ids},
        "package_version": __version__,
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "provenance": records[-1]["provenance"],
        "records": records,
    }
    entry["entry_digest"] = entry_digest(entry)
    os.makedirs(entries_dir, exist_ok=True)
    if os.path.exists(path):
        raise EntryError(f"{path} exists; remove it to replace the entry")
    with open(path, "w") as f:
        json.dump(entry, f, indent=1, sort_keys=True)
    return path


ENTRY_FIELDS = ("agent", "agent_source", "protocol", "protocol_toml", "envs", "seeds",
                "seeds_requested", "overrides", "configs", "package_version", "provenance",
                "records", "entry_digest")


def load_entry(path: str) -> dict[str, Any]:
    """Read an entry and check its structure, records and digest (no re-run)."""
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EntryError(f"{path}: cannot read entry ({err})") from err
    if not isinstance(entry, dict) or entry.get("schema") != ENTRY_SCHEMA:
        found = entry.get("schema") if isinstance(entry, dict) else None
        raise EntryError(f"{path}: not a {ENTRY_SCHEMA} entry (schema {found!r}); entries of "
                         "an older schema must be submitted again")
    for field in ENTRY_FIELDS:
        if field not in entry:
            raise EntryError(f"{path}: missing field {field!r}")
    for i, rec in enumerate(entry["records"]):
        results_lib.validate(rec, f"{path}: record {i}")
    digest = entry_digest(entry)
    if digest != entry["entry_digest"]:
        raise EntryError(f"{path}: the entry does not match its digest (it was edited after "
                         f"submission): {digest[:12]} != {str(entry['entry_digest'])[:12]}")
    return entry


def check_consistency(entry: dict[str, Any], proto: Any, where: str) -> list[str]:
    """What a recomputed digest cannot hide: the label against the agent's source, the seed
    set against the protocol, and the records against the full evaluation schedule."""
    problems = []
    name, config_overrides = parse_agent_spec(entry["agent_source"])
    cls = get_agent(name)
    reading = proto.reading_for(cls.name)
    label = record_label(cls.name, reading_config(cls, entry["envs"][0], reading),
                         config_overrides)
    if entry["agent"] != label:
        problems.append(f"label {entry['agent']!r} is not the agent's: {entry['agent_source']} "
                        f"runs as {label!r}")
    if entry["protocol"] != proto.name:
        problems.append(f"protocol {entry['protocol']!r} but its TOML is {proto.name!r}")
    ov = entry["overrides"]
    expected = set()
    for env_id in entry["envs"]:
        ep = _resolve_protocol(proto.for_env(env_id, cls.name), entry["seeds_requested"],
                               ov.get("budget"), ov.get("eval_interval"),
                               ov.get("eval_episodes"))
        seeds = list(range(ep.seeds))
        if sorted(entry["seeds"]) != seeds:
            problems.append(f"{env_id}: seeds {entry['seeds']} but the protocol asks for "
                            f"{seeds}")
        expected |= {(env_id, s, p) for s in seeds for p in ep.eval_points()}
    got = {}
    for r in entry["records"]:
        key = (r["env_id"], r["seed"], r["env_steps"])
        if key in got:
            problems.append(f"duplicate record {key}")
        got[key] = r
        if (r["agent"], r["protocol"]) != (entry["agent"], entry["protocol"]):
            problems.append(f"record {key} is of {r['agent']!r} on {r['protocol']!r}")
    missing, extra = sorted(expected - set(got)), sorted(set(got) - expected)
    if missing:
        problems.append(f"{len(missing)} record(s) of the protocol's schedule missing, e.g. "
                        f"{missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} record(s) outside the protocol's schedule, e.g. "
                        f"{extra[:3]}")
    return [f"{where}: {p}" for p in problems]


@dataclasses.dataclass
class Verification:
    """Outcome of re-running an entry's seed batch."""

    entry: str
    entry_digest: str
    ok: bool
    mode: str  # "bitwise" (same device kind and count; for cpu, same CPU) | "tolerance"
    envs: list[str]
    seeds: list[int]
    compared: int
    max_rel_dev: float
    problems: list[str]
    device_kind: str
    device_count: int

    def describe(self) -> str:
        head = "VERIFIED" if self.ok else "FAILED"
        rule = ("bit for bit" if self.mode == "bitwise" else
                f"within relative tolerance {VERIFY_RTOL:g} (re-run on another device kind, "
                "count or CPU than the entry's)")
        lines = [f"{head}: {self.entry}: seeds {self.seeds} on {', '.join(self.envs)}: "
                 f"{self.compared} records compared {rule}; max relative deviation "
                 f"{self.max_rel_dev:.2e}"]
        lines += [f"  {p}" for p in self.problems[:20]]
        return "\n".join(lines)


def _same_platform(prov: dict[str, Any], device: str, count: int) -> bool:
    """Whether this host can reproduce an entry's provenance bit for bit: the device kind
    and count, and for ``cpu`` the host CPU where the entry names it."""
    cpu = prov.get("cpu")
    return (prov.get("device_kind") == device and str(prov.get("device_count", "")) == str(count)
            and (device != "cpu" or cpu is None or cpu == results_lib.cpu_description()))


def _compare(ours: dict[str, Any], ref: dict[str, Any], exact: bool) -> tuple[float, list[str]]:
    """Max relative deviation of numeric fields, and every field that differs (exactly, or
    outside the tolerance)."""
    a, b = flatten(comparable(ours)), flatten(comparable(ref))
    worst, problems = 0.0, []
    for field in sorted(set(a) | set(b)):
        x, y = a.get(field), b.get(field)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        if numeric:
            dev = abs(x - y)
            if dev > 0:
                worst = max(worst, dev / abs(y) if y else math.inf)
            if dev == 0 or (not exact and dev <= VERIFY_ATOL + VERIFY_RTOL * abs(y)):
                continue
        elif x == y:
            continue
        hint = (" (the agent's code or defaults changed since submission)"
                if field == "config_hash" else "")
        problems.append(f"env steps {ref['env_steps']} {field}: re-run {x!r}, entry {y!r}{hint}")
    return worst, problems


def _sign(verdict: dict[str, Any], key: str) -> str:
    body = {k: v for k, v in verdict.items() if k != "signature"}
    return hmac.new(key.encode(), _canonical(body), hashlib.sha256).hexdigest()


def verify(path: str, envs: Sequence[str] | None = None, work_dir: str | None = None,
           write_verdict: bool = True) -> Verification:
    """Re-run the entry's seed batch (on ``envs``, default all) and compare every record;
    writes the verdict next to the entry (signed if ``PAMDP_BENCH_VERDICT_KEY`` is set)."""
    import jax

    entry = load_entry(path)
    chosen = list(envs) if envs else list(entry["envs"])
    unknown = [e for e in chosen if e not in entry["envs"]]
    if unknown:
        raise EntryError(f"{path}: env(s) {unknown} are not in the entry ({entry['envs']})")
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        proto_path = os.path.join(tmp, "protocol.toml")
        with open(proto_path, "w", encoding="utf-8") as f:
            f.write(entry["protocol_toml"])
        try:
            proto = load_protocol(proto_path)
        except ValueError as err:
            raise EntryError(f"{path}: its protocol text does not load ({err})") from err
        problems = check_consistency(entry, proto, os.path.basename(path))
        rerun = [] if problems else train(
            entry["agent_source"], proto, os.path.join(tmp, "run"), envs=chosen,
            seeds=len(entry["seeds"]), resume=False, progress=False, **entry["overrides"])
    device = jax.devices()[0].device_kind
    prov = entry.get("provenance", {})
    exact = _same_platform(prov, device, jax.device_count())
    ref = {results_lib.record_key(r): r for r in entry["records"] if r["env_id"] in chosen}
    ours = {results_lib.record_key(r): r for r in rerun}
    worst = 0.0
    compared = 0
    if rerun:
        for key in sorted(set(ref) | set(ours), key=str):
            if key not in ours:
                problems.append(f"{key}: in the entry but not produced by the re-run")
            elif key not in ref:
                problems.append(f"{key}: produced by the re-run but missing from the entry")
            else:
                compared += 1
                dev, probs = _compare(ours[key], ref[key], exact)
                worst = max(worst, dev)
                problems += [f"seed {key[3]} {key[1]}: {p}" for p in probs]
    result = Verification(
        entry=path, entry_digest=entry["entry_digest"], ok=not problems,
        mode="bitwise" if exact else "tolerance", envs=chosen, seeds=entry["seeds"],
        compared=compared, max_rel_dev=worst, problems=problems, device_kind=device,
        device_count=jax.device_count())
    if write_verdict:
        verdict = {
            "entry": os.path.basename(path), "entry_digest": entry["entry_digest"],
            "verified": result.ok, "mode": result.mode, "envs": chosen,
            "all_envs": chosen == list(entry["envs"]), "seeds": entry["seeds"],
            "compared": compared, "max_rel_dev": worst, "problems": problems[:50],
            "device_kind": device, "device_count": jax.device_count(),
            "git_commit": results_lib.git_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        key = os.environ.get(VERDICT_KEY_ENV)
        if key:
            verdict["signature"] = _sign(verdict, key)
        with open(path[:-5] + ".verification.json", "w") as f:
            json.dump(verdict, f, indent=1, sort_keys=True)
    return result


def verification_mark(ok: bool, mode: str, device: str, all_envs: bool) -> str:
    if not ok:
        return "✗ failed"
    part = "" if all_envs else ", some envs"
    return f"✓ {mode} ({device}{part})"


def verified_mark(path: str, entry: dict[str, Any]) -> str:
    """The board's cell from the sidecar verdict: ✓ only if it is bound to this entry's digest
    and signed under the renderer's key."""
    side = path[:-5] + ".verification.json"
    if not os.path.exists(side):
        return "not verified"
    try:
        with open(side, encoding="utf-8") as f:
            v = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "unreadable verdict"
    if not isinstance(v, dict) or v.get("entry_digest") != entry["entry_digest"]:
        return "stale or foreign verdict"
    key = os.environ.get(VERDICT_KEY_ENV)
    if not key or not hmac.compare_digest(str(v.get("signature", "")), _sign(v, key)):
        return "unsigned verdict (not trusted; `leaderboard --verify`)"
    return verification_mark(bool(v.get("verified")), str(v.get("mode")),
                             str(v.get("device_kind")), bool(v.get("all_envs")))


def entry_paths(entries_dir: str) -> list[str]:
    """The entry files of ``entries_dir`` (sorted; verdict sidecars excluded; none if absent)."""
    if not os.path.isdir(entries_dir):
        return []
    return sorted(os.path.join(entries_dir, f) for f in os.listdir(entries_dir)
                  if f.endswith(".json") and not f.endswith(".verification.json"))


def entry_mark(path: str, entry: dict[str, Any], fresh: Verification | None = None) -> str:
    """The verified cell of an entry: from a verification just run (``fresh``), else from its
    sidecar verdict (``verified_mark``)."""
    if fresh is not None:
        return verification_mark(fresh.ok, fresh.mode, fresh.device_kind, True)
    return verified_mark(path, entry)


def board_path(entries_dir: str) -> str:
    """Where the board of an entries directory goes: ``<dir>/../../leaderboard.md`` for the
    suite's layout (``results/leaderboard/entries`` -> ``results/leaderboard.md``), wherever the
    command runs from."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(entries_dir))),
                        "leaderboard.md")


def render_board(entries_dir: str = ENTRIES_DIR, out_path: str | None = None,
                 reverify: bool = False) -> str:
    """``results/leaderboard.md`` from every entry: per protocol, per env final scores.

    ``reverify``: re-run every entry (``verify``) and mark it from that result instead of
    reading its verdict file."""
    from pamdp_bench.analysis import scoring
    from pamdp_bench.analysis.anchors import display_name, env_sort_key

    entries = [(p, load_entry(p)) for p in entry_paths(entries_dir)]
    fresh = {p: verify(p) for p, _ in entries} if reverify else {}
    lines = ["# pamdp_bench leaderboard", "",
             "Generated by `pamdp-bench leaderboard` from `results/leaderboard/entries/`. "
             "Each cell: final evaluation, mean ± std over seeds (n); return / success rate. "
             "Verified: `pamdp-bench verify` re-ran the entry's seed batch and reproduced every "
             "record (bitwise: on the entry's device kind; tolerance: elsewhere). Only verdicts "
             "bound to the entry and signed by the maintainers' key, or re-run by "
             "`pamdp-bench leaderboard --verify`, show ✓.", ""]
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
            mark = entry_mark(p, e, fresh.get(p))
            cells = [f"`{e['agent']}` {links}".strip(), mark]
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
    out_path = out_path or board_path(entries_dir)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        f.write(text)
    return text
