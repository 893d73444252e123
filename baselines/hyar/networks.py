"""HyAR's latent-space actor and critics (``agents/P_TD3_relable.py`` @ ``ece9562``).

* Actor: ``s -> 256 -> 256`` (ReLU) with two tanh heads, the discrete embedding ``[d1]`` and the
  parameter latent ``[d2]`` (both in [-1, 1]).
* Critic: ``concat(s, d_emb, p_emb) -> 256 -> 256 -> 1``; TD3 stacks two on a leading axis.

Initialisation: PyTorch ``nn.Linear`` default ``U(+-1/sqrt(fan_in))`` for weights and biases
(the original leaves the defaults), HyAR's ``"nested"`` key layout of ``common.networks``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common.networks import Params, init_mlp, linear, mlp, relu_layers


def init_actor(key: jax.Array, obs_dim: int, d1: int, d2: int,
               hidden: Sequence[int]) -> dict[str, Params]:
    k_t, k_d, k_p = jax.random.split(key, 3)
    return {"trunk": init_mlp(k_t, [obs_dim, *hidden]),
            "d_head": init_mlp(k_d, [hidden[-1], d1]),
            "p_head": init_mlp(k_p, [hidden[-1], d2])}


def actor_forward(params: dict[str, Params], obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``obs [..., obs_dim] -> (d_emb [..., d1], p_emb [..., d2])``, both tanh-squashed."""
    h = relu_layers(params["trunk"], obs)
    return (jnp.tanh(linear(params["d_head"][0], h)),
            jnp.tanh(linear(params["p_head"][0], h)))


def init_critic(key: jax.Array, obs_dim: int, action_dim: int, hidden: Sequence[int]) -> Params:
    return init_mlp(key, [obs_dim + action_dim, *hidden, 1])


def critic_forward(params: Params, obs: jax.Array, d_emb: jax.Array,
                   p_emb: jax.Array) -> jax.Array:
    """``Q(s, d_emb, p_emb)``: ``[...]``."""
    return mlp(params, jnp.concatenate([obs, d_emb, p_emb], axis=-1))[..., 0]
