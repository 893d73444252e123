"""P-DQN, MP-DQN and PDQN-TD3 as harness agents (PureJaxRL style).

The env-step loop, replay, update schedule and episode statistics are ``common.offpolicy``'s;
the learner (Q-network = critic, parameter network = actor, their targets and Adam states) is a
``common.td3.ActorCritic``; ``PDQNState`` adds the OU state. The harness can ``vmap`` seeds and
``jit`` a whole chunk.

Per env step, as in ``cycraig/MP-DQN`` ``agents/pdqn.py`` (spec §7.2):

1. ``x = x_theta(s)`` (all parameters); with probability epsilon a uniform random k, else
   ``argmax_k Q(s, x)``. With OU noise on (the published setting) an exploring step keeps
   ``x_theta(s)`` and the OU sample is added to the chosen action's parameters only; with it
   off an exploring step draws all parameters uniformly. The executed ``x`` is clipped to
   [-1, 1], the declared action space, and stored clipped [choice]. Platform's and Goal's
   original envs clip in raw units themselves; HyAR's Catch Point / Hard Move envs do not,
   so there its agents can execute |x| > 1, but only by the OU noise (sigma 1e-4): inverting
   gradients keep ``x_theta(s)`` inside the bounds, so the clip barely binds.
2. Store ``(s, k, x, r * reward_scale, s', terminated)`` (MP-DQN: only k's slice of x, which is
   all its ``Q_k`` reads; P-DQN's single pass reads all of x, so it stores all P parameters:
   Hard Move n=10, buffer 1e5 -> ~0.4 GB per seed); ``s'`` is the pre-reset final
   observation, and truncation bootstraps (``terminated`` only) -- the suite's convention,
   except with a clock in the observation (``common.ends_value``); the original treated the
   gym ``TimeLimit`` end as terminal.
3. Once ``env_steps >= max(batch_size, learning_starts)``: one update per env step -- Q-network
   on the MSE TD loss, then the parameter network with inverting gradients through the
   *updated* Q-network, global-norm gradient clipping on both, then Polyak target updates.
4. Epsilon anneals linearly per finished episode (``epsilon_episodes``) to ``epsilon_final``.

``act(..., deterministic=True)`` is greedy with ``x_theta(s)``; ``deterministic=False`` uses
epsilon-greedy k at the current epsilon without parameter noise (the OU state is part of the
training stream only).

Variants are config fields (``register_preset``): ``mpdqn`` is ``multipass=True``, ``pdqn_td3``
is ``twin=True``. PDQN-TD3 (``twin``): two Q-networks (stacked), both regressing to
``r + gamma V'`` at ``x'(s') + clip(N(0, target_noise), +-target_noise_clip)`` (no noise and
no clipping of ``x'`` when ``target_noise`` is 0), the parameter network ascending
``sum_k Q1``. Two readings (``config``): by default TD3's standard mechanics [choice]
(``V' = max_k min(Q1', Q2')``, smoothing 0.2 clipped 0.5, the parameter network and both
targets every ``policy_delay = 2`` updates); under ``reading="hyar"`` HyAR's
``agents/pdqn_td3.py``: ``V' = min(max_k Q1', max_k Q2')``, no smoothing, no delay, and Q2
computed with Q1's output layer (``twin_shared_output``).

``end_episode_at_eval`` (``common.offpolicy``): HyAR's Platform / Goal scripts end the
training episode at each evaluation point (they play it out with the agent, neither storing
nor counting those steps, then reset); the suite resets there directly, which leaves replay,
counters and learning the same (only the env's random stream differs) [choice].

[deviation] HyAR's ``agents/pdqn.py`` and ``pdqn_hard_goal.py`` at ``ece9562`` choose the
discrete action uniformly at random on every call (``if rnd < 1.0``, where ``pdqn_MPE.py`` and
``pdqn_td3*.py`` test ``rnd < self.epsilon``), in evaluation too. The ``hyar`` reading keeps
epsilon-greedy (a P-DQN that never uses its Q-network's choice is not P-DQN);
``random_k=True`` restores the released behaviour (k uniform in ``act`` and ``explore``,
deterministic evaluation included; x and its OU noise as before). Measured under the ``hyar``
reading at 200k env steps, 3 seeds: Goal success 0.01, Platform return 0.20, against the
published 0.70 / 0.93 (``results/runs/hyar_table2_random_k``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from pamdp_bench.agents import register_agent, register_preset
from pamdp_bench.baselines.common import hybrid_head, linear_decay, td3
from pamdp_bench.baselines.common.noise import ou_init, ou_step
from pamdp_bench.baselines.common.offpolicy import OffPolicyAgent, OffPolicyState
from pamdp_bench.baselines.common.optim import adam
from pamdp_bench.baselines.pdqn import config as config_lib
from pamdp_bench.baselines.pdqn import losses, networks
from pamdp_bench.baselines.pdqn.config import PDQNConfig


@struct.dataclass
class PDQNState(OffPolicyState):
    ou: jax.Array  # OU noise state over all parameters


@register_agent("pdqn")
class PDQNAgent(OffPolicyAgent):
    """P-DQN (Xiong et al. 2018) with the MP-DQN code's details; see the module docstring."""

    paper_url: ClassVar[str] = "https://arxiv.org/abs/1810.06394"
    INIT_KEYS: ClassVar[int] = 2  # Q-network, parameter network
    ACT_KEYS: ClassVar[int] = 4  # explore?, random k, OU, uniform x
    STATE: ClassVar[type] = PDQNState
    LABEL: ClassVar[str] = "P-DQN"
    NEEDS_PARAMS: ClassVar[bool] = True
    CONFIG_READINGS: ClassVar[tuple[str, ...]] = config_lib.READINGS

    def __init__(self, env: Any, env_params: Any, config: PDQNConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg = self.config
        self.param_owner = hybrid_head.param_owner(self.space)
        # Frozen (never trained): constants of the agent, not part of the train state.
        self.passthrough = networks.make_passthrough(cfg.passthrough_bias,
                                                     cfg.passthrough_weights, self.num_params,
                                                     self.obs_dim)
        self.critic_tx = adam(cfg.lr_critic, cfg.max_grad_norm)
        self.actor_tx = adam(cfg.lr_actor, cfg.max_grad_norm)
        self.learning_starts = max(cfg.batch_size, cfg.learning_starts)
        # MP-DQN's Q_k only reads action k's parameters, so its replay keeps k's slice only
        # (exact, and P / max_param_dim times smaller: Hard Move n=10 stores 1 float, not 1024).
        self.stored_x_dim = self.max_param_dim if cfg.multipass else self.num_params

    @classmethod
    def default_config(cls, env_id: str, reading: str | None = None) -> PDQNConfig:
        return config_lib.default_config(env_id, reading=reading)

    # --------------------------------------------------------------- networks
    def x_fn(self, x_params: Any, obs: jax.Array) -> jax.Array:
        return networks.param_forward(x_params, self.passthrough, obs)

    def q_fn(self, q_params: Any, obs: jax.Array, x: jax.Array) -> jax.Array:
        """Batched Q-values of one critic: ``[B, obs_dim], [B, P] -> [B, K]``."""
        if self.config.multipass:
            return jax.vmap(networks.q_forward_multipass, in_axes=(None, 0, 0, None, None))(
                q_params, obs, x, self.param_owner, self.num_actions)
        return networks.q_forward(q_params, obs, x)

    def _critic0(self, q_params: Any) -> Any:
        return td3.first_critic(q_params) if self.config.twin else q_params

    def _greedy(self, state: PDQNState, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        ac = state.learner
        x = self.x_fn(ac.actor.params, obs)
        q = self.q_fn(self._critic0(ac.critic.params), obs[None], x[None])[0]
        return jnp.argmax(q).astype(jnp.int32), x

    def epsilon(self, episodes: jax.Array) -> jax.Array:
        cfg = self.config
        return linear_decay(episodes, cfg.epsilon_initial, cfg.epsilon_final,
                            cfg.epsilon_episodes)

    def _epsilon_greedy(self, greedy_k: jax.Array, episodes: jax.Array, e_key: jax.Array,
                        k_key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(k, explored)``: a uniform k with probability epsilon (always with
        ``random_k``), else ``greedy_k``."""
        explore = jax.random.uniform(e_key) < self.epsilon(episodes)
        if self.config.random_k:
            explore = jnp.ones_like(explore)
        rand_k = jax.random.randint(k_key, (), 0, self.num_actions, dtype=jnp.int32)
        return jnp.where(explore, rand_k, greedy_k), explore

    # --------------------------------------------------------------- protocol
    def act(self, state: PDQNState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        k, x = self._greedy(state, obs)
        if not deterministic or self.config.random_k:
            k, _ = self._epsilon_greedy(k, state.episodes, *jax.random.split(key))
        return k, jnp.clip(x, -1.0, 1.0)

    # --------------------------------------------------------------- off-policy hooks
    def init_parts(self, keys: Sequence[jax.Array], obs: jax.Array) -> tuple:
        cfg = self.config
        k_q, k_x = keys

        def init_q(k: jax.Array) -> Any:
            return networks.init_q_network(k, self.obs_dim, self.num_params, self.num_actions,
                                           cfg.hidden_q, cfg.q_output_init_std,
                                           cfg.init_scheme)

        q_params = td3.init_critics(init_q, k_q, 2 if cfg.twin else None)
        x_params = networks.init_param_network(k_x, self.obs_dim, self.num_params,
                                               cfg.hidden_param, cfg.param_output_init_std,
                                               cfg.init_scheme)
        learner = td3.ActorCritic.create(x_params, self.actor_tx, q_params, self.critic_tx)
        item = {"obs": obs, "k": jnp.int32(0), "x": jnp.zeros((self.stored_x_dim,), jnp.float32),
                "reward": jnp.float32(0.0), "next_obs": obs, "terminated": jnp.bool_(False)}
        return learner, item, {"ou": ou_init(self.num_params)}

    def explore(self, s: PDQNState, keys: Sequence[jax.Array]) -> tuple:
        cfg = self.config
        e_key, k_key, ou_key, u_key = keys
        greedy_k, x = self._greedy(s, s.obs)
        k, explore = self._epsilon_greedy(greedy_k, s.episodes, e_key, k_key)
        ou = s.ou
        if cfg.use_ou:
            ou = ou_step(ou_key, ou, 0.0, cfg.ou_theta, cfg.ou_sigma)
            x = x + jnp.where(self.param_owner == k, ou, 0.0)
        else:
            x = jnp.where(explore, jax.random.uniform(u_key, x.shape, jnp.float32, -1.0, 1.0), x)
        x = jnp.clip(x, -1.0, 1.0)
        return (k, x), (k, x), s.replace(ou=ou)

    def transition(self, s: PDQNState, aux: tuple, reward: jax.Array, next_obs: jax.Array,
                   ends: jax.Array) -> dict[str, Any]:
        k, x = aux
        x_stored = self.space.to_padded((k, x))[1] if self.config.multipass else x
        return {"obs": s.obs, "k": k, "x": x_stored, "reward": reward * self.config.reward_scale,
                "next_obs": next_obs, "terminated": ends}

    def update(self, ac: td3.ActorCritic, s: PDQNState, key: jax.Array) -> tuple:
        cfg = self.config
        s_key, n_key = jax.random.split(key)
        batch = self.replay.sample(s.buffer, s_key).experience
        if cfg.multipass:  # stored k's slice only: back to the flat layout (others zero)
            x_flat = jax.vmap(lambda k, xp: self.space.from_padded((k, xp))[1])(
                batch["k"], batch["x"])
            batch = {**batch, "x": x_flat}
        tie = networks.shared_output if cfg.twin and cfg.twin_shared_output else None
        ac, (loss_q, q_taken), (loss_p, _) = td3.configured_update(
            ac, cfg, s.updates, n_key, (cfg.batch_size, self.num_params),
            lambda q, noise: losses.q_loss(q, ac.critic_target, ac.actor_target, batch,
                                           cfg.gamma, self.q_fn, self.x_fn, twin=cfg.twin,
                                           noise=noise, twin_target=cfg.twin_target,
                                           tie_output=tie),
            lambda x, q: losses.param_loss(x, q, batch["obs"], self.q_fn, self.x_fn,
                                           inverting=cfg.inverting_gradients),
            self._critic0)
        return ac, {"loss_q": loss_q, "loss_param": loss_p, "q_taken": jnp.mean(q_taken)}

    def chunk_metrics(self, s: PDQNState, sums: dict, denom: jax.Array) -> dict:
        return {**super().chunk_metrics(s, sums, denom), "epsilon": self.epsilon(s.episodes)}


PDQN = PDQNAgent
MPDQN = register_preset(
    "mpdqn", PDQNAgent, lambda env_id: config_lib.default_config(env_id, multipass=True),
    readings=(),  # HyAR ran no multi-pass agent
    paper_url="https://arxiv.org/abs/1905.04388",
    doc="MP-DQN (Bester, James, Konidaris 2019): P-DQN with the multi-pass Q-network.")
PDQNTD3 = register_preset(
    "pdqn_td3", PDQNAgent,
    lambda env_id, reading=None: config_lib.default_config(env_id, twin=True, reading=reading),
    readings=config_lib.READINGS,
    doc="PDQN-TD3 (HyAR's Table 2 row): P-DQN with twin critics (see the module docstring).")

__all__ = ["MPDQN", "PDQN", "PDQNAgent", "PDQNState", "PDQNTD3"]
