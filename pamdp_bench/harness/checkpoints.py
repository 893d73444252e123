"""Run checkpoints: an agent's train state (seed axis) plus JSON metadata, through orbax.

A checkpoint is one orbax ``CheckpointManager`` step (the step number is the env-step count)
with two items:

``state``
    The train state's leaves as numpy arrays, each named by its path in the state tree
    (``jax.tree_util.keystr``, e.g. ``.q_params['w']`` stored as ``q_params__w``), so a leaf
    is restored into the field of the same name, never by position: two leaves of the same
    shape (an online network and its target) cannot be swapped by reordering a state's fields.
    Typed PRNG keys are stored as their raw ``key_data`` and re-wrapped on restore; zero-size
    leaves are not stored (orbax refuses them) and are recreated from the template. Only real
    seed lanes are saved (no device padding), so a checkpoint can be resumed on a different
    device count.
``meta``
    JSON: ``format_version``, ``config_hash``, agent, env, protocol, seeds, ``env_steps``,
    cumulative wall time, the leaf specs (tree path, stored name, shape, dtype, key impl, and
    the SHA-256 of the leaf's bytes) and the result records written at this step (the runner
    uses them to restore records lost to a kill).

Integrity. ``restore`` recomputes every leaf's SHA-256 and compares it with the one saved, so
a flipped bit or an overwritten block is a ``CorruptCheckpointError`` naming the step and
leaf, never a silent restore; unreadable metadata or data (orbax's decompression and range
errors) are the same error. ``restore_latest`` then falls back to the previous step the
manager keeps (with a warning; the bad step is moved aside to ``<dir>.corrupt-<step>``, not
deleted), and refuses with a message listing every step and why when none is good.
Checkpoints saved before checksums existed (no ``sha256`` in their specs) restore unchecked.

Saving is asynchronous (orbax writes in a background thread after a synchronous host copy);
``wait``/``close`` block until the last save is committed, and orbax's atomic rename means a
killed save leaves no step behind (its temporary directory is removed when the run is next
opened). ``check_compatible`` refuses a checkpoint whose format
version, config hash or run identity differs from the current run, naming both values.

[workaround] Run directories whose path holds a glob metacharacter (``[``, ``]``, ``*``, ``?``:
``--out=runs/clap[constraint=false]``, named after an agent spec) are opened through a symlink
at a plain path (``_orbax_path``). orbax 0.12 finishes an OCDBT save by finding the per-process
files with ``epath.Path(dir).glob("ocdbt.process_*")``, which reads the brackets of ``dir`` as a
character class, finds nothing, logs a warning and skips the merge: every checkpoint under such a
directory was committed but could not be restored (found when C-LAP's ablation runs could not
resume).

Flattening to named leaves (rather than handing orbax the agent's pytree) keeps the format
independent of how an agent's state classes register as pytrees; the template (``eval_shape``
of the agent's ``init``) gives the structure back.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

#: Bump when the layout of ``state``/``meta`` changes; older checkpoints are then refused.
#: 1: leaves named by position (``leaf_00047``); 2: leaves named by their tree path.
FORMAT_VERSION = 2

#: Identity fields compared by ``check_compatible``, in the order they are reported.
IDENTITY_FIELDS = ("format_version", "config_hash", "agent", "env_id", "protocol", "seeds",
                   "process_count")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run (the message says why)."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint step whose metadata or data cannot be read back as saved."""


def _digest(data: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _stored_name(path: str) -> str:
    """An orbax-safe item name for a tree path (``.q_params['w'][0]`` -> ``q_params__w__0``)."""
    return re.sub(r"[^A-Za-z0-9_]+", "__", path).strip("_") or "root"


def leaf_specs(state: Any) -> list[dict[str, Any]]:
    """Tree path, stored name, shape, dtype and key flag of every leaf of ``state`` (arrays or
    ShapeDtypeStructs). Typed PRNG keys are described by their ``key_data`` and, for concrete
    arrays, their impl."""
    specs = []
    names: dict[str, str] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        tree_path = jax.tree_util.keystr(path)
        name = _stored_name(tree_path)
        if name in names:  # two paths that sanitise alike: keep names unique and stable
            name = f"{name}__{len(names)}"
        names[name] = tree_path
        if _is_key(leaf):
            data = jax.eval_shape(jax.random.key_data, leaf)
            impl = str(jax.random.key_impl(leaf)) if isinstance(leaf, jax.Array) else None
            spec = {"shape": list(data.shape), "dtype": str(data.dtype), "key": True,
                    "key_impl": impl}
        else:
            spec = {"shape": list(leaf.shape), "dtype": str(np.dtype(leaf.dtype)),
                    "key": False, "key_impl": None}
        specs.append({"path": tree_path, "name": name, **spec})
    return specs


def _spec_matches(saved: dict[str, Any], want: dict[str, Any]) -> bool:
    return (saved.get("shape") == want["shape"] and saved.get("dtype") == want["dtype"]
            and saved.get("key") == want["key"])


_RESUME_HINT = ("Resume with the original configuration and code, or start a new run in "
                "another --out directory.")


def check_compatible(meta: Mapping[str, Any], expected: Mapping[str, Any], where: str, *,
                     fields: Sequence[str] = IDENTITY_FIELDS, hint: str = _RESUME_HINT
                     ) -> None:
    """Raise ``CheckpointError`` (ending with ``hint``: what to do) unless ``meta`` matches
    ``expected`` on every field of ``fields`` that ``expected`` has."""
    for name in fields:
        if name not in expected:
            continue
        saved = meta.get(name, "<missing>")
        if saved != expected[name]:
            what = {"format_version": "checkpoint format version",
                    "config_hash": "config hash"}.get(name, name)
            raise CheckpointError(
                f"{where}: the checkpoint at {meta.get('env_steps', '?')} env steps has {what} "
                f"{saved!r}, but this run has {what} {expected[name]!r}; refusing to load it. "
                + hint)


_GLOB_CHARS = re.compile(r"[\[\]*?]")


def _orbax_path(directory: str) -> str:
    """``directory``, or a symlink to it at a path without glob metacharacters (module
    docstring); the link is made atomically, so concurrent openers agree."""
    if not _GLOB_CHARS.search(directory):
        return directory
    user = getattr(os, "getuid", lambda: 0)()
    links = os.path.join(tempfile.gettempdir(), f"pamdp_bench-{user}-checkpoint-paths")
    os.makedirs(links, exist_ok=True)
    link = os.path.join(links, hashlib.sha256(directory.encode()).hexdigest()[:24])
    if os.path.realpath(link) != os.path.realpath(directory):
        tmp = f"{link}.{os.getpid()}.tmp"
        if os.path.lexists(tmp):
            os.remove(tmp)
        os.symlink(directory, tmp)
        os.replace(tmp, link)
    return link


class RunCheckpointer:
    """Keeps the last ``max_to_keep`` checkpoints of one (env, agent, protocol) run (every
    checkpoint with ``max_to_keep=None``; ``delete`` then removes the ones not wanted).

    ``process_local``: under ``jax.distributed`` every process owns its seeds and writes its own
    checkpoint directory, so orbax must not synchronise across processes.
    """

    def __init__(self, directory: str, *, max_to_keep: int | None = 2,
                 process_local: bool = False):
        self.directory = os.path.abspath(directory)
        extra: dict[str, Any] = {}
        handlers: dict[str, Any] | None = None
        if process_local:
            index = jax.process_index()
            mp = ocp.options.MultiprocessingOptions(
                primary_host=None, active_processes={index},
                barrier_sync_key_prefix=f"pamdp_bench_p{index}",
            )
            extra["multiprocessing_options"] = mp
            # orbax wants handlers that agree with "every process is primary".
            handlers = {"state": ocp.StandardCheckpointHandler(multiprocessing_options=mp),
                        "meta": ocp.JsonCheckpointHandler(multiprocessing_options=mp)}
        os.makedirs(self.directory, exist_ok=True)
        self._remove_killed_saves()
        path = _orbax_path(self.directory)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=False, cleanup_tmp_directories=True,
            enable_async_checkpointing=True, **extra,
        )
        if handlers is None:
            self._manager = ocp.CheckpointManager(
                path, options=options, item_names=("state", "meta")
            )
        else:
            self._manager = ocp.CheckpointManager(path, options=options, item_handlers=handlers)

    def _remove_killed_saves(self) -> None:
        """Delete the temporary directories of saves a kill interrupted
        (``<step>.orbax-checkpoint-tmp*``: never committed, so never a checkpoint), with one
        warning line. orbax's own cleanup of them printed a ~40-line traceback after one
        ``kill -9`` resume in three (issue 13)."""
        for name in sorted(os.listdir(self.directory)):
            if ".orbax-checkpoint-tmp" in name:
                logging.warning("%s: removing %s, a save interrupted before it was committed",
                                self.directory, name)
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    # ----------------------------------------------------------------- reading
    def latest_step(self) -> int | None:
        """Env steps of the newest committed checkpoint, or None."""
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self._manager.all_steps())

    def read_meta(self, step: int) -> dict[str, Any]:
        """The JSON metadata of checkpoint ``step``."""
        try:
            out = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
            meta = dict(out.meta)
        except Exception as err:  # orbax raises several types for unreadable steps
            raise CorruptCheckpointError(
                f"{self.directory}: cannot read the metadata of the checkpoint at {step} env "
                f"steps ({type(err).__name__}: {str(err)[:200]})") from err
        return meta

    def restore(self, step: int, template: Any) -> tuple[Any, dict[str, Any]]:
        """Restore ``(state, meta)``; ``template`` is the state's abstract structure.

        Leaves come back as numpy arrays (typed keys as jax key arrays); a leaf whose shape or
        dtype differs from the template raises ``CheckpointError``.
        """
        meta = self.read_meta(step)
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise CheckpointError(
                f"{self.directory}: the checkpoint at {step} env steps has checkpoint format "
                f"version {version!r}, this code reads version {FORMAT_VERSION} (version 1 "
                "named state leaves by position, which could restore two same-shaped fields "
                "swapped); it is not restored. Start a new run in another --out directory.")
        leaves, treedef = jax.tree.flatten(template)
        want = leaf_specs(template)
        saved = {s["path"]: s for s in meta.get("leaves", [])}
        missing = [w["path"] for w in want if w["path"] not in saved]
        extra = sorted(set(saved) - {w["path"] for w in want})
        if missing or extra:
            raise CheckpointError(
                f"{self.directory}: the checkpoint at {step} env steps does not hold the "
                f"agent's state: missing leaves {missing[:5]}, unexpected leaves {extra[:5]}; "
                "was it written by other code?")
        for w in want:
            s = saved[w["path"]]
            if not _spec_matches(s, w):
                raise CheckpointError(
                    f"{self.directory}: state leaf {w['path']} of the checkpoint at {step} env "
                    f"steps is {s['dtype']}{s['shape']}, the agent's is "
                    f"{w['dtype']}{w['shape']}")
        target = {
            saved[w["path"]]["name"]: np.zeros(w["shape"], np.dtype(w["dtype"]))
            for w in want if int(np.prod(w["shape"])) > 0
        }
        if target:
            try:
                out = self._manager.restore(step, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(target)))
                arrays = dict(out.state)
            except Exception as err:  # orbax: decompression, range, missing-item errors
                raise CorruptCheckpointError(
                    f"{self.directory}: cannot read the state of the checkpoint at {step} env "
                    f"steps ({type(err).__name__}: {str(err)[:200]})") from err
        else:
            arrays = {}
        restored = []
        for leaf, w in zip(leaves, want, strict=True):
            s = saved[w["path"]]
            arr = np.asarray(arrays.get(s["name"], np.zeros(s["shape"], np.dtype(s["dtype"]))))
            if s.get("sha256") and _digest(arr) != s["sha256"]:
                raise CorruptCheckpointError(
                    f"{self.directory}: state leaf {w['path']} of the checkpoint at {step} env "
                    "steps does not match its saved checksum (the file was damaged after it "
                    "was written)")
            if _is_key(leaf):
                restored.append(jax.random.wrap_key_data(arr, impl=s["key_impl"]))
            else:
                restored.append(arr)
        return jax.tree.unflatten(treedef, restored), meta

    def restore_latest(self, template: Any, check: Callable[[dict[str, Any]], None]
                       ) -> tuple[int, Any, dict[str, Any]] | None:
        """The newest step that restores intact: ``(step, state, meta)``, or None if there
        are no steps. ``check(meta)`` vets each step's identity first (its errors propagate:
        a foreign checkpoint is refused, not skipped). Corrupt steps are skipped with a
        warning and moved aside to ``<dir>.corrupt-<step>``; if every step is corrupt, a
        ``CorruptCheckpointError`` lists them."""
        problems = []
        for step in sorted(self.all_steps(), reverse=True):
            try:
                meta = self.read_meta(step)
                check(meta)
                state, meta = self.restore(step, template)
            except CorruptCheckpointError as err:
                problems.append(str(err))
                logging.warning("%s; falling back to the previous checkpoint", err)
                self._set_aside(step)
                continue
            return step, state, meta
        if problems:
            raise CorruptCheckpointError(
                "no intact checkpoint is left to resume from (the damaged steps were moved "
                "aside to " + f"{self.directory}.corrupt-*): " + " | ".join(problems)
                + ". `--resume` again starts the run over from 0 env steps (the records already "
                "written are re-derived and must match), or start it in a new --out directory.")
        return None

    def _set_aside(self, step: int) -> None:
        src = os.path.join(self.directory, str(step))
        if os.path.isdir(src):
            dst = f"{self.directory}.corrupt-{step}"
            if os.path.exists(dst):
                shutil.rmtree(dst)
            shutil.move(src, dst)
        self._manager.reload()

    # ----------------------------------------------------------------- writing
    def save(self, step: int, state: Any, meta: Mapping[str, Any]) -> None:
        """Start saving ``state`` (a pytree of arrays) and ``meta`` as checkpoint ``step``.

        The device-to-host copy happens here; the write continues in the background (a
        previous unfinished save is waited for first). A step below the newest stored one is
        saved too (a source store re-training a lost state): orbax skips those silently
        unless forced; an existing step is refused (``CheckpointError``).
        """
        if int(step) in self.all_steps():
            raise CheckpointError(f"{self.directory}: a checkpoint at step {step} exists")
        specs = leaf_specs(state)
        arrays = {}
        for spec, leaf in zip(specs, jax.tree.leaves(state), strict=True):
            data = jax.random.key_data(leaf) if _is_key(leaf) else leaf
            # A private host copy: the runner donates the device buffers to the next chunk.
            data = np.array(jax.device_get(data), copy=True)
            spec["sha256"] = _digest(data)
            if data.size > 0:
                arrays[spec["name"]] = data
        full_meta = {**meta, "format_version": FORMAT_VERSION, "env_steps": int(step),
                     "leaves": specs}
        items: dict[str, Any] = {"meta": ocp.args.JsonSave(full_meta)}
        if arrays:
            items["state"] = ocp.args.StandardSave(arrays)
        if not self._manager.save(int(step), args=ocp.args.Composite(**items), force=True):
            raise CheckpointError(f"{self.directory}: orbax did not save step {step}")

    def wait(self) -> None:
        """Block until every started save is committed to disk."""
        self._manager.wait_until_finished()

    def delete(self, step: int) -> None:
        """Remove checkpoint ``step`` (after the pending saves are committed)."""
        self._manager.wait_until_finished()
        self._manager.delete(int(step))

    def close(self) -> None:
        """Wait for pending saves and release orbax's resources."""
        self._manager.wait_until_finished()
        self._manager.close()

    def __enter__(self) -> RunCheckpointer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
