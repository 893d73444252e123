"""Build, list and verify the offline datasets against the committed manifest.

``build(refs, root)`` generates the datasets (``collect`` for the episodes, ``sources`` for the
trained policies), writes each as a Minari dataset under ``root`` and records in the manifest
its files' sizes and sha256, its episode statistics, the generating policy and the recipe.
A dataset is written to ``<root>/.pamdp_bench-tmp-<pid>`` first and moved into place whole, so a
failed or interrupted build leaves no half dataset and never touches existing ones (an
existing dataset is refused unless ``overwrite``); the next builder deletes what a killed one
left there. The files are a function of the code, the platform, the recipe and the Minari /
h5py versions only (no times, no commit ids in them; Minari is pinned, as its version is in the
metadata, and both are in the manifest), so a rebuild on the same platform gives identical
sha256; ``verify`` re-hashes a local copy against the manifest.

Normalisation anchors (per env, in the manifest and every dataset's ``ref_min_score`` /
``ref_max_score``): envs §8.1's random return, and the mean episode return of the env's
full-size ``expert`` dataset. So an env's expert dataset is built before its others, and a
build that needs an anchor the manifest does not have says what to build first. A rebuilt
expert that moves the anchors re-anchors the env's local random datasets in place (their
episodes do not depend on the expert; the anchors are in ``metadata.json`` only) and names the
other datasets still carrying the old anchors, which ``verify`` fails until they are rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np

from pamdp_bench import __version__
from pamdp_bench.agents import get_agent
from pamdp_bench.analysis.anchors import RANDOM, SRC_RANDOM
from pamdp_bench.datasets import collect, minari_io, sources
from pamdp_bench.datasets.catalog import (
    KINDS,
    SOURCES,
    DatasetRef,
    parse_id,
)
from pamdp_bench.harness.records import cpu_description
from pamdp_bench.registry import make

SCHEMA = "pamdp_bench.datasets/1"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MANIFEST = os.path.join(REPO, "results", "datasets", "manifest.json")
DEFAULT_SOURCES_DIR = os.path.join(REPO, "results", "datasets", "sources")
_TMP = ".pamdp_bench-tmp"
#: Key of every dataset's action stream (independent of the env seeds).
_POLICY_SEED = 20261202


class DatasetError(ValueError):
    """A dataset that cannot be built or verified (the message says why)."""


# ----------------------------------------------------------------------------- manifest
def empty_manifest() -> dict[str, Any]:
    return {"schema": SCHEMA, "anchors": {}, "datasets": {}}


def load_manifest(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        return empty_manifest()
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: not a readable manifest ({err})") from err
    if data.get("schema") != SCHEMA:
        raise DatasetError(f"{path}: schema {data.get('schema')!r}, expected {SCHEMA!r}")
    return data


def save_manifest(path: str, manifest: dict[str, Any]) -> None:
    """Write atomically (a crash leaves the old manifest)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def update_manifest(path: str, dataset_id: str, entry: dict[str, Any], env_id: str,
                    anchor: dict[str, Any], replace_anchor: bool = False) -> dict[str, Any]:
    """Add one dataset (and its env's anchors, replacing older ones with ``replace_anchor``:
    a full-size expert) to the manifest on disk under a file lock: read, update, write
    atomically. Two builds of different envs into one manifest keep each other's entries.
    Returns the manifest as written."""
    import fcntl

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = load_manifest(path)
        if replace_anchor or env_id not in manifest["anchors"]:
            manifest["anchors"][env_id] = anchor
        manifest["datasets"][dataset_id] = entry
        save_manifest(path, manifest)
    return manifest


def file_digests(directory: str) -> dict[str, dict[str, Any]]:
    """``{relative path: {sha256, bytes}}`` of every file under a dataset directory."""
    out = {}
    for base, _, names in sorted(os.walk(directory)):
        for name in sorted(names):
            path = os.path.join(base, name)
            out[os.path.relpath(path, directory)] = minari_io.file_digest(path)
    return out


# ----------------------------------------------------------------------------- building
def episode_stats(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Episode count, mean / std return and success rate of collected data (float64)."""
    ep = data["episode"]
    n = int(ep[-1]) + 1
    returns = np.bincount(ep, weights=data["reward"].astype(np.float64), minlength=n)
    success = np.bincount(ep, weights=data["success"].astype(np.float64), minlength=n) > 0
    return {"transitions": int(len(ep)), "episodes": n, "return_mean": float(returns.mean()),
            "return_std": float(returns.std(ddof=1)) if n > 1 else 0.0,
            "success_rate": float(success.mean()),
            "length_mean": float(len(ep) / n)}


def _stream_episodes(stream: dict[str, np.ndarray], upto: int) -> dict[str, np.ndarray]:
    """The first ``upto`` transitions of a training stream as episodes; the last one, cut by
    the end of the stream, is marked truncated."""
    out = {k: v[:upto].copy() for k, v in stream.items()}
    ends = out["terminated"] | out["truncated"]
    out["truncated"][-1] |= ~ends[-1]
    ends[-1] = True
    starts = np.concatenate([[True], ends[:-1]])
    out["episode"] = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    out["step"] = np.arange(upto) - np.repeat(first, np.diff(np.append(first, upto)))
    out["seed"] = np.full(upto, -1, np.int64)
    return out


def _replay_policy(agent: str, warmup: int, counted: int, medium_step: int) -> str:
    """medium-replay's policy text: which of the run's transitions it holds."""
    if counted <= 0:
        return (f"the first {warmup + counted} of the {agent} run's {warmup} uncounted warm-up "
                f"transitions (random actions; the medium checkpoint is at env step "
                f"{medium_step})")
    head = f": {warmup} uncounted warm-up transitions (random actions), then" if warmup else ","
    return (f"the {agent} run's own transitions{head} env steps 1..{counted} of "
            f"{medium_step} (the medium checkpoint)")


class Builder:
    """Builds datasets into ``root``, updating the manifest at ``manifest_path``."""

    def __init__(self, root: str, manifest_path: str = DEFAULT_MANIFEST,
                 sources_dir: str = DEFAULT_SOURCES_DIR, *, overwrite: bool = False,
                 log: Callable[[str], None] = print, progress: bool = True,
                 source_store: str | None = None, rewrite_sources: bool = False) -> None:
        """``source_store``: where generating runs checkpoint every evaluation point (None:
        not at all); ``rewrite_sources``: record this platform's source runs in
        ``sources_dir`` instead of checking them against the committed records."""
        self.root, self.manifest_path = os.path.abspath(root), manifest_path
        self.sources_dir, self.overwrite, self.log, self.progress = (
            sources_dir, overwrite, log, progress)
        self.source_store, self.rewrite_sources = source_store, rewrite_sources
        _remove_killed_builds(self.root, log)
        self.manifest = load_manifest(manifest_path)
        self._runs: dict[str, tuple[sources.SourceRun, dict[str, Any]]] = {}
        #: ids this ``build`` call has still to write (not named as stale: they are rebuilt)
        self._pending: set[str] = set()

    # ------------------------------------------------------------------ policies
    def _source(self, env_id: str) -> tuple[sources.SourceRun, dict[str, Any]]:
        """The env's generating run and its expert / medium picks, each computed once per
        builder (``picks["medium"]`` is None when the run has no medium state)."""
        if env_id not in self._runs:
            self.log(f"{env_id}: training the generating run ({SOURCES[env_id]})")
            expected = (None if self.rewrite_sources
                        else sources.committed_records(self.sources_dir, env_id))
            run = sources.generate_source(env_id, log=self.log, store_root=self.source_store,
                                          expected=expected)
            what = sources.check_or_write_records(run, self.sources_dir, self.rewrite_sources)
            self.log(f"{env_id}: source records {what}")
            self._runs[env_id] = (run, sources.pick_policies(run))
        return self._runs[env_id]

    def _policy(self, ref: DatasetRef) -> tuple[Any, dict[str, Any]]:
        """(``policy(obs, key)``, its provenance) for a random / expert / medium dataset."""
        env, params = make(ref.env_id)
        if ref.kind == "random":
            space = env.pamdp_space
            return (collect.random_policy(space),
                    {"policy": "uniform random hybrid policy (DLPA rand_action)"})
        src = SOURCES[ref.env_id]
        info = {"source_agent": src.agent, "source_reading": src.reading,
                "source_config_hash": sources.source_agent(ref.env_id, src)[2],
                "source_seed": src.seed, "source_budget": src.budget,
                "source_eval_interval": src.eval_interval,
                "source_eval_episodes": src.eval_episodes, "source_why": src.why}
        if ref.kind == "expert" and src.expert_from == "scripted":  # no training run needed
            agent = get_agent("scripted")(env, params, None)
            state = agent.init(jax.random.key(0))
            pick = sources.scripted_expert_record(ref.env_id, src)
            info.update(policy="scripted reference (envs §8.2)")
        else:
            run, picks = self._source(ref.env_id)
            if ref.kind == "medium" and picks["medium"] is None:
                raise DatasetError(picks["medium_error"])
            pick = picks["expert" if ref.kind == "expert" else "medium"]
            agent, state = run.agent, run.states[pick["env_steps"]]
            info.update(policy=f"{src.agent} checkpoint at {pick['env_steps']} env steps, "
                               "act(deterministic=False)", checkpoint_step=pick["env_steps"])
            if ref.kind == "medium":
                info["medium_normalized_score"] = picks["medium_score"]
        info.update(policy_eval_return=pick["return_mean"],
                    policy_eval_success=pick["success_rate"],
                    policy_eval_episodes=pick["eval_episodes"])
        return sources.agent_policy(agent, state), info

    # ------------------------------------------------------------------ data
    def _data(self, ref: DatasetRef
              ) -> tuple[dict[str, np.ndarray], dict[str, Any], float | None]:
        """The dataset's transitions, their provenance, and the collection's wall time (None
        for medium-replay, which is cut from the recorded stream)."""
        if ref.kind == "medium-replay":
            run, picks = self._source(ref.env_id)
            if picks["medium"] is None:
                raise DatasetError(picks["medium_error"])
            if run.stream is None:
                raise DatasetError(f"{ref.env_id}: the {run.source.agent} run's transitions "
                                   f"are not recorded ({run.unrecorded}), so there is no "
                                   "medium-replay data")
            step, warm = picks["medium"]["env_steps"], run.warmup_transitions
            upto = min(warm + step, ref.transitions)
            data = _stream_episodes(run.stream, upto)
            info = {"policy": _replay_policy(run.source.agent, warm, upto - warm, step),
                    "medium_checkpoint_step": step, "source_agent": run.source.agent,
                    "source_config_hash": run.config_hash}
            if warm:
                info["warmup_transitions"] = warm
            return data, info, None
        policy, info = self._policy(ref)
        env, params = make(ref.env_id)
        bar = _Bar(ref.id, ref.transitions, self.progress)
        t0 = time.perf_counter()
        data = collect.collect_episodes(
            env, params, policy, num_transitions=ref.transitions, salt=ref.salt,
            policy_key=jax.random.fold_in(jax.random.key(_POLICY_SEED), ref.salt),
            progress=bar.update_to)
        bar.close()
        wall = time.perf_counter() - t0
        info.update(lanes=int(data.pop("lanes")), salt=ref.salt, policy_seed=_POLICY_SEED,
                    block_steps=collect.BLOCK_STEPS)
        self.log(f"{ref.id}: {len(data['episode'])} transitions in {wall:.1f} s "
                 f"({len(data['episode']) / wall:,.0f} transitions/s incl. compilation)")
        return data, info, wall

    def _anchor(self, env_id: str) -> dict[str, Any] | None:
        return self.manifest["anchors"].get(env_id)

    def build(self, refs: Iterable[DatasetRef]) -> list[str]:
        """Build ``refs`` (an env's full-size expert first); returns the ids built. A dataset
        that cannot be built (no anchor yet, no medium state in the run) does not stop the
        others: the failures are raised together at the end (``DatasetError``)."""
        refs = sorted(set(refs), key=lambda r: (r.env_id, r.small,
                                                r.kind != "expert", KINDS.index(r.kind)))
        built, failed = [], []
        self._pending = {r.id for r in refs}
        for ref in refs:
            self._pending.discard(ref.id)
            try:
                self._build_one(ref)
                built.append(ref.id)
            except (DatasetError, ValueError) as err:
                self.log(f"{ref.id}: FAILED: {err}")
                failed.append(f"{ref.id}: {err}")
        if failed:
            raise DatasetError(f"built {len(built)} of {len(refs)} dataset(s); failed:\n  "
                               + "\n  ".join(failed))
        return built

    def _build_one(self, ref: DatasetRef) -> None:
        final = minari_io.dataset_dir(self.root, ref.id)
        if os.path.exists(final) and not self.overwrite:
            raise DatasetError(f"{final} exists; verify it with `pamdp-bench datasets "
                               "verify`, or pass --overwrite to rebuild it")
        anchor = self._anchor(ref.env_id)
        sets_anchor = ref.kind == "expert" and not ref.small
        if anchor is None and not sets_anchor:
            raise DatasetError(
                f"its ref_max_score is the mean return of pamdp/{ref.env_id}/expert-v0, "
                f"which the manifest ({self.manifest_path}) does not have yet: build that "
                "first")
        t0 = time.perf_counter()
        data, info, gen = self._data(ref)
        stats = episode_stats(data)
        if sets_anchor:  # the full-size expert sets the env's anchors (again, if rebuilt)
            old, anchor = anchor, {
                "ref_min_score": RANDOM[ref.env_id].return_mean, "ref_min_from": SRC_RANDOM,
                "ref_max_score": stats["return_mean"],
                "ref_max_from": f"mean episode return of pamdp/{ref.env_id}/expert-v0"}
            self.manifest["anchors"][ref.env_id] = anchor
            if old is not None and old != anchor:
                self.log(f"{ref.env_id}: the anchors change (ref_max_score "
                         f"{old['ref_max_score']:.3f} -> {anchor['ref_max_score']:.3f})")
        extra = {"env_id": ref.env_id, "kind": ref.kind, "small": ref.small,
                 "requested_transitions": ref.transitions, "suite_version": __version__,
                 **info, **stats}
        t_write = time.perf_counter()
        self._write(ref, data, anchor, extra)
        files = file_digests(final)
        minari_io.seed_cache(files[minari_io.DATA_FILE]["sha256"], data)
        entry = {**extra, "files": files, "anchors": anchor,
                 "build": {"seconds": round(time.perf_counter() - t0, 1),
                           "write_seconds": round(time.perf_counter() - t_write, 1),
                           "generate_seconds": None if gen is None else round(gen, 2),
                           "transitions_per_s": None if gen is None else round(
                               stats["transitions"] / gen),
                           **_library_versions(),
                           "device_kind": jax.devices()[0].device_kind,
                           "cpu": cpu_description()}}
        self.manifest["datasets"][ref.id] = entry
        self.manifest = update_manifest(self.manifest_path, ref.id, entry, ref.env_id,
                                        self.manifest["anchors"][ref.env_id], sets_anchor)
        self.log(f"{ref.id}: {stats['episodes']} episodes, return "
                 f"{stats['return_mean']:.3f}, success {stats['success_rate']:.3f}")
        if sets_anchor:
            self._reanchor_random(ref.env_id)

    def _reanchor_random(self, env_id: str) -> None:
        """After the env's anchors changed: give its local random datasets the new anchors
        (their episodes never depend on the expert, and the anchors live in ``metadata.json``
        alone: seconds, where a rebuild rewrites up to a million episode groups, an hour
        here), and name the datasets that still carry the old ones (rebuild those), except
        the ones this ``build`` call is about to write."""
        anchor = self.manifest["anchors"][env_id]
        for dataset_id in stale_anchor_ids(self.manifest, env_id):
            entry = self.manifest["datasets"][dataset_id]
            directory = minari_io.dataset_dir(self.root, dataset_id)
            if entry["kind"] != "random" or not os.path.isdir(directory):
                continue
            if file_digests(directory) != entry["files"]:
                self.log(f"{dataset_id}: not re-anchored: the local copy differs from the "
                         "manifest (`pamdp-bench datasets verify`)")
                continue
            minari_io.set_anchors(directory, anchor["ref_min_score"], anchor["ref_max_score"])
            meta = os.path.join("data", "metadata.json")
            files = {**entry["files"], meta: minari_io.file_digest(os.path.join(directory, meta))}
            entry = {**entry, "anchors": anchor, "files": files}
            self.manifest = update_manifest(self.manifest_path, dataset_id, entry, env_id,
                                            anchor)
            self.log(f"{dataset_id}: re-anchored (metadata.json rewritten, episodes kept)")
        stale = [i for i in stale_anchor_ids(self.manifest, env_id) if i not in self._pending]
        if stale:
            self.log(f"{env_id}: still built with the old anchors; rebuild with --overwrite: "
                     + ", ".join(stale))

    def _write(self, ref: DatasetRef, data: dict[str, np.ndarray], anchor: dict[str, Any],
               extra: dict[str, Any]) -> None:
        tmp_root = os.path.join(self.root, f"{_TMP}-{os.getpid()}")  # per builder process
        shutil.rmtree(tmp_root, ignore_errors=True)
        description = (f"pamdp_bench offline dataset, {ref.kind} policy on {ref.env_id} "
                       f"(env defaults); algorithms.md §6.3. Metadata key "
                       f"'{minari_io.METADATA_KEY}' holds the generating policy and recipe.")
        minari_io.write_dataset(tmp_root, ref.id, ref.env_id, data,
                                algorithm=extra.get("policy", ref.kind),
                                description=description,
                                ref_min_score=anchor["ref_min_score"],
                                ref_max_score=anchor["ref_max_score"], extra=extra)
        final = minari_io.dataset_dir(self.root, ref.id)
        if os.path.exists(final):
            shutil.rmtree(final)  # only reached with overwrite
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(minari_io.dataset_dir(tmp_root, ref.id), final)
        _ensure_namespaces(self.root, ref.id)
        shutil.rmtree(tmp_root, ignore_errors=True)


def _remove_killed_builds(root: str, log: Callable[[str], None]) -> None:
    """Delete the temporary directories of builds that were killed (``<root>/.pamdp_bench-tmp-
    <pid>`` whose process is gone): each held a dataset half written, up to a few GB. A
    directory whose pid is alive (on this host) is left alone."""
    if not os.path.isdir(root):
        return
    for name in sorted(os.listdir(root)):
        pid = name[len(_TMP) + 1:] if name.startswith(_TMP + "-") else ""
        if not pid.isdigit() or _alive(int(pid)):
            continue
        log(f"{root}: removing {name}, left by a build that was killed")
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _library_versions() -> dict[str, str]:
    """What the files' bytes depend on besides the code (the manifest records them)."""
    import h5py
    import minari

    return {"jax_version": jax.__version__, "minari_version": minari.__version__,
            "h5py_version": h5py.version.version, "hdf5_version": h5py.version.hdf5_version}


def _ensure_namespaces(root: str, dataset_id: str) -> None:
    """Minari's (empty) namespace metadata files along the id, as it would have made them."""
    parts = dataset_id.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        path = os.path.join(root, *parts[:i], "namespace_metadata.json")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("{}")


class _Bar:
    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit="tr", unit_scale=True, leave=False)

    def update_to(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ----------------------------------------------------------------------------- reports
def table_markdown(manifest: dict[str, Any], refs: Iterable[DatasetRef],
                   root: str | None = None) -> str:
    """The datasets of ``refs`` as a markdown table from the manifest (with a ``local``
    column when ``root`` is given: is a copy under it)."""
    head = ("| id | transitions | episodes | return mean ± std | success | policy "
            "(eval return / success) | MB |")
    lines = [head + (" local |" if root else ""), "|---" * (7 + bool(root)) + "|"]
    for ref in refs:
        e = manifest["datasets"].get(ref.id)
        local = ""
        if root:
            local = " yes |" if os.path.isdir(minari_io.dataset_dir(root, ref.id)) else " no |"
        if e is None:
            lines.append(f"| {ref.id} | not built | | | | | |{local}")
            continue
        pol = e.get("policy", "")
        if "policy_eval_return" in e:
            pol += f" ({e['policy_eval_return']:.3f} / {e['policy_eval_success']:.2f})"
        mb = sum(f["bytes"] for f in e["files"].values()) / 1e6
        lines.append(f"| {ref.id} | {e['transitions']:,} | {e['episodes']:,} | "
                     f"{e['return_mean']:.3f} ± {e['return_std']:.3f} | "
                     f"{e['success_rate']:.3f} | {pol} | {mb:.1f} |{local}")
    return "\n".join(lines)


def anchors_markdown(manifest: dict[str, Any]) -> str:
    """The per-env normalisation anchors of the manifest."""
    lines = ["| env | ref_min_score (random) | ref_max_score (expert) |", "|---|---|---|"]
    for env_id, a in sorted(manifest["anchors"].items()):
        lines.append(f"| {env_id} | {a['ref_min_score']:.3f} | {a['ref_max_score']:.3f} |")
    return "\n".join(lines)


#: An expert dataset whose episodes succeed less often than this is flagged in the README.
WEAK_EXPERT_SUCCESS = 0.05


def weak_experts_markdown(manifest: dict[str, Any]) -> str:
    """A caveat per full-size ``expert`` dataset whose episodes rarely succeed: its policy is
    the best the generating run produced (§6.3), not a solution of the env, so a normalised
    score of 100 there means "as good as that policy", nothing more. Empty if none."""
    lines = []
    for dataset_id, e in sorted(manifest["datasets"].items()):
        if e["kind"] != "expert" or e["small"] or e["success_rate"] >= WEAK_EXPERT_SUCCESS:
            continue
        length = e["transitions"] / max(e["episodes"], 1)
        lines.append(f"- `{dataset_id}`: success {e['success_rate']:.3f}, mean episode length "
                     f"{length:.2f} steps, return {e['return_mean']:.3f} (policy: "
                     f"{e.get('policy', '?')}). Scores normalised with this anchor measure "
                     "closeness to this policy, not to solving the env.")
    return "\n".join(lines)


def readme_markdown(manifest: dict[str, Any]) -> str:
    """``results/datasets/README.md``: every dataset of the manifest and the anchors (a test
    regenerates it from the committed manifest)."""
    from pamdp_bench.datasets.catalog import all_refs

    refs = [r for r in all_refs() if r.id in manifest["datasets"]]
    missing = [r.id for r in all_refs(small=False) if r.id not in manifest["datasets"]]
    built = manifest["datasets"].values()
    rates = [e["build"]["transitions_per_s"] for e in built
             if not e["small"] and e["build"].get("transitions_per_s")]
    parts = [
        "# Offline PAMDP datasets",
        "",
        "Generated by `pamdp-bench datasets list --size=both --out=results/datasets/README.md` "
        "from `manifest.json` (algorithms.md §6.3; `pamdp_bench/datasets/`). The datasets "
        "themselves are not committed: `pamdp-bench datasets build` regenerates them bit for "
        "bit on the same platform (the manifest's sha256), `pamdp-bench datasets verify` checks "
        "a local copy. Load one with `minari.load_dataset(ID)` or, as JAX arrays, "
        "`pamdp_bench.datasets.load_arrays(ID)`.",
        "",
        "Policy column: the generating policy and its deterministic evaluation (mean return / "
        "success over the source run's evaluation episodes); the episode columns are the "
        "dataset's own episodes (acting with `deterministic=False`). Generating runs' records: "
        "`sources/<env>.jsonl`.",
        "",
    ]
    if rates:
        parts += [f"Generation speed (full-size datasets, incl. compilation, one CPU core): "
                  f"{min(rates):,} to {max(rates):,} transitions/s.", ""]
    parts += ["## Normalisation anchors", "", anchors_markdown(manifest), ""]
    weak = weak_experts_markdown(manifest)
    if weak:
        parts += [f"Expert datasets whose episodes succeed less than {WEAK_EXPERT_SUCCESS:.0%} "
                  "of the time (the generating run found no better policy in its budget):", "",
                  weak, ""]
    parts += ["## Datasets", "", table_markdown(manifest, refs), ""]
    if missing:
        parts += ["Not built yet (full size): " + ", ".join(f"`{m}`" for m in missing), ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- verify
def stale_anchor_ids(manifest: dict[str, Any], env_id: str, exclude: str = "") -> list[str]:
    """Datasets of ``env_id`` in ``manifest`` whose stored anchors are not the env's (built
    before its full-size expert was rebuilt): their normalised scores would use old anchors."""
    want = manifest["anchors"].get(env_id)
    return sorted(i for i, e in manifest["datasets"].items()
                  if i != exclude and e.get("env_id") == env_id and e.get("anchors") != want)


def verify(root: str, ids: Iterable[str], manifest: dict[str, Any]) -> list[str]:
    """Problems of the local copies of ``ids`` against ``manifest`` (empty: all match), and
    datasets whose anchors are not their env's (``stale_anchor_ids``)."""
    problems = []
    for dataset_id in ids:
        entry = manifest["datasets"].get(dataset_id)
        if entry is None:
            problems.append(f"{dataset_id}: not in the manifest")
            continue
        if dataset_id in stale_anchor_ids(manifest, entry.get("env_id", "")):
            problems.append(f"{dataset_id}: built with anchors other than its env's (its "
                            "expert-v0 was rebuilt since); rebuild it with --overwrite")
        directory = minari_io.dataset_dir(root, dataset_id)
        if not os.path.isdir(directory):
            problems.append(f"{dataset_id}: missing ({directory})")
            continue
        local = file_digests(directory)
        for rel, want in entry["files"].items():
            got = local.get(rel)
            if got is None:
                problems.append(f"{dataset_id}: {rel} is missing")
            elif got != want:
                problems.append(f"{dataset_id}: {rel} differs from the manifest (sha256 "
                                f"{got['sha256'][:12]}.. vs {want['sha256'][:12]}.., "
                                f"{got['bytes']} vs {want['bytes']} bytes){_host_hint(entry)}")
        for rel in sorted(set(local) - set(entry["files"])):
            problems.append(f"{dataset_id}: {rel} is not in the manifest")
    return problems


def _host_hint(entry: dict[str, Any]) -> str:
    """Why a dataset's bytes can differ here: it was built on another CPU kind. XLA compiles
    CPU code for the host's instruction set, so float rounding can differ: in training (every
    learned dataset's source run) and in the env itself (Goal's and Hard Goal's random data,
    built on another CPU, differ here too; Platform's and Catch Point's match)."""
    built, here = entry.get("build", {}).get("cpu"), cpu_description()
    if built == here:
        return ""
    return (f"; it was built on {built or 'an unrecorded CPU'}, this host is {here}: a "
            "dataset is bit for bit only on the CPU kind that built it")


def resolve_ids(envs: list[str] | None, kinds: list[str] | None, small: bool | None,
                ids: list[str] | None = None) -> list[DatasetRef]:
    """The datasets a command names: explicit ids, or the env x kind x size selection."""
    from pamdp_bench.datasets.catalog import all_refs

    if ids:
        return [parse_id(i) for i in ids]
    return all_refs(envs, kinds, small)

