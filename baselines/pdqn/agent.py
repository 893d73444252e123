"""P-DQN, MP-DQN and PDQN-TD3 as harness agents (PureJaxRL style).

One ``train`` chunk is a ``lax.scan`` over env steps; the env state, the flashbax replay
buffer, both networks, their targets and Adam states, the OU state and the RNG key all live in
``PDQNState``, so the harness can ``vmap`` seeds and ``jit`` a whole chunk.

Per env step, as in ``cycraig/MP-DQN`` ``agents/pdqn.py`` (spec §7.2):

1. ``x = x_theta(s)`` (all parameters); with probability epsilon a uniform random k, else
   ``argmax_k Q(s, x)``. With OU noise on (the published setting) an exploring step keeps
   ``x_theta(s)`` and the OU sample is added to the chosen action's parameters only; with it
   off an exploring step draws all parameters uniformly. The executed ``x`` is clipped to
   [-1, 1] (the original clips in raw units inside the env) [choice: store the clipped x].
2. Store ``(s, k, x, r * reward_scale, s', terminated)`` (MP-DQN: only k's slice of x, which is
   all its ``Q_k`` reads; P-DQN's single pass reads all of x, so it stores all P parameters:
   Hard Move n=10, buffer 1e5 -> ~0.4 GB per seed); ``s'`` is the pre-reset final
   observation, and truncation bootstraps (``terminated`` only) -- the suite's convention,
   except with a clock in the observation (``common.ends_value``); the original treated the
   gym ``TimeLimit`` end as terminal.
3. Once ``env_steps >= max(batch_size, initial_memory)``: one update per env step -- Q-network
   on the MSE TD loss, then the parameter network with inverting gradients through the
   *updated* Q-network, global-norm gradient clipping on both, then Polyak target updates.
4. Epsilon anneals linearly per finished episode (``epsilon_episodes``) to ``epsilon_final``.

``act(..., deterministic=True)`` is greedy with ``x_theta(s)``; ``deterministic=False`` uses
epsilon-greedy k at the current epsilon without parameter noise (the OU state is part of the
training stream only).

PDQN-TD3 (``twin``): two Q-networks (stacked), targets ``r + gamma max_k min(Q1', Q2')`` at
``x'(s') + clip(N(0, target_noise), +-target_noise_clip)``, the parameter network (ascending
Q1) and both targets updated every ``policy_delay`` updates. HyAR's PDQN-TD3 code was not
read for the spec; these are TD3's standard mechanics and constants [choice].
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.common import (
    ends_value,
    make_replay,
    ou_init,
    ou_step,
    scan_sums,
    soft_update,
    tree_where,
)
from pamdp_bench.baselines.pdqn import config as config_lib
from pamdp_bench.baselines.pdqn import losses, networks
from pamdp_bench.baselines.pdqn.config import PDQNConfig


@struct.dataclass
class PDQNState:
    key: jax.Array
    env_state: Any
    obs: jax.Array
    q_params: Any
    q_target: Any
    x_params: Any
    x_target: Any
    q_opt: Any
    x_opt: Any
    buffer: Any
    ou: jax.Array
    env_steps: jax.Array  # int32, counted toward the budget
    episodes: jax.Array  # int32, finished training episodes (epsilon schedule)
    updates: jax.Array  # int32, gradient updates done
    ep_return: jax.Array  # float32, return of the running training episode


class PDQNAgent:
    """P-DQN (Xiong et al. 2018) with the MP-DQN code's details; see the module docstring."""

    name: ClassVar[str] = ""
    MULTIPASS: ClassVar[bool] = False
    TWIN: ClassVar[bool] = False
    paper_url: ClassVar[str] = "https://arxiv.org/abs/1810.06394"

    def __init__(self, env: Any, env_params: Any, config: PDQNConfig | None = None) -> None:
        cfg = config if config is not None else PDQNConfig(
            multipass=self.MULTIPASS, twin=self.TWIN, passthrough_bias=None)
        if (cfg.multipass, cfg.twin) != (self.MULTIPASS, self.TWIN):
            raise ValueError(
                f"{type(self).__name__} needs multipass={self.MULTIPASS}, twin={self.TWIN}; "
                f"the config has multipass={cfg.multipass}, twin={cfg.twin}")
        self.env, self.env_params, self.config = env, env_params, cfg
        space = env.pamdp_space
        self.space = space
        self.num_actions = space.num_actions
        self.num_params = space.total_param_dim
        self.obs_dim = int(env.observation_space(env_params).shape[0])
        if self.num_params == 0:
            raise ValueError("P-DQN needs at least one continuous parameter")
        owner = np.repeat(np.arange(self.num_actions), space.param_dims).astype(np.int32)
        self.param_owner = jnp.asarray(owner)
        bias = np.zeros((self.num_params,), np.float32)
        if cfg.passthrough_bias is not None:
            if len(cfg.passthrough_bias) != self.num_params:
                raise ValueError(f"passthrough_bias has {len(cfg.passthrough_bias)} entries, the "
                                 f"env has {self.num_params} parameters")
            bias[:] = cfg.passthrough_bias
        weights = np.zeros((self.num_params, self.obs_dim), np.float32)
        if cfg.passthrough_weights is not None:
            given = np.asarray(cfg.passthrough_weights, np.float32)
            if given.shape != weights.shape:
                raise ValueError(f"passthrough_weights has shape {given.shape}, the env needs "
                                 f"{weights.shape} (parameters x observation)")
            weights[:] = given
        # Frozen (never trained): constants of the agent, not part of the train state.
        self.passthrough = {"w": jnp.asarray(weights.T), "b": jnp.asarray(bias)}

        def tx(lr: float) -> optax.GradientTransformation:
            adam = optax.adam(lr)
            return optax.chain(optax.clip_by_global_norm(cfg.clip_grad), adam) \
                if cfg.clip_grad > 0 else adam

        self.q_tx, self.x_tx = tx(cfg.lr_q), tx(cfg.lr_param)
        self.replay = make_replay(cfg.buffer_size, cfg.batch_size)
        self.learn_start = max(cfg.batch_size, cfg.initial_memory)
        # MP-DQN's Q_k only reads action k's parameters, so its replay keeps k's slice only
        # (exact, and P / max_param_dim times smaller: Hard Move n=10 stores 1 float, not 1024).
        self.stored_x_dim = space.max_param_dim if cfg.multipass else self.num_params

    # --------------------------------------------------------------- networks
    @classmethod
    def default_config(cls, env_id: str) -> PDQNConfig:
        return config_lib.default_config(env_id, multipass=cls.MULTIPASS, twin=cls.TWIN)

    def x_fn(self, x_params: Any, obs: jax.Array) -> jax.Array:
        return networks.param_forward(x_params, self.passthrough, obs)

    def q_fn(self, q_params: Any, obs: jax.Array, x: jax.Array) -> jax.Array:
        """Batched Q-values of one critic: ``[B, obs_dim], [B, P] -> [B, K]``."""
        if self.config.multipass:
            return jax.vmap(networks.q_forward_multipass, in_axes=(None, 0, 0, None, None))(
                q_params, obs, x, self.param_owner, self.num_actions)
        return networks.q_forward(q_params, obs, x)

    def _critic0(self, q_params: Any) -> Any:
        return jax.tree.map(lambda a: a[0], q_params) if self.config.twin else q_params

    def _greedy(self, state: PDQNState, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        x = self.x_fn(state.x_params, obs)
        q = self.q_fn(self._critic0(state.q_params), obs[None], x[None])[0]
        return jnp.argmax(q).astype(jnp.int32), x

    def epsilon(self, episodes: jax.Array) -> jax.Array:
        cfg = self.config
        frac = episodes.astype(jnp.float32) / cfg.epsilon_episodes
        eps = cfg.epsilon_initial - (cfg.epsilon_initial - cfg.epsilon_final) * frac
        return jnp.where(episodes < cfg.epsilon_episodes, eps, cfg.epsilon_final)

    # --------------------------------------------------------------- protocol
    def init(self, key: jax.Array) -> PDQNState:
        cfg = self.config
        k_q, k_x, k_env, key = jax.random.split(key, 4)
        obs, env_state = self.env.reset(k_env, self.env_params)

        def init_q(k: jax.Array) -> Any:
            return networks.init_q_network(k, self.obs_dim, self.num_params, self.num_actions,
                                           cfg.hidden_q, cfg.q_output_init_std)

        q_params = jax.vmap(init_q)(jax.random.split(k_q, 2)) if cfg.twin else init_q(k_q)
        x_params = networks.init_param_network(k_x, self.obs_dim, self.num_params,
                                               cfg.hidden_param, cfg.param_output_init_std)
        item = {"obs": obs, "k": jnp.int32(0), "x": jnp.zeros((self.stored_x_dim,), jnp.float32),
                "reward": jnp.float32(0.0), "next_obs": obs, "terminated": jnp.bool_(False)}
        return PDQNState(
            key=key, env_state=env_state, obs=obs,
            q_params=q_params, q_target=q_params, x_params=x_params, x_target=x_params,
            q_opt=self.q_tx.init(q_params), x_opt=self.x_tx.init(x_params),
            buffer=self.replay.init(item), ou=ou_init(self.num_params),
            env_steps=jnp.int32(0), episodes=jnp.int32(0), updates=jnp.int32(0),
            ep_return=jnp.float32(0.0),
        )

    def act(self, state: PDQNState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        k, x = self._greedy(state, obs)
        if not deterministic:
            e_key, k_key = jax.random.split(key)
            explore = jax.random.uniform(e_key) < self.epsilon(state.episodes)
            rand_k = jax.random.randint(k_key, (), 0, self.num_actions, dtype=jnp.int32)
            k = jnp.where(explore, rand_k, k)
        return k, jnp.clip(x, -1.0, 1.0)

    def train(self, state: PDQNState, num_env_steps: int) -> tuple[PDQNState, dict]:
        state, m = scan_sums(self._env_step, state, num_env_steps)
        n_upd, n_ep = m["learned"], m["finished"]
        denom = jnp.maximum(n_upd, 1).astype(jnp.float32)
        metrics = {
            "loss_q": m["loss_q"] / denom,
            "loss_param": m["loss_param"] / denom,
            "q_taken": m["q_taken"] / denom,
            "updates_in_chunk": n_upd,
            "train_episode_return": jnp.where(n_ep > 0, m["finished_return"] / jnp.maximum(n_ep, 1),
                                              jnp.nan),
            "episodes": state.episodes,
            "epsilon": self.epsilon(state.episodes),
            "env_steps": state.env_steps,
        }
        return state, metrics

    # --------------------------------------------------------------- internals
    def _env_step(self, s: PDQNState) -> tuple[PDQNState, dict]:
        cfg = self.config
        key, e_key, k_key, ou_key, u_key, step_key, upd_key = jax.random.split(s.key, 7)
        greedy_k, x = self._greedy(s, s.obs)
        explore = jax.random.uniform(e_key) < self.epsilon(s.episodes)
        rand_k = jax.random.randint(k_key, (), 0, self.num_actions, dtype=jnp.int32)
        k = jnp.where(explore, rand_k, greedy_k)
        ou = s.ou
        if cfg.use_ou:
            ou = ou_step(ou_key, ou, 0.0, cfg.ou_theta, cfg.ou_sigma)
            x = x + jnp.where(self.param_owner == k, ou, 0.0)
        else:
            x = jnp.where(explore, jax.random.uniform(u_key, x.shape, jnp.float32, -1.0, 1.0), x)
        x = jnp.clip(x, -1.0, 1.0)
        obs, env_state, reward, terminated, truncated, info = self.env.step(
            step_key, s.env_state, (k, x), self.env_params)
        reward = reward.astype(jnp.float32)
        x_stored = self.space.to_padded((k, x))[1] if cfg.multipass else x
        item = {"obs": s.obs, "k": k, "x": x_stored, "reward": reward * cfg.reward_scale,
                "next_obs": info["final_observation"],
                "terminated": ends_value(self.env, self.env_params, terminated, truncated)}
        buffer = self.replay.add(s.buffer, item)
        env_steps = s.env_steps + 1
        done = terminated | truncated
        ep_return = s.ep_return + reward
        s = s.replace(key=key, env_state=env_state, obs=obs, buffer=buffer, ou=ou,
                      env_steps=env_steps, episodes=s.episodes + done.astype(jnp.int32),
                      ep_return=jnp.where(done, 0.0, ep_return))
        learner = (s.q_params, s.q_target, s.x_params, s.x_target, s.q_opt, s.x_opt, s.updates)
        learned = env_steps >= self.learn_start
        learner, m = jax.lax.cond(learned, self._update, self._skip_update, learner,
                                  s.buffer, upd_key)
        q_params, q_target, x_params, x_target, q_opt, x_opt, updates = learner
        s = s.replace(q_params=q_params, q_target=q_target, x_params=x_params,
                      x_target=x_target, q_opt=q_opt, x_opt=x_opt, updates=updates)
        m = {**m, "learned": learned.astype(jnp.int32),
             "finished_return": jnp.where(done, ep_return, 0.0),
             "finished": done.astype(jnp.int32)}
        return s, m

    def _skip_update(self, learner: tuple, buffer: Any, key: jax.Array) -> tuple[tuple, dict]:
        zero = jnp.float32(0.0)
        return learner, {"loss_q": zero, "loss_param": zero, "q_taken": zero}

    def _update(self, learner: tuple, buffer: Any, key: jax.Array) -> tuple[tuple, dict]:
        cfg = self.config
        q_params, q_target, x_params, x_target, q_opt, x_opt, updates = learner
        s_key, n_key = jax.random.split(key)
        batch = self.replay.sample(buffer, s_key).experience
        if cfg.multipass:  # stored k's slice only: back to the flat layout (others zero)
            x_flat = jax.vmap(lambda k, xp: self.space.from_padded((k, xp))[1])(
                batch["k"], batch["x"])
            batch = {**batch, "x": x_flat}
        noise = None
        if cfg.twin:
            noise = cfg.target_noise * jax.random.normal(
                n_key, (cfg.batch_size, self.num_params), jnp.float32)
            noise = jnp.clip(noise, -cfg.target_noise_clip, cfg.target_noise_clip)
        (loss_q, q_taken), g_q = jax.value_and_grad(losses.q_loss, has_aux=True)(
            q_params, q_target, x_target, batch, cfg.gamma, self.q_fn, self.x_fn,
            twin=cfg.twin, noise=noise)
        upd, new_q_opt = self.q_tx.update(g_q, q_opt, q_params)
        new_q = optax.apply_updates(q_params, upd)
        (loss_p, _), g_x = jax.value_and_grad(losses.param_loss, has_aux=True)(
            x_params, self._critic0(new_q), batch["obs"], self.q_fn, self.x_fn,
            inverting=cfg.inverting_gradients)
        upd, new_x_opt = self.x_tx.update(g_x, x_opt, x_params)
        new_x = optax.apply_updates(x_params, upd)
        new_q_target = soft_update(new_q, q_target, cfg.tau_q)
        new_x_target = soft_update(new_x, x_target, cfg.tau_param)
        if cfg.twin:
            # HyAR / TD3 count updates from 1 (total_it += 1 first): the 2nd, 4th, ... update
            delayed = (updates + 1) % cfg.policy_delay == 0
            new_x, new_x_opt, new_x_target, new_q_target = tree_where(
                delayed, (new_x, new_x_opt, new_x_target, new_q_target),
                (x_params, x_opt, x_target, q_target))
        learner = (new_q, new_q_target, new_x, new_x_target, new_q_opt, new_x_opt, updates + 1)
        return learner, {"loss_q": loss_q, "loss_param": loss_p, "q_taken": jnp.mean(q_taken)}


@register_agent("pdqn")
class PDQN(PDQNAgent):
    """P-DQN: single-pass Q-network over all parameters."""


@register_agent("mpdqn")
class MPDQN(PDQNAgent):
    """MP-DQN (Bester, James, Konidaris 2019): multi-pass Q-network."""

    MULTIPASS: ClassVar[bool] = True
    paper_url: ClassVar[str] = "https://arxiv.org/abs/1905.04388"


@register_agent("pdqn_td3")
class PDQNTD3(PDQNAgent):
    """PDQN-TD3 (HyAR's Table 2 row): twin critics, target smoothing, delayed updates."""

    TWIN: ClassVar[bool] = True


__all__ = ["MPDQN", "PDQN", "PDQNAgent", "PDQNState", "PDQNTD3"]
