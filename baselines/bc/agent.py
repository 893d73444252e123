"""Behaviour cloning (``bc``): maximum likelihood of the dataset's hybrid actions.

The policy maps the observation through a ReLU MLP into ``common.hybrid_head``: K logits and
Gaussian means / log-stds over the flat parameter vector; the loss is ``-log p(k) - log p(z_k |
k)`` (only the chosen action's parameters). Acting: argmax k with the mean parameters
(deterministic), else a draw. flax.linen networks: BC has no original whose initial weights
must be reproduced (unlike the online baselines' ``common.networks``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.struct
import jax
import jax.numpy as jnp

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.bc import config as config_lib
from pamdp_bench.baselines.bc.config import BCConfig
from pamdp_bench.baselines.common import hybrid_head
from pamdp_bench.baselines.common.offline import Data, OfflineAgent, sample_transitions
from pamdp_bench.baselines.common.optim import TrainState, adam, train_state


@flax.struct.dataclass
class BCState:
    policy: TrainState
    key: jax.Array


@register_agent("bc")
class BC(OfflineAgent):
    """Behaviour cloning of hybrid actions; see the module docstring."""

    name: ClassVar[str] = ""

    def __init__(self, env: Any, env_params: Any, config: BCConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg = self.config
        self.slots = hybrid_head.param_slots(self.space)
        self.net = hybrid_head.HybridPolicy(tuple(cfg.hidden), self.num_actions, self.num_params)
        self.tx = adam(cfg.lr, cfg.max_grad_norm)

    @classmethod
    def default_config(cls, env_id: str) -> BCConfig:
        return config_lib.default_config(env_id)

    def init(self, key: jax.Array, data: Data | None = None) -> BCState:
        del data  # BC needs nothing from the dataset before training
        net_key, key = jax.random.split(key)
        params = self.net.init(net_key, jnp.zeros((self.obs_dim,), jnp.float32))
        return BCState(policy=train_state(params, self.tx), key=key)

    def loss(self, params: Any, batch: Data) -> tuple[jax.Array, dict[str, jax.Array]]:
        logits, mean, log_std = self.net.apply(params, batch["obs"])
        logp, logp_k, logp_z = hybrid_head.log_prob(logits, mean, log_std, batch["k"],
                                                     batch["z_pad"], self.slots)
        acc = jnp.mean(jnp.argmax(logits, -1) == batch["k"])
        return -jnp.mean(logp), {"nll_k": -jnp.mean(logp_k), "nll_z": -jnp.mean(logp_z),
                                 "k_accuracy": acc}

    def update(self, state: BCState, data: Data) -> tuple[BCState, dict[str, jax.Array]]:
        key, batch_key = jax.random.split(state.key)
        batch = sample_transitions(batch_key, data, self.config.batch_size)
        (loss, info), grads = jax.value_and_grad(self.loss, has_aux=True)(
            state.policy.params, batch)
        policy = state.policy.apply_gradients(grads=grads)
        return BCState(policy=policy, key=key), {"loss": loss, **info}

    def act(self, state: BCState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        logits, mean, log_std = self.net.apply(state.policy.params, obs)
        if deterministic:
            return hybrid_head.mode(logits, mean)
        return hybrid_head.sample(key, logits, mean, log_std)
