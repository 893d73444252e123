"""Replay of single transitions: thin wrappers around flashbax's item buffers.

flashbax already gives pure-function, jittable, vmappable ring buffers, uniform and prioritised
(a sum tree); this module fixes the settings the off-policy baselines share (one transition
added per env step, sampling with replacement, as the PyTorch originals' ``Memory.sample``
does) and adds the two things flashbax leaves to its users: PER's importance weights and
rewriting fields of sampled items in place (QMLE's stored argmaxes).
"""

from __future__ import annotations

from typing import Any

import flashbax as fbx
import jax
import jax.numpy as jnp


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


def make_prioritised_replay(capacity: int, batch_size: int, alpha: float):  # noqa: ANN201
    """A flashbax prioritised item buffer: ``sample`` also returns ``indices`` and
    ``probabilities``; new items enter at the largest priority seen so far (PER's rule, and the
    Stable Baselines buffer QMLE's code extends). ``alpha`` is the priority exponent.

    flashbax's sum tree picks its scatter for the backend it is built for, so the buffer is
    made for ``jax.default_backend()``.
    """
    return fbx.make_prioritised_item_buffer(
        max_length=int(capacity), min_length=1, sample_batch_size=int(batch_size),
        add_sequences=False, add_batches=False, priority_exponent=float(alpha),
        device=jax.default_backend(),
    )


def importance_weights(buffer_state: Any, probabilities: jax.Array, beta: float) -> jax.Array:
    """PER importance weights ``(N P(i))^-beta`` divided by their largest possible value
    ``(N min_j P(j))^-beta`` over the whole buffer (Schaul et al. 2016; the Stable Baselines
    ``PrioritizedReplayBuffer.sample`` QMLE uses), so every weight is in (0, 1].

    ``N`` is the number of stored items; the smallest probability is read off the sum tree's
    leaves (flashbax keeps no min tree; one pass over ``capacity`` leaves per update).
    """
    tree = buffer_state.sum_tree_state
    start = 2**tree.tree_depth - 1
    leaves = tree.nodes[start:start + tree.capacity]
    total = tree.nodes[0]
    p_min = jnp.min(jnp.where(leaves > 0, leaves, jnp.inf)) / total
    n = jnp.minimum(buffer_state.running_index, tree.capacity).astype(jnp.float32)
    weights = (n * probabilities) ** (-beta)
    return (weights / (n * p_min) ** (-beta)).astype(jnp.float32)


def write_items(buffer_state: Any, indices: jax.Array, fields: dict[str, jax.Array],
                keep_old: jax.Array | bool = False) -> Any:
    """``buffer_state`` with the items at ``indices`` (from a ``sample``) given new values of
    some of their fields (QMLE's stored argmaxes); with ``keep_old`` (a scalar, e.g. "no update
    yet") the old values stay. Repeated indices keep one of their values."""
    exp = dict(buffer_state.experience)
    for name, value in fields.items():
        old = exp[name][0, indices]
        new = jnp.where(keep_old, old, value.astype(old.dtype))
        exp[name] = exp[name].at[0, indices].set(new)
    return buffer_state.replace(experience=exp)
