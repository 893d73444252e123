"""Write collected episodes as Minari datasets and read them back as JAX arrays.

Layout (Minari 0.5, HDF5 backend): one ``main_data.hdf5`` plus ``metadata.json`` under
``<root>/<dataset id>/data``; ``root`` is Minari's own ``MINARI_DATASETS_PATH`` (default
``~/.minari/datasets``), so ``minari.load_dataset("pamdp/Platform-v0/expert-v0")`` reads what
``pamdp-bench datasets build`` wrote. Per episode of T steps:

* ``observations[T+1]`` (Minari's convention: the observation after the last step is the last
  row; for a time-limit end it is the pre-reset final observation);
* ``actions = (k[T] int64, z[T, P] float32)``: the space ``Tuple(Discrete(K), Box(-1, 1, (P,)))``
  of ``gymnasium.make("pamdp_bench/<id>", flat_params=True)`` (z holds every action's
  parameters side by side; only k's slice was read by the env);
* ``rewards[T]`` float32, ``terminations[T]``, ``truncations[T]``;
* ``infos/success[T+1]``: row 0 is the reset (False), row t+1 the step t's ``info["success"]``
  (Minari stores the reset's info first);
* the episode ``seed`` attribute: ``reset(seed=...)`` of the adapter replays the episode's env
  randomness (``collect``).

The evaluation env spec is the adapter's gymnasium spec with ``flat_params=True``, so
``dataset.recover_environment(eval_env=True)`` builds the env with the default episode cap.
Dataset-level facts the suite adds (policy provenance, recipe) are one JSON string under the
metadata key ``pamdp_bench``.

Loading: Minari stores one HDF5 group per episode, and reading one costs a few milliseconds
whichever API reads it (measured on a loaded 2-core machine: 5,000 Catch Point episodes in 23 s
through ``iterate_episodes``, 21 s through ``storage.get_episodes``; 1M transitions in about
4 minutes). ``load_arrays`` therefore caches the flat arrays it builds as one ``.npz`` per data
file content (``~/.cache/pamdp_bench/datasets/<sha256 of main_data.hdf5>.npz``, or
``PAMDP_BENCH_CACHE``), so only the first load of a dataset pays that, and ``datasets build``
writes that entry itself from the arrays it has in memory (``seed_cache``): Platform's random
data holds 458,700 episodes, about 45 minutes of a first load on a busy 2-core machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

import jax.numpy as jnp
import numpy as np

from pamdp_bench.datasets.collect import TRANSITION_KEYS, agent_arrays
from pamdp_bench.registry import make

METADATA_KEY = "pamdp_bench"
AUTHOR = "pamdp_bench"
#: The episodes file inside a dataset directory (the manifest's key for it, too).
DATA_FILE = os.path.join("data", "main_data.hdf5")
CODE_URL = "https://github.com/pamdp-bench/pamdp_bench"


def default_root() -> str:
    """Minari's datasets directory (``MINARI_DATASETS_PATH`` or ``~/.minari/datasets``)."""
    return os.environ.get("MINARI_DATASETS_PATH",
                          os.path.join(os.path.expanduser("~"), ".minari", "datasets"))


@contextlib.contextmanager
def minari_root(root: str) -> Iterator[None]:
    """Point Minari at ``root`` for the duration (it reads the variable on every call)."""
    before = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = os.path.abspath(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = before


def dataset_dir(root: str, dataset_id: str) -> str:
    return os.path.join(root, dataset_id)


def gym_env(env_id: str) -> Any:
    """The adapter env the datasets are stored for (flat parameters, default cap)."""
    import gymnasium  # the ids are registered by `import pamdp_bench`

    return gymnasium.make(f"pamdp_bench/{env_id}", flat_params=True)


def _episode_bounds(episode: np.ndarray) -> list[tuple[int, int]]:
    bounds = np.flatnonzero(np.diff(episode)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(episode)]])
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _write_episodes(h5_path: str, data: dict[str, np.ndarray]) -> tuple[int, int]:
    """Append every episode in Minari's HDF5 layout (what ``MinariStorage.update_episodes``
    writes: group ``episode_<id>`` with attributes ``id``, ``seed``, ``total_steps``), but
    with the newest HDF5 object format and contiguous datasets: 3.7 kB of overhead per
    episode instead of 8.9 kB (measured on 21-step episodes), which is most of the file for
    short-episode envs. Readers (``minari.load_dataset``) see the same layout."""
    import h5py

    bounds = _episode_bounds(data["episode"])
    with h5py.File(h5_path, "a", libver="latest", track_order=True) as f:
        for i, (a, b) in enumerate(bounds):
            g = f.create_group(f"episode_{i}")
            g.attrs["id"] = i
            if data["seed"][a] >= 0:
                g.attrs["seed"] = int(data["seed"][a])
            g.attrs["total_steps"] = b - a
            g.create_dataset("observations", data=np.concatenate(
                [data["obs"][a:b], data["next_obs"][b - 1:b]]))
            actions = g.create_group("actions")
            actions.create_dataset("_index_0", data=data["k"][a:b].astype(np.int64))
            actions.create_dataset("_index_1", data=data["z"][a:b].astype(np.float32))
            g.create_dataset("rewards", data=data["reward"][a:b].astype(np.float32))
            g.create_dataset("terminations", data=data["terminated"][a:b])
            g.create_dataset("truncations", data=data["truncated"][a:b])
            infos = g.create_group("infos")
            infos.create_dataset("success", data=np.concatenate([[False], data["success"][a:b]]))
    return len(bounds), int(len(data["episode"]))


def write_dataset(root: str, dataset_id: str, env_id: str, data: dict[str, np.ndarray], *,
                  algorithm: str, description: str, ref_min_score: float,
                  ref_max_score: float, extra: dict[str, Any]) -> str:
    """Write ``data`` (``collect`` arrays) as Minari dataset ``dataset_id`` under ``root``;
    returns the dataset directory. Refuses to overwrite an existing dataset.

    Minari's ``create_dataset_from_buffers`` makes the dataset (spaces, env specs, metadata)
    with no episodes; ``_write_episodes`` then adds them and the metadata's counts are set
    as ``update_episodes`` would."""
    import minari

    path = dataset_dir(root, dataset_id)
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists: remove it (or choose another --root) to rebuild")
    env = gym_env(env_id)
    with minari_root(root), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Minari's reminders about optional metadata
        ds = minari.create_dataset_from_buffers(
            dataset_id, [], env=env.spec, eval_env=env.spec,
            algorithm_name=algorithm, author=AUTHOR, author_email="n/a",
            code_permalink=CODE_URL, description=description,
            ref_min_score=float(ref_min_score), ref_max_score=float(ref_max_score),
            data_format="hdf5")
        episodes, steps = _write_episodes(os.path.join(path, DATA_FILE), data)
        ds.storage.update_metadata({"total_episodes": episodes, "total_steps": steps,
                                    "dataset_size": ds.storage.get_size(),
                                    METADATA_KEY: json.dumps(extra, sort_keys=True)})
    return path


def set_anchors(directory: str, ref_min_score: float, ref_max_score: float) -> None:
    """Rewrite a written dataset's normalisation anchors (``metadata.json`` only: the episodes
    file holds none). Through Minari's ``update_metadata``, which keeps the keys' order, so
    the file is what ``write_dataset`` writes with these anchors; the one exception is
    ``dataset_size`` (MB to 0.1, kept), which a fresh write could round the other way when the
    size sits within the few bytes the scores' text changes by of a rounding boundary."""
    from minari.dataset.minari_storage import MinariStorage

    storage = MinariStorage.read(os.path.join(directory, "data"))
    storage.update_metadata({"ref_min_score": float(ref_min_score),
                             "ref_max_score": float(ref_max_score)})


def load_dataset(dataset_id: str, root: str | None = None) -> Any:
    """``minari.load_dataset`` from ``root`` (default: Minari's own directory)."""
    import minari

    with minari_root(root or default_root()):
        return minari.load_dataset(dataset_id)


def suite_metadata(dataset: Any) -> dict[str, Any]:
    """The suite's provenance block of a loaded dataset."""
    return json.loads(dataset.storage.metadata.get(METADATA_KEY, "{}"))


def cache_dir() -> str:
    return os.environ.get("PAMDP_BENCH_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                            "pamdp_bench", "datasets"))


def file_digest(path: str) -> dict[str, Any]:
    """``{sha256, bytes}`` of one file (the manifest's record of it; the sha256 is also the
    loader cache's key)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return {"sha256": h.hexdigest(), "bytes": os.path.getsize(path)}


def _read_arrays(ds: Any) -> dict[str, np.ndarray]:
    """Every episode of a loaded dataset as flat per-transition numpy arrays."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in TRANSITION_KEYS}
    storage = ds.storage
    for i, ep in enumerate(storage.get_episodes(range(storage.total_episodes))):
        obs = np.asarray(ep["observations"])
        n = len(ep["rewards"])
        k, z = ep["actions"]
        parts["obs"].append(obs[:-1])
        parts["next_obs"].append(obs[1:])
        parts["k"].append(np.asarray(k, np.int32))
        parts["z"].append(np.asarray(z, np.float32))
        parts["reward"].append(np.asarray(ep["rewards"], np.float32))
        parts["terminated"].append(np.asarray(ep["terminations"]))
        parts["truncated"].append(np.asarray(ep["truncations"]))
        parts["success"].append(np.asarray(ep["infos"]["success"])[1:])
        parts["episode"].append(np.full(n, i, np.int32))
        parts["step"].append(np.arange(n, dtype=np.int32))
    return {name: np.concatenate(v) for name, v in parts.items()}


def episode_arrays(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``_read_arrays``'s result computed from the ``collect`` arrays ``write_dataset`` writes,
    without reading the file: the same keys, dtypes and values (episode ids renumbered from 0,
    ``next_obs`` as the stored observations give it: the next row within an episode)."""
    bounds = _episode_bounds(data["episode"])
    n = len(data["episode"])
    starts = np.array([a for a, _ in bounds], np.int64)
    lengths = np.array([b - a for a, b in bounds], np.int64)
    next_obs = np.empty_like(data["obs"])
    next_obs[:-1] = data["obs"][1:]
    last = starts + lengths - 1
    next_obs[last] = data["next_obs"][last]
    return {"obs": data["obs"], "next_obs": next_obs,
            "k": data["k"].astype(np.int32), "z": data["z"].astype(np.float32),
            "reward": data["reward"].astype(np.float32),
            "terminated": np.asarray(data["terminated"]),
            "truncated": np.asarray(data["truncated"]),
            "success": np.asarray(data["success"]),
            "episode": np.repeat(np.arange(len(bounds), dtype=np.int32), lengths),
            "step": (np.arange(n) - np.repeat(starts, lengths)).astype(np.int32)}


def seed_cache(sha256: str, data: dict[str, np.ndarray]) -> str:
    """Write ``load_arrays``' cache entry of a just-written dataset (``sha256``: its
    ``DATA_FILE``'s digest) from ``data`` (what was written), so its first load does not read
    the file episode by episode; returns the entry's path."""
    path = _cache_path(sha256)
    _save_cache(path, episode_arrays(data))
    return path


def _cache_path(sha256: str) -> str:
    return os.path.join(cache_dir(), f"{sha256}.npz")


def _save_cache(path: str, arrays: dict[str, np.ndarray]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_arrays(dataset_id: str, root: str | None = None, *, cache: bool = True,
                flat_z: bool = False) -> dict[str, jnp.ndarray]:
    """A dataset as flat per-transition JAX arrays, ready for the suite's agents.

    Keys: ``obs``, ``k``, ``z_pad`` (k's parameters, zero padded), ``reward``, ``next_obs``,
    ``terminated``, ``truncated``, ``success``, ``episode`` (id), ``step`` (index in the
    episode); with ``flat_z`` also ``z``, the env's flat parameter vector (every action's
    slice; ``ActionSpace.from_padded`` rebuilds it from ``k`` and ``z_pad``). ``cache``: keep /
    reuse the arrays under ``cache_dir()`` keyed by the data file's sha256 (module docstring).
    """
    ds = load_dataset(dataset_id, root)
    env_id = suite_metadata(ds).get("env_id")
    if env_id is None:
        raise ValueError(f"{dataset_id}: not a pamdp_bench dataset (no '{METADATA_KEY}' "
                         "metadata)")
    arrays = None
    if cache:
        h5 = os.path.join(dataset_dir(root or default_root(), dataset_id), DATA_FILE)
        path = _cache_path(file_digest(h5)["sha256"])
        if os.path.exists(path):
            with np.load(path) as f:
                arrays = {k: f[k] for k in f.files}
    if arrays is None:
        arrays = _read_arrays(ds)
        if cache:
            _save_cache(path, arrays)
    env, _ = make(env_id)
    return agent_arrays(env.pamdp_space, arrays, flat_z=flat_z)
