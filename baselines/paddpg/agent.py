"""PA-DDPG (Hausknecht & Stone 2016) and PATD3 as harness agents (PureJaxRL style).

Faithful to HyAR's ``Raw_RL`` runs of ``agents/P_DDPG.py`` / ``agents/P_TD3.py`` (spec §7.1;
every default's source is in ``config.py``). The env-step loop, replay, update schedule and
episode statistics are ``common.offpolicy``'s, the learner a ``common.td3.ActorCritic``; the
harness can ``vmap`` seeds and ``jit`` a chunk. ``patd3`` is the preset ``twin=True``.

Per env step:

1. ``a = clip(mu(s) + N(0, std^2), -1, 1)`` on the whole actor output ``[K scores | P
   parameters]`` (the continuous relaxation); ``k = argmax(a[:K])``, executed parameters
   ``z = a[K:]`` (the env reads k's slice). ``std`` decays linearly per finished episode
   from ``expl_noise_initial`` to ``expl_noise_final`` over ``expl_noise_episodes``.
2. Store ``(s, a, r * reward_scale, s', terminated)`` with the whole ``a`` (as the original
   stores ``discrete_emb`` = all scores, ``parameter_emb`` = all parameters). ``s'`` is the
   pre-reset final observation; truncation bootstraps (``terminated`` only) -- the suite's
   convention, except with a clock in the observation (``common.ends_value``); the original
   treated every episode end as terminal. Hard Move n=10 with the published 1e5 replay:
   ``2048 + 2 * obs`` floats per transition, ~0.8 GB per seed.
3. Once ``env_steps >= max(batch_size, learning_starts)``: one update per env step. Critic:
   MSE TD loss (PATD3: twin critics, clipped double Q, target smoothing
   ``clip(N(0, 0.2), +-0.5)`` on scores and parameters, then clip to [-1, 1]). Actor (PATD3:
   every ``policy_delay``-th update, counted from 1 as the original's ``total_it``):
   inverting gradients on scores and parameters through the *updated* critic (Q1), actor
   global-norm clip (1 DDPG / 10 TD3). Polyak target updates (PATD3: both targets only on
   actor-update steps, as in TD3).

``act(..., deterministic=True)`` is ``argmax`` of the noiseless scores with the noiseless
parameters (HyAR's evaluation); ``deterministic=False`` adds the current exploration noise.
[choice] the original draws the next step's noise before the update of the current step;
here each step's noise is drawn with that step's network (no effect beyond one update lag).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from pamdp_bench.agents import register_agent, register_preset
from pamdp_bench.baselines.common import td3
from pamdp_bench.baselines.common.offpolicy import OffPolicyAgent, OffPolicyState
from pamdp_bench.baselines.common.optim import adam
from pamdp_bench.baselines.paddpg import config as config_lib
from pamdp_bench.baselines.paddpg import losses, networks
from pamdp_bench.baselines.paddpg.config import PADDPGConfig

PADDPGState = OffPolicyState


@register_agent("paddpg")
class PADDPGAgent(OffPolicyAgent):
    """PA-DDPG with HyAR's Raw_RL details; see the module docstring."""

    paper_url: ClassVar[str] = "https://arxiv.org/abs/1511.04143"
    INIT_KEYS: ClassVar[int] = 2  # actor, critic(s)
    ACT_KEYS: ClassVar[int] = 1  # exploration noise

    def __init__(self, env: Any, env_params: Any, config: PADDPGConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg = self.config
        self.action_dim = self.num_actions + self.num_params
        self.actor_tx = adam(cfg.lr_actor, cfg.actor_max_grad_norm)
        self.critic_tx = adam(cfg.lr_critic, cfg.critic_max_grad_norm)
        self.learning_starts = max(cfg.batch_size, cfg.learning_starts)

    @classmethod
    def default_config(cls, env_id: str) -> PADDPGConfig:
        return config_lib.default_config(env_id)

    # --------------------------------------------------------------- networks
    def actor_fn(self, actor: Any, obs: jax.Array) -> jax.Array:
        return networks.actor_forward(actor, obs, self.config.squash)

    def critic_fn(self, critic: Any, obs: jax.Array, action: jax.Array) -> jax.Array:
        return networks.critic_forward(critic, obs, action)

    def _critic0(self, critic: Any) -> Any:
        return td3.first_critic(critic) if self.config.twin else critic

    def expl_noise(self, episodes: jax.Array) -> jax.Array:
        cfg = self.config
        frac = jnp.minimum(episodes.astype(jnp.float32) / cfg.expl_noise_episodes, 1.0)
        return jnp.float32(cfg.expl_noise_initial
                           - (cfg.expl_noise_initial - cfg.expl_noise_final) * frac)

    def split_action(self, a: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Continuous action vector -> executed ``(k = argmax scores, all parameters)``."""
        return jnp.argmax(a[:self.num_actions]).astype(jnp.int32), a[self.num_actions:]

    # --------------------------------------------------------------- protocol
    def act(self, state: PADDPGState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        a = self.actor_fn(state.learner.actor.params, obs)
        if not deterministic:
            a = a + self.expl_noise(state.episodes) * jax.random.normal(key, a.shape)
        k, z = self.split_action(jnp.clip(a, -1.0, 1.0))
        return k, z

    # --------------------------------------------------------------- off-policy hooks
    def init_parts(self, keys: Sequence[jax.Array], obs: jax.Array) -> tuple:
        cfg = self.config
        k_a, k_c = keys
        actor = networks.init_actor(k_a, self.obs_dim, self.action_dim, cfg.hidden_actor)
        critic = td3.init_critics(
            lambda k: networks.init_critic(k, self.obs_dim, self.action_dim, cfg.hidden_critic),
            k_c, 2 if cfg.twin else None)
        learner = td3.ActorCritic.create(actor, self.actor_tx, critic, self.critic_tx)
        item = {"obs": obs, "action": jnp.zeros((self.action_dim,), jnp.float32),
                "reward": jnp.float32(0.0), "next_obs": obs, "terminated": jnp.bool_(False)}
        return learner, item, {}

    def explore(self, s: PADDPGState, keys: Sequence[jax.Array]) -> tuple:
        (n_key,) = keys
        a = self.actor_fn(s.learner.actor.params, s.obs)
        a = jnp.clip(a + self.expl_noise(s.episodes) * jax.random.normal(n_key, a.shape),
                     -1.0, 1.0)
        return self.split_action(a), a, s

    def transition(self, s: PADDPGState, a: jax.Array, reward: jax.Array, next_obs: jax.Array,
                   ends: jax.Array) -> dict[str, Any]:
        return {"obs": s.obs, "action": a, "reward": reward * self.config.reward_scale,
                "next_obs": next_obs, "terminated": ends}

    def update(self, ac: td3.ActorCritic, s: PADDPGState, key: jax.Array) -> tuple:
        cfg = self.config
        s_key, n_key = jax.random.split(key)
        batch = self.replay.sample(s.buffer, s_key).experience
        # Same call shape as P-DQN's update (each agent passes its own losses). TD3's delay:
        # the original increments total_it first, then checks % policy_freq.
        ac, (loss_c, q_taken), (loss_a, _) = td3.configured_update(
            ac, cfg, s.updates, n_key, (cfg.batch_size, self.action_dim),
            lambda c, noise: losses.critic_loss(c, ac.critic_target, ac.actor_target, batch,
                                                cfg.gamma, self.critic_fn, self.actor_fn,
                                                twin=cfg.twin, noise=noise),
            lambda a, c: losses.actor_loss(a, c, batch["obs"], self.critic_fn, self.actor_fn,
                                           self.num_actions, inverting=cfg.inverting_gradients,
                                           invert_scores=cfg.invert_scores),
            self._critic0)
        return ac, {"loss_critic": loss_c, "loss_actor": loss_a, "q_taken": jnp.mean(q_taken)}

    def chunk_metrics(self, s: PADDPGState, sums: dict, denom: jax.Array) -> dict:
        return {**super().chunk_metrics(s, sums, denom), "expl_noise": self.expl_noise(s.episodes)}


PADDPG = PADDPGAgent
PATD3 = register_preset(
    "patd3", PADDPGAgent, lambda env_id: config_lib.default_config(env_id, twin=True),
    doc="PATD3 (HyAR's Table 2 row): twin critics, target smoothing, delayed updates.")

__all__ = ["PADDPG", "PATD3", "PADDPGAgent", "PADDPGState"]
