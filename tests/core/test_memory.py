"""Out-of-memory errors are recognised with the size XLA asked for, and a training task that
does not fit fails with an error naming the task and the size (records already written stay)."""

from __future__ import annotations

import jax
import pytest

from pamdp_bench.harness import memory

CPU_OOM = ("INTERNAL: Error dispatching computation: Out of memory allocating 26214400000 "
           "bytes.")
GPU_OOM = ("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1073741824 bytes.")


@pytest.mark.parametrize("text, size", [(CPU_OOM, 26_214_400_000), (GPU_OOM, 1_073_741_824)])
def test_out_of_memory_is_recognised_with_its_size(text: str, size: int) -> None:
    err = jax.errors.JaxRuntimeError(text)
    assert memory.is_out_of_memory(err) and memory.requested_bytes(err) == size
    assert memory.describe(err).startswith(f"out of memory: an allocation of {size / 1e9:.1f} GB")


def test_other_errors_are_not_out_of_memory() -> None:
    err = jax.errors.JaxRuntimeError("INTERNAL: bad things")
    assert not memory.is_out_of_memory(err) and memory.requested_bytes(err) is None
    assert memory.describe(err).startswith("out of memory: an allocation failed")
