"""A distribution over hybrid actions: categorical k, Gaussian parameters of every action.

Shared by the offline agents (BC's policy, C-LAP's action decoder): a head emits ``K`` logits
and ``P`` means (tanh-bounded to [-1, 1]) and log-stds over the flat parameter vector (all
actions' parameters side by side, the suite's action form). The likelihood of ``(k, z)`` is the
categorical term plus the Gaussian terms of k's own slice only; actions without parameters
contribute only the categorical term. It reads the data's ``z_pad`` (k's parameters, padded)
and gathers k's slice of the head's outputs (``param_slots``), so a dataset need not carry the
flat ``z``: at Hard Move n=10 that is 1,024 floats per transition (4 GB on the device for 1M
transitions), of which the likelihood reads one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


def param_owner(space: object) -> jax.Array:
    """``int32[P]``: the action index each flat parameter belongs to."""
    dims = np.asarray(space.param_dims, np.int64)
    return jnp.asarray(np.repeat(np.arange(len(dims)), dims).astype(np.int32))


class ParamSlots(NamedTuple):
    """``index[K, D]``: where action k's j-th parameter sits in the flat vector (0 past k's
    dimension); ``mask[K, D]``: which of those exist (``ActionSpace.param_slot_table``)."""

    index: jax.Array
    mask: jax.Array


def param_slots(space: object) -> ParamSlots:
    index, mask = space.param_slot_table
    return ParamSlots(jnp.asarray(index), jnp.asarray(mask))


class HybridHead(nn.Module):
    """``features -> (logits [K], mean [P], log_std [P])``."""

    num_actions: int
    num_params: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        logits = nn.Dense(self.num_actions, name="logits")(x)
        p = max(self.num_params, 1)  # a zero-width Dense is not allowed; sliced off below
        mean = jnp.tanh(nn.Dense(p, name="mean")(x))[..., : self.num_params]
        log_std = nn.Dense(p, name="log_std")(x)[..., : self.num_params]
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(log_std) + 1.0)
        return logits, mean, log_std


ACTIVATIONS = {"relu": nn.relu, "elu": nn.elu}


class HybridPolicy(nn.Module):
    """``features -> (logits, mean, log_std)``: an MLP trunk (``activation`` after every hidden
    layer) and a ``HybridHead``: BC's policy (relu) and C-LAP's ablation policy (elu)."""

    hidden: tuple[int, ...]
    num_actions: int
    num_params: int
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width)(x))
        return HybridHead(self.num_actions, self.num_params)(x)


def log_prob(logits: jax.Array, mean: jax.Array, log_std: jax.Array, k: jax.Array,
             z_pad: jax.Array, slots: ParamSlots) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(log p(k, z), log p(k), log p(z_k | k))`` per batch element; ``z_pad`` holds k's
    parameters (``ActionSpace.to_padded``), read against k's slice of ``mean`` / ``log_std``."""
    logp_k = jnp.take_along_axis(jax.nn.log_softmax(logits), k[..., None], axis=-1)[..., 0]
    if mean.shape[-1] == 0:  # no action has parameters
        return logp_k, logp_k, jnp.zeros_like(logp_k)
    index, mask = slots.index[k], slots.mask[k]
    mu = jnp.take_along_axis(mean, index, axis=-1)
    ls = jnp.take_along_axis(log_std, index, axis=-1)
    gauss = -0.5 * jnp.square((z_pad - mu) / jnp.exp(ls)) - ls - 0.5 * math.log(2 * math.pi)
    logp_z = jnp.sum(jnp.where(mask, gauss, 0.0), axis=-1)
    return logp_k + logp_z, logp_k, logp_z


def mode(logits: jax.Array, mean: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The deterministic action: ``k = argmax`` logits, ``z`` = the means (every slice)."""
    return jnp.argmax(logits, axis=-1).astype(jnp.int32), mean


def sample(key: jax.Array, logits: jax.Array, mean: jax.Array,
           log_std: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A drawn action: ``k ~ Cat(logits)``, ``z ~ N(mean, std)`` clipped to [-1, 1]."""
    k_key, z_key = jax.random.split(key)
    k = jax.random.categorical(k_key, logits).astype(jnp.int32)
    z = mean + jnp.exp(log_std) * jax.random.normal(z_key, mean.shape, mean.dtype)
    return k, jnp.clip(z, -1.0, 1.0)
