"""``host_transfer``: a tree packed into float32 words inside jit comes back bit for bit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.envs.host_transfer import WordLayout, pack_words


def _tree() -> dict:
    return {
        "obs": np.array([[1.5, -0.0], [np.inf, 3.25]], np.float32),
        "nan_bits": np.array([0x7F800001, 0x7FC00000, -1, 0], np.int32),  # NaN patterns as f32
        "flags": (np.array(True), np.array([False, True])),
        "small": (np.array([-128, 127], np.int8), np.array([65535], np.uint16)),
        "half": np.array([0.1, -2.5], np.float16),
        "bf16": jnp.array([1.0, 3.0e38], jnp.bfloat16),
        "u32": np.array(0xFFFFFFFF, np.uint32),
        "empty": np.zeros((0, 3), np.float32),
    }


def _assert_same(got: dict, want: dict) -> None:
    flat_got, tree_got = jax.tree.flatten(got)
    flat_want, tree_want = jax.tree.flatten(want)
    assert tree_got == tree_want
    for g, w in zip(flat_got, flat_want, strict=True):
        w = np.asarray(w)
        assert isinstance(g, np.ndarray) and g.dtype == w.dtype and g.shape == w.shape
        assert g.tobytes() == w.tobytes()  # bit for bit, NaN payloads and -0.0 included
        assert g.flags.writeable


def test_round_trip_inside_jit_is_bit_exact() -> None:
    tree = _tree()
    layout = WordLayout.of(jax.eval_shape(lambda t: t, tree))
    words = jax.jit(pack_words)(tree)
    assert words.dtype == jnp.float32 and words.shape == (layout.size,)
    _assert_same(layout.unpack(jax.device_get(words)), tree)


def test_64_bit_leaves_take_two_words() -> None:
    with jax.enable_x64(True):
        tree = {"i": jnp.array([2**40 + 3, -(2**62)], jnp.int64),
                "f": jnp.array(np.pi, jnp.float64)}
        layout = WordLayout.of(tree)
        assert layout.size == 6
        _assert_same(layout.unpack(np.asarray(jax.jit(pack_words)(tree))),
                     jax.device_get(tree))


def test_wrong_size_is_a_clear_error() -> None:
    layout = WordLayout.of({"a": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="expected 3 packed words"):
        layout.unpack(np.zeros(4, np.float32))


def test_empty_tree() -> None:
    layout = WordLayout.of(())
    assert layout.size == 0 and layout.unpack(np.asarray(pack_words(()))) == ()
