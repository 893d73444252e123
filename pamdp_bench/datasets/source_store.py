"""A generating run's progress on disk, so a source run resumes where it was killed.

A source run (``sources.generate_source``) can train for an hour or more of one core (HyAR-TD3
on Hard Move n=8: 150k env steps), and background jobs die with the session that started them.
``SourceStore`` keeps, per evaluation point:

* the train state, as a ``RunCheckpointer`` (orbax) checkpoint whose step is the env-step count
  and whose metadata holds the run's identity, its evaluation records so far and its warm-up
  length;
* the transitions the chunk recorded (``stream/<env steps>.npz``, the uncounted warm-up in
  ``stream/warmup.npz``), written before the checkpoint, so a committed checkpoint at step P
  implies every part up to P.

Training is deterministic and chunked by the evaluation interval, so a resumed run continues bit
for bit, and the budget only says where to stop: raising it continues the stored run. The
directory is therefore keyed by env, agent, config hash, seed and evaluation interval (not
budget), and a checkpoint whose metadata names another identity is refused.

Which states are kept (``sources.kept_points``) is the caller's decision; ``prune`` deletes the
others. ``StoredStates`` reads a kept state back only when a dataset needs it, so a run with a
store holds one state in memory (HyAR-TD3's are 160-330 MB).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from pamdp_bench.harness.checkpoints import CheckpointError, RunCheckpointer, check_compatible

_WARMUP = "warmup"


def default_root() -> str:
    """``$XDG_CACHE_HOME/pamdp_bench/dataset_sources`` (``~/.cache`` without the variable)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "pamdp_bench", "dataset_sources")


class SourceStore:
    """The checkpoints and recorded transitions of one generating run under ``root``."""

    def __init__(self, root: str, identity: Mapping[str, Any]) -> None:
        self.identity = dict(identity)
        name = (f"{identity['agent']}-{identity['config_hash']}-seed{identity['seed']}"
                f"-every{identity['eval_interval']}")
        self.directory = os.path.join(os.path.abspath(root), identity["env_id"], name)
        self._stream = os.path.join(self.directory, "stream")
        os.makedirs(self._stream, exist_ok=True)
        self._states = RunCheckpointer(os.path.join(self.directory, "states"), max_to_keep=None)

    # ------------------------------------------------------------------ writing
    def save_part(self, point: int | None, rec: Mapping[str, np.ndarray]) -> None:
        """Write one chunk's transitions (``point`` None: the warm-up), atomically."""
        path = self._part_path(point)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in rec.items()})
        os.replace(tmp, path)

    def save(self, point: int, state: Any, records: list[dict[str, Any]], warmup: int,
             recorded: bool) -> None:
        """Checkpoint the state at ``point`` with the records so far; returns once committed."""
        self._states.save(point, state, {**self.identity, "records": records,
                                         "warmup_transitions": warmup, "recorded": recorded})
        self._states.wait()

    def prune(self, keep: set[int]) -> None:
        """Delete every stored state not in ``keep`` (the newest always stays: resuming needs
        it). Recorded transitions are never deleted (medium-replay needs them all)."""
        steps = self._states.all_steps()
        for step in steps:
            if step not in keep and step != max(steps):
                self._states.delete(step)

    # ------------------------------------------------------------------ reading
    def resume(self, template: Any) -> dict[str, Any] | None:
        """The stored run, or None if nothing is stored: ``step`` (newest checkpoint),
        ``state``, ``records``, ``warmup`` and ``parts`` (the recorded transitions in order,
        warm-up first; empty if the run is unrecorded)."""
        latest = self._states.restore_latest(template, self._check)
        if latest is None:
            return None
        step, state, meta = latest
        parts = []
        if meta["recorded"]:
            names = ([None] if meta["warmup_transitions"] else []) + [
                r["env_steps"] for r in meta["records"]]
            for point in names:
                path = self._part_path(point)
                if not os.path.exists(path):
                    raise CheckpointError(
                        f"{self.directory}: the checkpoint at {step} env steps needs {path}, "
                        "which is missing; remove the directory to train the run again")
                with np.load(path) as z:
                    parts.append({k: z[k] for k in z.files})
        return {"step": step, "state": state, "records": meta["records"],
                "warmup": meta["warmup_transitions"], "parts": parts}

    def steps(self) -> list[int]:
        """The evaluation points whose states are stored."""
        return self._states.all_steps()

    def load_state(self, step: int, template: Any) -> Any:
        """The stored state at ``step`` (numpy leaves)."""
        return self._states.restore(step, template)[0]

    def close(self) -> None:
        self._states.close()

    # ------------------------------------------------------------------ helpers
    def _part_path(self, point: int | None) -> str:
        return os.path.join(self._stream, f"{_WARMUP if point is None else point}.npz")

    def _check(self, meta: Mapping[str, Any]) -> None:
        check_compatible(meta, self.identity, self.directory, fields=tuple(self.identity),
                         hint="Remove the directory (or pass another --source_store) to train "
                              "the run again.")


class StoredStates(Mapping[int, Any]):
    """``{env steps: state}`` of a stored run's kept points, each read from disk on access."""

    def __init__(self, root: str, identity: Mapping[str, Any], template: Any) -> None:
        self._root, self._identity, self._template = root, dict(identity), template
        store = SourceStore(root, identity)
        self._steps = store.steps()
        store.close()

    def __getitem__(self, step: int) -> Any:
        if step not in self._steps:
            raise KeyError(step)
        store = SourceStore(self._root, self._identity)
        try:
            return store.load_state(step, self._template)
        finally:
            store.close()

    def __iter__(self) -> Iterator[int]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)
