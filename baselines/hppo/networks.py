"""H-PPO networks as pure functions over parameter pytrees (HyAR ``agents/hppo_noshare.py``).

* Actor: two separate ReLU towers on the observation ("noshare"): one ends in K discrete
  logits (a categorical over k), the other in the P parameter means squashed by ``tanh``. The
  log-std is state independent: a ``[rows, P]`` zero-initialised parameter summed over its
  first axis plus ``offset`` (HyAR: 10 rows, -0.5, so std starts at exp(-0.5) ~ 0.61; with Adam
  the summed rows make log-std move ~rows times faster than one parameter would). Not clipped.
* Critic: ReLU MLP -> V(s).

All linear layers use PyTorch's ``nn.Linear`` default init, weights and biases
U(+-1/sqrt(fan_in)), as the original (which sets no init): ``common.networks`` with the
``"nested"`` key layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common.networks import Params as Mlp
from pamdp_bench.baselines.common.networks import init_mlp
from pamdp_bench.baselines.common.networks import mlp as mlp_forward


def init_actor(key: jax.Array, obs_dim: int, num_actions: int, num_params: int,
               hidden: Sequence[int], log_std_rows: int) -> dict:
    """``{"disc": logits tower, "param": mean tower, "log_std": zeros[rows, P]}``."""
    k_d, k_p = jax.random.split(key)
    return {"disc": init_mlp(k_d, [obs_dim, *hidden, num_actions]),
            "param": init_mlp(k_p, [obs_dim, *hidden, num_params]),
            "log_std": jnp.zeros((log_std_rows, num_params), jnp.float32)}


def actor_forward(params: dict, obs: jax.Array,
                  log_std_offset: float) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``obs [..., obs_dim] -> (logits [..., K], mean [..., P] in (-1, 1), log_std [P])``."""
    logits = mlp_forward(params["disc"], obs)
    mean = jnp.tanh(mlp_forward(params["param"], obs))
    log_std = jnp.sum(params["log_std"], axis=0) + log_std_offset
    return logits, mean, log_std


def init_critic(key: jax.Array, obs_dim: int, hidden: Sequence[int]) -> Mlp:
    return init_mlp(key, [obs_dim, *hidden, 1])


def critic_forward(params: Mlp, obs: jax.Array) -> jax.Array:
    """``obs [..., obs_dim] -> V [...]``."""
    return mlp_forward(params, obs)[..., 0]
