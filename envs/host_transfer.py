"""One device-to-host copy per step: a pytree's leaves packed bit-exactly into one float32 vector.

``jax.device_get`` of a tree copies each leaf as its own transfer. The adapters' step returns
obs, reward, terminated, truncated and an info dict (8 leaves on Platform), and those copies
cost more than the step itself when one env is stepped at a time from a host loop: packed into
one vector inside the jitted step and unpacked on the host, Platform's jitted step plus
transfer went from ~640-840 us to ~310-330 us here (``make bench-adapter`` has the end-to-end
numbers).

Packing is a bit cast, not a value cast, so it is exact for every dtype: 32-bit leaves are
reinterpreted as float32 words, 64-bit leaves (under ``jax_enable_x64``) become two words,
narrower ones are widened first (bool and small ints to int32, small floats to float32, all
lossless) and narrowed back on the host. Values whose bits are NaN patterns as float32 come
back unchanged (only copies touch them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _wire_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a leaf is bit cast from: the leaf's own if 32 bits or wider, else widened."""
    dtype = np.dtype(dtype)
    if dtype.itemsize >= 4:
        return dtype
    if dtype.kind in "biu":
        return np.dtype(np.int32)
    if jnp.issubdtype(dtype, jnp.floating):  # float16 and ml_dtypes' bfloat16 / float8
        return np.dtype(np.float32)
    raise TypeError(f"cannot pack a leaf of dtype {dtype}")


def pack_words(tree: Any) -> jax.Array:
    """Every leaf of ``tree`` (traced or concrete) as float32 words in one flat vector, in
    ``jax.tree.leaves`` order; ``WordLayout.of`` the same tree's shapes reads it back."""
    parts = []
    for leaf in jax.tree.leaves(tree):
        x = jnp.ravel(jnp.asarray(leaf))
        wire = _wire_dtype(x.dtype)
        if wire != x.dtype:
            x = x.astype(wire)
        parts.append(jnp.ravel(jax.lax.bitcast_convert_type(x, jnp.float32)))
    return jnp.concatenate(parts) if parts else jnp.zeros((0,), jnp.float32)


@dataclass(frozen=True)
class WordLayout:
    """Where each leaf of a tree sits in ``pack_words``'s vector, to rebuild it on the host."""

    treedef: Any
    leaves: tuple[tuple[int, int, tuple[int, ...], np.dtype, np.dtype], ...]
    size: int

    @classmethod
    def of(cls, abstract_tree: Any) -> WordLayout:
        """From a tree of arrays or ``ShapeDtypeStruct``s (``jax.eval_shape``'s output)."""
        leaves, treedef = jax.tree.flatten(abstract_tree)
        rows, offset = [], 0
        for leaf in leaves:
            shape, dtype = tuple(leaf.shape), np.dtype(leaf.dtype)
            wire = _wire_dtype(dtype)
            words = int(np.prod(shape, dtype=np.int64)) * wire.itemsize // 4
            rows.append((offset, words, shape, dtype, wire))
            offset += words
        return cls(treedef, tuple(rows), offset)

    def unpack(self, words: np.ndarray) -> Any:
        """The tree back from the host copy of ``pack_words``'s vector: fresh, writable numpy
        arrays of the original shapes and dtypes."""
        words = np.ascontiguousarray(words, np.float32)
        if words.shape != (self.size,):
            raise ValueError(f"expected {self.size} packed words, got shape {words.shape}")
        out = [
            words[off:off + n].view(wire).reshape(shape).astype(dtype)
            for off, n, shape, dtype, wire in self.leaves
        ]
        return jax.tree.unflatten(self.treedef, out)
