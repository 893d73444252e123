"""HyAR-TD3 and HyAR-DDPG (Li et al., ICLR 2022, arXiv 2109.05490) as harness agents.

Faithful to the official code (``TJU-DRL-LAB/self-supervised-rl``, ``HyAR_RL/main_embedding_*``,
``embedding/ActionRepresentation_vae.py``, ``agents/P_TD3_relable.py`` @ ``ece9562``; spec §7.1;
each default's source is in ``config.py``):

1. **Warm-up** (inside the first ``train`` call; not counted toward the budget, reported
   cumulatively as ``metrics["warmup_steps"]``): ``warmup_episodes`` episodes of uniform random
   ``(k, x)`` (the original's ``PDQNAgent.act`` at epsilon 1 without OU noise) fill the VAE
   buffer with ``(s, k, x_k, s' - s)``; then ``vae_train(5000)``: VAE steps until at least
   ``vae_pretrain_steps`` were done and ``mean(last 5) + 1e-5 >= mean(last 10)`` (cap +10);
   then the LSC bounds and ``recon_s`` from ``lsc_samples`` encoder samples.
2. **Acting**: the actor outputs ``(d_emb, p_emb)`` in [-1, 1]; Gaussian noise with std
   decaying 1.0 -> 0.1 over 1000 training episodes, clipped to [-1, 1]; k = nearest
   embedding; ``x_k = decoder(s, p_emb mapped into the LSC bounds, tanh(E_k))``.
3. **Storing**: the RL replay keeps ``(s, k, x_k, d_emb, p_emb, s', s' - s, r, terminated)``
   (the noisy latent actions); the VAE buffer keeps ``(s, k, x_k, s' - s)``. ``s'`` is the
   pre-reset final observation; truncation bootstraps (``terminated`` only): the suite's
   convention, except with a clock in the observation (``common.ends_value``; the original
   stored its loop's terminal flag, which includes the cap).
4. **Learning**: once ``learning_starts`` training steps were taken, one update per env step:
   relabel the batch (RSC, ``losses.relabel``), TD3 critic step (twin critics, target smoothing
   0.1 clipped 0.5), every 2nd update the actor (inverting gradients on both heads, grad-norm
   clip 10) and Polyak targets. DDPG (``twin=False``, the ``hyar_ddpg`` preset): one critic,
   no smoothing, every step.
5. **Representation upkeep**: when a training episode ends, if ``episodes % 10 == 0`` and
   ``episodes >= 1000``, a ``vae_train(1)`` call (one VAE step; its convergence check always
   passes after one step, then fresh LSC bounds / ``recon_s``) becomes due. [choice] Due calls
   run at the next env step that is a multiple of ``vae_sync_steps`` (default 32; 1 = the
   original's timing, right after the episode): the same calls, at most 31 steps late, so that
   the vmapped seeds train their VAEs on the same steps (see below).

jit / vmap layout. The harness ``vmap``s seeds, which turns a ``lax.cond`` with a per-seed
predicate into both branches. The rare, expensive pieces (the warm-up phase, every VAE
training call with its ``lsc_samples``-sample LSC pass) therefore sit in ``lax.while_loop``s
whose trip count is 0 unless some seed needs them: a batched ``while_loop`` runs while *any*
lane's predicate holds (and keeps the other lanes' carries), so the warm-up loop costs nothing
after the first call. The online calls would still make every seed compute a masked-out
``lsc_samples``-sample pass whenever *any* seed finishes a 10th episode (Platform: about every
30 / n_seeds steps), so the per-seed cost would grow with the seed count; ``vae_sync_steps``
gathers them on steps every seed shares. A batched ``while_loop`` also ``select``s
its whole carry each iteration; the warm-up env loop carries the VAE buffer, so it steps in
scans of ``warmup_block`` env steps between checks (one copy per block, not per step; the
stop overshoots by at most ``warmup_block - 1`` random steps, see ``config``). The online-VAE
loop leaves the buffers out of its carry. The per-step RL update uses ``lax.cond`` (both
branches are cheap or needed). Memory: the VAE buffer holds ``vae_buffer_size`` items of
``2 obs_dim + max_param_dim + 1`` floats (Platform 1e6 x 20 x 4 B = 80 MB per seed; Goal /
Hard Goal 2e6 x 37 x 4 B = 296 MB per seed); it is a ring, so warm-up + training beyond its
size overwrites the oldest items, as the original's.

Evaluation points (``end_episode_at_eval``, on for Platform / Goal / Hard Goal as in their
scripts): at each ``eval_freq`` step the original plays the running training episode to its
end with the noise-free policy (``main_embedding_platform_td3.py:355-381``), neither storing,
counting nor training on those steps, then starts a new episode; the suite ends the episode
there with a reset (``common.offpolicy``), which leaves replay, counters, schedules and
learning the same [choice: the played-out steps only move the env's random stream].

[choice] one RL update per env step (the original also updates once at each episode start);
the online VAE step runs right after the episode's last step (the original: after the
episode loop, the same point).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from pamdp_bench.agents import register_agent, register_preset
from pamdp_bench.baselines.common import linear_decay, td3, tree_where
from pamdp_bench.baselines.common.offpolicy import OffPolicyAgent
from pamdp_bench.baselines.common.optim import adam, train_state
from pamdp_bench.baselines.common.replay import make_replay
from pamdp_bench.baselines.hyar import config as config_lib
from pamdp_bench.baselines.hyar import losses, networks
from pamdp_bench.baselines.hyar import vae as vae_lib
from pamdp_bench.baselines.hyar.config import HyARConfig
from pamdp_bench.baselines.hyar.representation import HyARState, Representation, converged


@register_agent("hyar_td3")
class HyARAgent(Representation, OffPolicyAgent):
    """HyAR; see the module docstring."""

    paper_url: ClassVar[str] = "https://arxiv.org/abs/2109.05490"
    INIT_KEYS: ClassVar[int] = 3  # actor, critics, VAE
    ACT_KEYS: ClassVar[int] = 2  # noise on d_emb, on p_emb
    STATE: ClassVar[type] = HyARState
    LABEL: ClassVar[str] = "HyAR"
    NEEDS_PARAMS: ClassVar[bool] = True

    def __init__(self, env: Any, env_params: Any, config: HyARConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg = self.config
        if cfg.warmup_episodes < 1:
            raise ValueError("HyAR needs at least one warm-up episode to train its VAE")
        self.num_critics = 2 if cfg.twin else 1
        self.actor_tx = adam(cfg.lr_actor, cfg.actor_max_grad_norm)
        self.critic_tx = adam(cfg.lr_critic)
        self.vae_tx = adam(cfg.vae_lr)
        self.vae_replay = make_replay(cfg.vae_buffer_size, cfg.vae_batch_size)
        # Same buffer state, the LSC pass's sample size.
        self.lsc_replay = make_replay(cfg.vae_buffer_size, cfg.lsc_samples)

    @classmethod
    def default_config(cls, env_id: str) -> HyARConfig:
        return config_lib.default_config(env_id)

    # --------------------------------------------------------------- pieces
    def q_fn(self, critic: Any, obs: jax.Array, d: jax.Array, p: jax.Array) -> jax.Array:
        return networks.critic_forward(critic, obs, d, p)

    def actor_fn(self, actor: Any, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        return networks.actor_forward(actor, obs)

    def expl_std(self, episodes: jax.Array) -> jax.Array:
        cfg = self.config
        return linear_decay(episodes, cfg.expl_noise_initial, cfg.expl_noise_final,
                            cfg.expl_noise_episodes)

    def decode_action(self, vae: Any, bounds: jax.Array, obs: jax.Array, d_emb: jax.Array,
                      p_emb: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Latent action -> ``(k, z [P], x_pad [max_param_dim])`` for one observation."""
        k = vae_lib.nearest(vae, d_emb)
        x_hat, _ = vae_lib.decode(vae, obs, vae_lib.to_latent(p_emb, bounds),
                                  vae_lib.embed(vae, k))
        x_pad = jnp.where(self.space.param_mask(k), x_hat, 0.0)
        return k, self.space.from_padded((k, x_pad))[1], x_pad

    def _noisy_latent(self, s: HyARState, obs: jax.Array, kd: jax.Array,
                      kp: jax.Array) -> tuple[jax.Array, jax.Array]:
        d, p = self.actor_fn(s.learner.actor.params, obs)
        std = self.expl_std(s.episodes)
        return (jnp.clip(d + std * jax.random.normal(kd, d.shape), -1.0, 1.0),
                jnp.clip(p + std * jax.random.normal(kp, p.shape), -1.0, 1.0))

    # --------------------------------------------------------------- protocol
    def act(self, state: HyARState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        if deterministic:
            d, p = self.actor_fn(state.learner.actor.params, obs)
        else:
            d, p = self._noisy_latent(state, obs, *jax.random.split(key))
        k, z, _ = self.decode_action(state.vae.params, state.bounds, obs, d, p)
        return k, z

    def chunk_metrics(self, s: HyARState, acc: dict, denom: jax.Array) -> dict:
        return {
            "loss_critic": acc["loss_critic"] / denom,
            "loss_actor": acc["loss_actor"] / jnp.maximum(acc["actor_updates"], 1),
            "q": acc["q"] / denom,
            "discrete_kept_rate": acc["discrete_kept"] / denom,
            "param_kept_rate": acc["param_kept"] / denom,
            "expl_std": self.expl_std(s.episodes),
            "warmup_steps": s.warmup_steps,
            "vae_steps": s.vae_steps,
            "vae_loss": s.vae_loss,
            "recon_s": s.recon_s,
            "latent_width": jnp.mean(s.bounds[:, 1] - s.bounds[:, 0]),
        }

    # --------------------------------------------------------------- off-policy hooks
    def init_parts(self, keys: Sequence[jax.Array], obs: jax.Array) -> tuple:
        cfg = self.config
        k_a, k_c, k_v = keys
        actor = networks.init_actor(k_a, self.obs_dim, cfg.discrete_emb_dim, cfg.param_emb_dim,
                                    cfg.hidden)
        adim = cfg.discrete_emb_dim + cfg.param_emb_dim
        critic = td3.init_critics(
            lambda k: networks.init_critic(k, self.obs_dim, adim, cfg.hidden), k_c,
            self.num_critics)
        vae = vae_lib.init_vae(k_v, self.obs_dim, self.num_actions, cfg.discrete_emb_dim,
                               self.max_param_dim, cfg.param_emb_dim, cfg.vae_hidden)
        learner = td3.ActorCritic.create(actor, self.actor_tx, critic, self.critic_tx)
        x0 = jnp.zeros((self.max_param_dim,), jnp.float32)
        d0 = jnp.zeros((cfg.discrete_emb_dim,), jnp.float32)
        p0 = jnp.zeros((cfg.param_emb_dim,), jnp.float32)
        rl_item = {"obs": obs, "k": jnp.int32(0), "x": x0, "d_emb": d0, "p_emb": p0,
                   "next_obs": obs, "ds": obs, "reward": jnp.float32(0.0),
                   "terminated": jnp.bool_(False)}
        vae_item = {"obs": obs, "k": jnp.int32(0), "x": x0, "ds": obs}
        bounds = jnp.tile(jnp.array([[-1.0, 1.0]], jnp.float32), (cfg.param_emb_dim, 1))
        i0, f0 = jnp.int32(0), jnp.float32(0.0)
        extra = {"vae": train_state(vae, self.vae_tx),
                 "vae_buffer": self.vae_replay.init(vae_item), "bounds": bounds,
                 "recon_s": f0, "vae_loss": f0, "warmed": jnp.bool_(False),
                 "warmup_episodes": i0, "warmup_steps": i0, "vae_pending": i0, "vae_steps": i0}
        return learner, rl_item, extra

    def explore(self, s: HyARState, keys: Sequence[jax.Array]) -> tuple:
        d, p = self._noisy_latent(s, s.obs, *keys)
        k, z, x_pad = self.decode_action(s.vae.params, s.bounds, s.obs, d, p)
        return (k, z), (k, x_pad, d, p), s

    def transition(self, s: HyARState, aux: tuple, reward: jax.Array, next_obs: jax.Array,
                   ends: jax.Array) -> dict[str, Any]:
        k, x_pad, d, p = aux
        return {"obs": s.obs, "k": k, "x": x_pad, "d_emb": d, "p_emb": p, "next_obs": next_obs,
                "ds": next_obs - s.obs, "reward": reward, "terminated": ends}

    def after_step(self, s: HyARState, item: dict, done: jax.Array) -> HyARState:
        cfg = self.config
        due = (done & (s.episodes % cfg.vae_interval == 0)
               & (s.episodes >= cfg.vae_online_start))
        vae_item = {n: item[n] for n in ("obs", "k", "x", "ds")}
        return s.replace(vae_buffer=self.vae_replay.add(s.vae_buffer, vae_item),
                         vae_pending=s.vae_pending + due.astype(jnp.int32))

    def after_update(self, s: HyARState) -> HyARState:
        return self._online_vae(s)

    def update(self, ac: td3.ActorCritic, s: HyARState, key: jax.Array) -> tuple:
        cfg = self.config
        k_s, k_r, k_nd, k_np = jax.random.split(key, 4)
        batch = self.replay.sample(s.buffer, k_s).experience
        d_kept = p_kept = jnp.ones((cfg.batch_size,), jnp.bool_)
        if cfg.relabel:
            d_new, p_new, d_kept, p_kept = losses.relabel(
                s.vae.params, k_r, batch, s.bounds, s.recon_s,
                discrete_noise=cfg.relabel_discrete_noise, noise_clip=cfg.target_noise_clip,
                state_factor=cfg.relabel_state_factor,
                predict_in_latent=cfg.relabel_predict_in_latent,
                log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max)
            batch = {**batch, "d_emb": d_new, "p_emb": p_new}
        noise = None
        if cfg.twin:
            noise = tuple(td3.smoothing_noise(k, batch[n].shape, cfg.target_noise,
                                              cfg.target_noise_clip)
                          for k, n in ((k_nd, "d_emb"), (k_np, "p_emb")))
        # TD3 counts updates from 1: the actor and both targets move on the 2nd, 4th, ...
        # update. Computed every update and selected: skipping it in a while_loop (a real
        # branch under vmap, since every seed shares ``updates``) measured no faster on CPU.
        delayed = td3.is_delayed(s.updates, cfg.policy_delay if cfg.twin else 1)
        ac, (lc, q), (la, _) = td3.actor_critic_update(
            ac,
            lambda c: losses.critic_loss(c, ac.critic_target, ac.actor_target, batch, cfg.gamma,
                                         self.q_fn, self.actor_fn, noise),
            lambda a, c0: losses.actor_loss(a, c0, batch["obs"], self.q_fn, self.actor_fn,
                                            inverting=cfg.inverting_gradients),
            tau_critic=cfg.tau, tau_actor=cfg.tau, actor_critic_of=td3.first_critic,
            delayed=delayed)
        return ac, {"loss_critic": lc, "loss_actor": tree_where(delayed, la, jnp.float32(0.0)),
                    "q": jnp.mean(q), "discrete_kept": jnp.mean(d_kept),
                    "param_kept": jnp.mean(p_kept), "actor_updates": delayed.astype(jnp.int32)}


HyARTD3 = HyARAgent
HyARDDPG = register_preset(
    "hyar_ddpg", HyARAgent, lambda env_id: config_lib.default_config(env_id, twin=False),
    doc="HyAR with a DDPG agent in the latent action space (``twin=False``).")

__all__ = ["HyARAgent", "HyARDDPG", "HyARState", "HyARTD3", "converged"]
