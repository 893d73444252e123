"""PA-DDPG (Hausknecht & Stone 2016) and PATD3 as harness agents (PureJaxRL style).

Faithful to HyAR's ``Raw_RL`` runs of ``agents/P_DDPG.py`` / ``agents/P_TD3.py`` (spec §7.1;
every default's source is in ``config.py``). One ``train`` chunk is a ``lax.scan`` over env
steps; env state, replay (flashbax), actor, critic(s), their targets and Adam states and the
RNG key live in ``PADDPGState``, so the harness can ``vmap`` seeds and ``jit`` a chunk.

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
3. Once ``env_steps >= learn_start``: one update per env step. Critic: MSE TD loss (PATD3:
   twin critics, clipped double Q, target smoothing ``clip(N(0, 0.2), +-0.5)`` on scores and
   parameters, then clip to [-1, 1]). Actor (PATD3: every ``policy_delay``-th update, counted
   from 1 as the original's ``total_it``): inverting gradients on scores and parameters
   through the *updated* critic (Q1), actor global-norm clip (1 DDPG / 10 TD3). Polyak
   target updates (PATD3: both targets only on actor-update steps, as in TD3).

``act(..., deterministic=True)`` is ``argmax`` of the noiseless scores with the noiseless
parameters (HyAR's evaluation); ``deterministic=False`` adds the current exploration noise.
[choice] the original draws the next step's noise before the update of the current step;
here each step's noise is drawn with that step's network (no effect beyond one update lag).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax
from flax import struct

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.common import ends_value, make_replay, scan_sums, soft_update, tree_where
from pamdp_bench.baselines.paddpg import config as config_lib
from pamdp_bench.baselines.paddpg import losses, networks
from pamdp_bench.baselines.paddpg.config import PADDPGConfig


@struct.dataclass
class PADDPGState:
    key: jax.Array
    env_state: Any
    obs: jax.Array
    actor: Any
    actor_target: Any
    critic: Any  # PATD3: stacked twin critics (leading axis 2)
    critic_target: Any
    actor_opt: Any
    critic_opt: Any
    buffer: Any
    env_steps: jax.Array  # int32, counted toward the budget
    episodes: jax.Array  # int32, finished training episodes (noise schedule)
    updates: jax.Array  # int32, gradient updates done (the original's total_it)
    ep_return: jax.Array  # float32, return of the running training episode


def _tx(lr: float, clip: float) -> optax.GradientTransformation:
    adam = optax.adam(lr)
    return optax.chain(optax.clip_by_global_norm(clip), adam) if clip > 0 else adam


class PADDPGAgent:
    """PA-DDPG with HyAR's Raw_RL details; see the module docstring."""

    name: ClassVar[str] = ""
    TWIN: ClassVar[bool] = False
    paper_url: ClassVar[str] = "https://arxiv.org/abs/1511.04143"

    def __init__(self, env: Any, env_params: Any, config: PADDPGConfig | None = None) -> None:
        cfg = config if config is not None else PADDPGConfig(
            twin=self.TWIN, actor_clip_grad=10.0 if self.TWIN else 1.0)
        if cfg.twin != self.TWIN:
            raise ValueError(f"{type(self).__name__} needs twin={self.TWIN}; the config has "
                             f"twin={cfg.twin}")
        self.env, self.env_params, self.config = env, env_params, cfg
        space = env.pamdp_space
        self.space = space
        self.num_actions = int(space.num_actions)
        self.num_params = int(space.total_param_dim)
        self.action_dim = self.num_actions + self.num_params
        self.obs_dim = int(env.observation_space(env_params).shape[0])
        self.actor_tx = _tx(cfg.lr_actor, cfg.actor_clip_grad)
        self.critic_tx = _tx(cfg.lr_critic, cfg.critic_clip_grad)
        self.replay = make_replay(cfg.buffer_size, cfg.batch_size)
        self.learn_start = max(cfg.batch_size, cfg.learn_start)

    @classmethod
    def default_config(cls, env_id: str) -> PADDPGConfig:
        return config_lib.default_config(env_id, twin=cls.TWIN)

    # --------------------------------------------------------------- networks
    def actor_fn(self, actor: Any, obs: jax.Array) -> jax.Array:
        return networks.actor_forward(actor, obs, self.config.squash)

    def critic_fn(self, critic: Any, obs: jax.Array, action: jax.Array) -> jax.Array:
        return networks.critic_forward(critic, obs, action)

    def _critic0(self, critic: Any) -> Any:
        return jax.tree.map(lambda a: a[0], critic) if self.config.twin else critic

    def expl_noise(self, episodes: jax.Array) -> jax.Array:
        cfg = self.config
        frac = jnp.minimum(episodes.astype(jnp.float32) / cfg.expl_noise_episodes, 1.0)
        return jnp.float32(cfg.expl_noise_initial
                           - (cfg.expl_noise_initial - cfg.expl_noise_final) * frac)

    def split_action(self, a: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Continuous action vector -> executed ``(k = argmax scores, all parameters)``."""
        return jnp.argmax(a[:self.num_actions]).astype(jnp.int32), a[self.num_actions:]

    # --------------------------------------------------------------- protocol
    def init(self, key: jax.Array) -> PADDPGState:
        cfg = self.config
        k_a, k_c, k_env, key = jax.random.split(key, 4)
        obs, env_state = self.env.reset(k_env, self.env_params)
        actor = networks.init_actor(k_a, self.obs_dim, self.action_dim, cfg.hidden_actor)

        def init_c(k: jax.Array) -> Any:
            return networks.init_critic(k, self.obs_dim, self.action_dim, cfg.hidden_critic)

        critic = jax.vmap(init_c)(jax.random.split(k_c, 2)) if cfg.twin else init_c(k_c)
        item = {"obs": obs, "action": jnp.zeros((self.action_dim,), jnp.float32),
                "reward": jnp.float32(0.0), "next_obs": obs, "terminated": jnp.bool_(False)}
        return PADDPGState(
            key=key, env_state=env_state, obs=obs, actor=actor, actor_target=actor,
            critic=critic, critic_target=critic, actor_opt=self.actor_tx.init(actor),
            critic_opt=self.critic_tx.init(critic), buffer=self.replay.init(item),
            env_steps=jnp.int32(0), episodes=jnp.int32(0), updates=jnp.int32(0),
            ep_return=jnp.float32(0.0),
        )

    def act(self, state: PADDPGState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        a = self.actor_fn(state.actor, obs)
        if not deterministic:
            a = a + self.expl_noise(state.episodes) * jax.random.normal(key, a.shape)
        k, z = self.split_action(jnp.clip(a, -1.0, 1.0))
        return k, z

    def train(self, state: PADDPGState, num_env_steps: int) -> tuple[PADDPGState, dict]:
        state, m = scan_sums(self._env_step, state, num_env_steps)
        n_upd, n_ep = m["learned"], m["finished"]
        denom = jnp.maximum(n_upd, 1).astype(jnp.float32)
        metrics = {
            "loss_critic": m["loss_critic"] / denom,
            "loss_actor": m["loss_actor"] / denom,
            "q_taken": m["q_taken"] / denom,
            "updates_in_chunk": n_upd,
            "train_episode_return": jnp.where(n_ep > 0, m["finished_return"] / jnp.maximum(n_ep, 1),
                                              jnp.nan),
            "episodes": state.episodes,
            "expl_noise": self.expl_noise(state.episodes),
            "env_steps": state.env_steps,
        }
        return state, metrics

    # --------------------------------------------------------------- internals
    def _env_step(self, s: PADDPGState) -> tuple[PADDPGState, dict]:
        cfg = self.config
        key, n_key, step_key, upd_key = jax.random.split(s.key, 4)
        a = self.actor_fn(s.actor, s.obs)
        a = jnp.clip(a + self.expl_noise(s.episodes) * jax.random.normal(n_key, a.shape),
                     -1.0, 1.0)
        k, z = self.split_action(a)
        obs, env_state, reward, terminated, truncated, info = self.env.step(
            step_key, s.env_state, (k, z), self.env_params)
        reward = reward.astype(jnp.float32)
        item = {"obs": s.obs, "action": a, "reward": reward * cfg.reward_scale,
                "next_obs": info["final_observation"],
                "terminated": ends_value(self.env, self.env_params, terminated, truncated)}
        buffer = self.replay.add(s.buffer, item)
        env_steps = s.env_steps + 1
        done = terminated | truncated
        ep_return = s.ep_return + reward
        s = s.replace(key=key, env_state=env_state, obs=obs, buffer=buffer,
                      env_steps=env_steps, episodes=s.episodes + done.astype(jnp.int32),
                      ep_return=jnp.where(done, 0.0, ep_return))
        learner = (s.actor, s.actor_target, s.critic, s.critic_target, s.actor_opt,
                   s.critic_opt, s.updates)
        learned = env_steps >= self.learn_start
        learner, m = jax.lax.cond(learned, self._update, self._skip_update, learner,
                                  s.buffer, upd_key)
        actor, actor_target, critic, critic_target, actor_opt, critic_opt, updates = learner
        s = s.replace(actor=actor, actor_target=actor_target, critic=critic,
                      critic_target=critic_target, actor_opt=actor_opt,
                      critic_opt=critic_opt, updates=updates)
        m = {**m, "learned": learned.astype(jnp.int32),
             "finished_return": jnp.where(done, ep_return, 0.0),
             "finished": done.astype(jnp.int32)}
        return s, m

    def _skip_update(self, learner: tuple, buffer: Any, key: jax.Array) -> tuple[tuple, dict]:
        zero = jnp.float32(0.0)
        return learner, {"loss_critic": zero, "loss_actor": zero, "q_taken": zero}

    def _update(self, learner: tuple, buffer: Any, key: jax.Array) -> tuple[tuple, dict]:
        cfg = self.config
        actor, actor_target, critic, critic_target, actor_opt, critic_opt, updates = learner
        s_key, n_key = jax.random.split(key)
        batch = self.replay.sample(buffer, s_key).experience
        noise = None
        if cfg.twin:
            noise = cfg.policy_noise * jax.random.normal(
                n_key, (cfg.batch_size, self.action_dim), jnp.float32)
            noise = jnp.clip(noise, -cfg.noise_clip, cfg.noise_clip)
        (loss_c, q_taken), g_c = jax.value_and_grad(losses.critic_loss, has_aux=True)(
            critic, critic_target, actor_target, batch, cfg.gamma, self.critic_fn,
            self.actor_fn, twin=cfg.twin, noise=noise)
        upd, new_critic_opt = self.critic_tx.update(g_c, critic_opt, critic)
        new_critic = optax.apply_updates(critic, upd)
        (loss_a, _), g_a = jax.value_and_grad(losses.actor_loss, has_aux=True)(
            actor, self._critic0(new_critic), batch["obs"], self.critic_fn, self.actor_fn,
            self.num_actions, inverting=cfg.inverting_gradients,
            invert_scores=cfg.invert_scores)
        upd, new_actor_opt = self.actor_tx.update(g_a, actor_opt, actor)
        new_actor = optax.apply_updates(actor, upd)
        new_critic_target = soft_update(new_critic, critic_target, cfg.tau_critic)
        new_actor_target = soft_update(new_actor, actor_target, cfg.tau_actor)
        updates = updates + 1
        if cfg.twin:  # the original increments total_it first, then checks % policy_freq
            delayed = updates % cfg.policy_delay == 0
            new_actor, new_actor_opt, new_actor_target, new_critic_target = tree_where(
                delayed, (new_actor, new_actor_opt, new_actor_target, new_critic_target),
                (actor, actor_opt, actor_target, critic_target))
        learner = (new_actor, new_actor_target, new_critic, new_critic_target, new_actor_opt,
                   new_critic_opt, updates)
        return learner, {"loss_critic": loss_c, "loss_actor": loss_a,
                         "q_taken": jnp.mean(q_taken)}


@register_agent("paddpg")
class PADDPG(PADDPGAgent):
    """PA-DDPG: one critic, actor and targets updated every step."""


@register_agent("patd3")
class PATD3(PADDPGAgent):
    """PATD3 (HyAR's Table 2 row): twin critics, target smoothing, delayed updates."""

    TWIN: ClassVar[bool] = True


__all__ = ["PADDPG", "PATD3", "PADDPGAgent", "PADDPGState"]
