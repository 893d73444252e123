"""Uniform replay of single transitions: a thin wrapper around flashbax's item buffer.

flashbax already gives a pure-function, jittable, vmappable ring buffer; this module only
fixes the settings the off-policy baselines share (one transition added per env step, uniform
sampling with replacement, as the PyTorch originals' ``Memory.sample`` does).
"""

from __future__ import annotations

import flashbax as fbx


def make_replay(capacity: int, batch_size: int):  # noqa: ANN201 (flashbax's own type)
    """A flashbax item buffer of ``capacity`` transitions sampling ``batch_size`` at a time.

    ``init(example_item)``, ``add(state, item)`` (one unbatched transition) and
    ``sample(state, key).experience`` (each leaf ``[batch_size, ...]``) are all pure. Callers
    gate learning on their own step counter (the originals' ``initial_memory_threshold``), so
    ``min_length`` is 1.
    """
    return fbx.make_item_buffer(
        max_length=int(capacity), min_length=1, sample_batch_size=int(batch_size),
        add_sequences=False, add_batches=False,
    )
