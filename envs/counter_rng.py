"""Counter-based random numbers for the envs' inner tick loops: ``jax.random``'s own generator,
evaluated elementwise.

A step's key becomes a 64-bit noise key (``jax.random.bits(key, (2,), uint32)``); tick ``n``
then reads the Threefry-2x32 blocks of the counters ``(n, 0), (n, 1), ...`` under that key
(``tick_words``) and maps the words to floats exactly as ``jax.random.uniform`` / ``normal``
do. Calling ``jax.random`` inside the loop instead costs more than a whole tick: jax lowers its
``threefry2x32`` primitive on CPU as a rolled 5-iteration inner ``while`` loop with
table-driven rotations, while the ~120 integer ops written out here fuse with the tick.
Platform and Goal both draw their per-tick noise through this module.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(v: jax.Array, r: int) -> jax.Array:
    return (v << np.uint32(r)) | (v >> np.uint32(32 - r))


def threefry2x32(
    k0: jax.Array, k1: jax.Array, c0: jax.Array, c1: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The Threefry-2x32 hash of ``jax.random`` (20 rounds) on uint32 words, unrolled.

    Bit-identical to ``jax.extend.random.threefry_2x32`` / ``threefry2x32_p`` (tested).
    """
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(0x1BD11BDA))
    x0 = c0 + k0
    x1 = c1 + k1
    for j in range(5):
        for r in _ROTATIONS[j % 2]:
            x0 = x0 + x1
            x1 = x0 ^ _rotl(x1, r)
        x0 = x0 + ks[(j + 1) % 3]
        x1 = x1 + ks[(j + 2) % 3] + np.uint32(j + 1)
    return x0, x1


def tick_words(k0: jax.Array, k1: jax.Array, tick: jax.Array, count: int) -> list[jax.Array]:
    """``count`` uint32 words for tick ``tick`` under the noise key ``(k0, k1)``.

    The words of the blocks of counters ``(tick, 0), (tick, 1), ...`` in order (two per block).
    """
    tick = jnp.asarray(tick).astype(jnp.uint32)
    words: list[jax.Array] = []
    for j in range((count + 1) // 2):
        words += threefry2x32(k0, k1, tick, jnp.full_like(tick, j))
    return words[:count]


def bits_to_unit_float(bits: jax.Array) -> jax.Array:
    """uint32 -> float32 in [1, 2): the top 23 bits as the mantissa (``jax.random``'s map)."""
    return jax.lax.bitcast_convert_type(
        (bits >> np.uint32(9)) | np.uint32(0x3F800000), jnp.float32
    )


def bits_to_uniform(bits: jax.Array) -> jax.Array:
    """uint32 -> U[-1, 1) (float32), equal to ``jax.random.uniform(.., minval=-1, maxval=1)``."""
    return 2.0 * bits_to_unit_float(bits) - 3.0


_NORMAL_LO = float(np.nextafter(np.float32(-1.0), np.float32(1.0)))


def bits_to_normal(bits: jax.Array) -> jax.Array:
    """uint32 -> N(0, 1) (float32) exactly as ``jax.random.normal`` maps them."""
    f = bits_to_unit_float(bits)
    u = jnp.maximum(_NORMAL_LO, (f - 1.0) * (1.0 - _NORMAL_LO) + _NORMAL_LO)
    return np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(u)
