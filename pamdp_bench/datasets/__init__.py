"""Offline PAMDP datasets in Minari format (algorithms.md §6.3).

``catalog`` names them and their generating policies, ``collect`` plays whole episodes in
vmapped envs, ``sources`` trains the expert / medium policies and records the medium-replay
stream, ``minari_io`` writes Minari datasets and loads them as JAX arrays, ``build`` builds
and verifies them against the committed manifest (``results/datasets/manifest.json``).
"""

from pamdp_bench.datasets.catalog import KINDS, DatasetRef, parse_id
from pamdp_bench.datasets.minari_io import load_arrays, load_dataset

__all__ = ["KINDS", "DatasetRef", "load_arrays", "load_dataset", "parse_id"]
