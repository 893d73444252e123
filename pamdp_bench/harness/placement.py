"""Which seeds a process runs and how its seed axis is laid out on devices.

The seed axis is padded to a multiple of the local device count and sharded over the devices
(a 1-d ``Mesh`` named ``seed``); padded lanes repeat seed lane 0 and are dropped before anything
is evaluated, saved or written. Under ``jax.distributed`` process ``i`` of ``n`` owns a
contiguous slice of the seeds (``numpy.array_split``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class PlacementError(ValueError):
    """Seeds that cannot be placed (the message says why)."""


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
        raise PlacementError(
            f"need seeds >= 1 and seed_offset >= 0, got {num_seeds}, {seed_offset}")
    count, index = jax.process_count(), jax.process_index()
    all_seeds = np.arange(seed_offset, seed_offset + num_seeds)
    own = tuple(int(s) for s in np.array_split(all_seeds, count)[index])
    devs = list(devices) if devices is not None else jax.local_devices()
    mesh = Mesh(np.asarray(devs), ("seed",))
    return SeedPlacement(seeds=own, mesh=mesh, process_index=index, process_count=count)
