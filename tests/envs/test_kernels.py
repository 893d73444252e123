"""The envs' shared kernels: counter-based random numbers (``envs/counter_rng.py``) against
``jax.random``, and lane compaction (``envs/compaction.py``) on a toy loop."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry2x32_p, threefry_2x32

from pamdp_bench.envs import compaction, counter_rng


# ---------------------------------------------------------------------- counter_rng
def test_threefry_is_jax_random_block() -> None:
    rng = np.random.default_rng(0)
    words = [jnp.asarray(rng.integers(0, 2**32, 256, dtype=np.uint64).astype(np.uint32))
             for _ in range(4)]  # fmt: skip
    ref = threefry2x32_p.bind(*words)
    got = jax.jit(counter_rng.threefry2x32)(*words)
    for a, b in zip(ref, got, strict=True):
        np.testing.assert_array_equal(a, b)
    # the keyed form: counters split in halves, as jax.random hashes a count array
    kd = jax.random.key_data(jax.random.key(42))
    counts = jnp.arange(64, dtype=jnp.uint32)
    ours = counter_rng.threefry2x32(kd[0], kd[1], counts[:32], counts[32:])
    np.testing.assert_array_equal(np.concatenate(ours), threefry_2x32(kd, counts))


def test_tick_words_are_the_blocks_of_counters_tick_j() -> None:
    k0, k1 = jnp.uint32(123), jnp.uint32(456)
    ticks = jnp.arange(10, dtype=jnp.int32)
    words = counter_rng.tick_words(k0, k1, ticks, 7)
    assert len(words) == 7
    t = ticks.astype(jnp.uint32)
    for j in range(4):
        a, b = threefry2x32_p.bind(k0, k1, t, jnp.full_like(t, j))
        np.testing.assert_array_equal(words[2 * j], a)
        if 2 * j + 1 < 7:
            np.testing.assert_array_equal(words[2 * j + 1], b)


def test_bits_to_uniform_and_normal_match_jax_random() -> None:
    key = jax.random.key(7)
    bits = jax.random.bits(key, (4096,), jnp.uint32)
    np.testing.assert_array_equal(
        counter_rng.bits_to_uniform(bits), jax.random.uniform(key, (4096,), minval=-1.0, maxval=1.0)
    )
    np.testing.assert_array_equal(
        counter_rng.bits_to_normal(bits), jax.random.normal(key, (4096,), jnp.float32)
    )
    unit = counter_rng.bits_to_unit_float(bits)
    assert unit.dtype == jnp.float32 and float(unit.min()) >= 1.0 and float(unit.max()) < 2.0


# ----------------------------------------------------------------------- compaction
class _C(NamedTuple):
    n: jax.Array  # ticks done
    acc: jax.Array  # accumulated value
    want: jax.Array


class _K(NamedTuple):
    length: jax.Array  # ticks this lane runs
    scale: jax.Array


def _active(c: _C, k: _K) -> jax.Array:
    return c.want


def _tick(c: _C, k: _K, it: jax.Array) -> _C:
    run = _active(c, k)
    n = c.n + run.astype(jnp.int32)
    acc = jnp.where(run, c.acc * 0.5 + k.scale * n.astype(jnp.float32), c.acc)
    return _C(n, acc, c.want & (n < k.length))


LOOP = compaction.CompactedLoop(
    _active, _tick, lambda c, keep: c._replace(want=c.want & keep), min_tier=4, tier_factor=4
)


def _reference(c: _C, k: _K) -> _C:
    """The same loop as a plain while loop (vmap runs every lane to the slowest)."""
    return jax.lax.while_loop(lambda c: c.want, lambda c: _tick(c, k, jnp.int32(0)), c)


def _inputs(lanes: int) -> tuple[_C, _K]:
    rng = np.random.default_rng(0)
    length = rng.geometric(0.1, lanes).astype(np.int32)
    length[3] = 200  # one long tail
    c = _C(jnp.zeros(lanes, jnp.int32), jnp.zeros(lanes, jnp.float32), jnp.ones(lanes, bool))
    return c, _K(jnp.asarray(length), jnp.float32(1.5))


def test_tier_sizes() -> None:
    assert LOOP.tier_sizes(64) == [64, 16, 4]
    assert LOOP.tier_sizes(3) == [3]
    assert compaction.CompactedLoop(_active, _tick, lambda c, k: c).tier_sizes(4096) == [
        4096, 1024, 256, 64, 16,
    ]  # fmt: skip


def test_compaction_equals_the_plain_loop_unbatched_batched_and_nested() -> None:
    c, k = _inputs(64)
    ref = jax.jit(jax.vmap(_reference, in_axes=(0, _K(0, None))))(c, k)
    got = jax.jit(jax.vmap(LOOP, in_axes=(0, _K(0, None))))(c, k)
    jax.tree.map(np.testing.assert_array_equal, got, ref)
    np.testing.assert_array_equal(got.n, k.length)
    # one lane, unbatched
    one = jax.jit(LOOP)(jax.tree.map(lambda x: x[3], c), _K(k.length[3], k.scale))
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b[3]), one, ref)
    # nested vmap (8 x 8), with per-lane and shared constants
    r = lambda x: x.reshape((8, 8) + x.shape[1:])  # noqa: E731
    inner = jax.vmap(LOOP, in_axes=(0, _K(0, None)))
    nested = jax.jit(jax.vmap(inner, in_axes=(0, _K(0, None))))(
        jax.tree.map(r, c), _K(r(k.length), k.scale)
    )
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a.reshape(b.shape), b), nested, ref)
    # a batched carry with an unbatched constant block, and compaction switched off
    old = LOOP.min_tier
    try:
        LOOP.min_tier = 10**9
        flat = jax.jit(jax.vmap(LOOP, in_axes=(0, _K(0, None))))(c, k)
    finally:
        LOOP.min_tier = old
    jax.tree.map(np.testing.assert_array_equal, flat, ref)
