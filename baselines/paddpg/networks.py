"""PA-DDPG / PATD3 networks as pure functions over explicit parameter pytrees.

As in HyAR's ``P_DDPG.py`` / ``P_TD3.py``:

* Actor: ``obs -> ReLU(256) -> ReLU(256) -> [K scores | P parameters]``, tanh on both heads
  (``squash``). The two heads of the original (``l3_1``, ``l3_2``, same fan-in) are one
  output layer of width ``K + P`` here: identical function and init distribution.
* Critic: ``concat(obs, scores, x) -> ReLU(256) -> ReLU(256) -> 1``; PATD3 stacks two
  critics on a leading axis (``vmap``).
* Init: PyTorch's ``nn.Linear`` default, weights and biases ``U(+-1/sqrt(fan_in))``.

Built from ``common.networks`` (the shared functional MLP) with PA-DDPG's ``"flat"`` key layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common.networks import Params, init_mlp, mlp


def _init(key: jax.Array, sizes: Sequence[int]) -> Params:
    """PyTorch's default Linear init, PA-DDPG's key layout."""
    return init_mlp(key, sizes, keys="flat")


def init_actor(key: jax.Array, obs_dim: int, action_dim: int, hidden: Sequence[int]) -> Params:
    """Actor ``obs -> [K + P]`` (``action_dim = K + P``)."""
    return _init(key, [obs_dim, *hidden, action_dim])


def init_critic(key: jax.Array, obs_dim: int, action_dim: int, hidden: Sequence[int]) -> Params:
    """Critic ``(obs, a[K + P]) -> scalar``."""
    return _init(key, [obs_dim + action_dim, *hidden, 1])


def actor_forward(params: Params, obs: jax.Array, squash: bool = True) -> jax.Array:
    """``obs [..., obs_dim] -> [..., K + P]``: scores then all parameters."""
    out = mlp(params, obs)
    return jnp.tanh(out) if squash else out


def critic_forward(params: Params, obs: jax.Array, action: jax.Array) -> jax.Array:
    """``Q(s, a)``: ``obs [..., obs_dim], action [..., K + P] -> [...]``."""
    return mlp(params, jnp.concatenate([obs, action], axis=-1))[..., 0]
