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
4. **Learning**: once ``start_timesteps`` training steps were taken, one update per env step:
   relabel the batch (RSC, ``losses.relabel``), TD3 critic step (twin critics, target smoothing
   0.1 clipped 0.5), every 2nd update the actor (inverting gradients on both heads, grad-norm
   clip 10) and Polyak targets. DDPG (``td3=False``): one critic, no smoothing, every step.
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

[choice] one RL update per env step (the original also updates once at each episode start);
the online VAE step runs right after the episode's last step (the original: after the
episode loop, the same point).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax
from flax import struct

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.common import ends_value, make_replay, scan_sums, soft_update, tree_where
from pamdp_bench.baselines.hyar import config as config_lib
from pamdp_bench.baselines.hyar import losses, networks
from pamdp_bench.baselines.hyar import vae as vae_lib
from pamdp_bench.baselines.hyar.config import HyARConfig


@struct.dataclass
class HyARState:
    key: jax.Array
    env_state: Any
    obs: jax.Array
    actor: Any
    actor_target: Any
    critic: Any  # stacked on a leading axis (2 for TD3, 1 for DDPG)
    critic_target: Any
    actor_opt: Any
    critic_opt: Any
    vae: Any
    vae_opt: Any
    rl_buffer: Any
    vae_buffer: Any
    bounds: jax.Array  # [d2, 2] LSC (down, up)
    recon_s: jax.Array  # state-residual loss from the last LSC pass
    vae_loss: jax.Array  # last VAE training loss
    env_steps: jax.Array  # int32, training steps (counted)
    episodes: jax.Array  # int32, finished training episodes
    updates: jax.Array  # int32, RL updates
    ep_return: jax.Array
    warmed: jax.Array  # bool, warm-up phase done
    warmup_episodes: jax.Array  # int32
    warmup_steps: jax.Array  # int32, uncounted env steps
    vae_pending: jax.Array  # int32, online VAE calls due
    vae_steps: jax.Array  # int32, VAE gradient steps in total


class HyARAgent:
    """HyAR; see the module docstring."""

    name: ClassVar[str] = ""
    TD3: ClassVar[bool] = True
    paper_url: ClassVar[str] = "https://arxiv.org/abs/2109.05490"

    def __init__(self, env: Any, env_params: Any, config: HyARConfig | None = None) -> None:
        cfg = config if config is not None else HyARConfig(td3=self.TD3)
        if cfg.td3 != self.TD3:
            raise ValueError(f"{type(self).__name__} needs td3={self.TD3}; the config has "
                             f"td3={cfg.td3}")
        if cfg.warmup_episodes < 1:
            raise ValueError("HyAR needs at least one warm-up episode to train its VAE")
        self.env, self.env_params, self.config = env, env_params, cfg
        self.space = env.pamdp_space
        self.num_actions = self.space.num_actions
        self.num_params = self.space.total_param_dim
        self.max_param_dim = self.space.max_param_dim
        if self.num_params == 0:
            raise ValueError("HyAR needs at least one continuous parameter")
        self.obs_dim = int(env.observation_space(env_params).shape[0])
        self.num_critics = 2 if cfg.td3 else 1

        def adam(lr: float, clip: float = 0.0) -> optax.GradientTransformation:
            return optax.chain(optax.clip_by_global_norm(clip), optax.adam(lr)) if clip > 0 \
                else optax.adam(lr)

        self.actor_tx = adam(cfg.lr_actor, cfg.actor_grad_clip)
        self.critic_tx = adam(cfg.lr_critic)
        self.vae_tx = optax.adam(cfg.vae_lr)
        self.rl_replay = make_replay(cfg.buffer_size, cfg.batch_size)
        self.vae_replay = make_replay(cfg.vae_buffer_size, cfg.vae_batch_size)
        # Same buffer state, the LSC pass's sample size.
        self.lsc_replay = make_replay(cfg.vae_buffer_size, cfg.lsc_samples)

    @classmethod
    def default_config(cls, env_id: str) -> HyARConfig:
        return config_lib.default_config(env_id, td3=cls.TD3)

    # --------------------------------------------------------------- pieces
    def q_fn(self, critic: Any, obs: jax.Array, d: jax.Array, p: jax.Array) -> jax.Array:
        return networks.critic_forward(critic, obs, d, p)

    def actor_fn(self, actor: Any, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        return networks.actor_forward(actor, obs)

    def expl_std(self, episodes: jax.Array) -> jax.Array:
        cfg = self.config
        frac = episodes.astype(jnp.float32) / cfg.expl_noise_episodes
        std = cfg.expl_noise_initial - (cfg.expl_noise_initial - cfg.expl_noise_final) * frac
        return jnp.where(episodes < cfg.expl_noise_episodes, std, cfg.expl_noise_final)

    def decode_action(self, vae: Any, bounds: jax.Array, obs: jax.Array, d_emb: jax.Array,
                      p_emb: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Latent action -> ``(k, z [P], x_pad [max_param_dim])`` for one observation."""
        k = vae_lib.nearest(vae, d_emb)
        x_hat, _ = vae_lib.decode(vae, obs, vae_lib.to_latent(p_emb, bounds),
                                  vae_lib.embed(vae, k))
        x_pad = jnp.where(self.space.param_mask(k), x_hat, 0.0)
        return k, self.space.from_padded((k, x_pad))[1], x_pad

    # --------------------------------------------------------------- protocol
    def init(self, key: jax.Array) -> HyARState:
        cfg = self.config
        k_a, k_c, k_v, k_env, key = jax.random.split(key, 5)
        obs, env_state = self.env.reset(k_env, self.env_params)
        actor = networks.init_actor(k_a, self.obs_dim, cfg.discrete_emb_dim, cfg.param_emb_dim,
                                    cfg.hidden)
        adim = cfg.discrete_emb_dim + cfg.param_emb_dim
        critic = jax.vmap(lambda k: networks.init_critic(k, self.obs_dim, adim, cfg.hidden))(
            jax.random.split(k_c, self.num_critics))
        vae = vae_lib.init_vae(k_v, self.obs_dim, self.num_actions, cfg.discrete_emb_dim,
                               self.max_param_dim, cfg.param_emb_dim, cfg.vae_hidden)
        x0 = jnp.zeros((self.max_param_dim,), jnp.float32)
        d0 = jnp.zeros((cfg.discrete_emb_dim,), jnp.float32)
        p0 = jnp.zeros((cfg.param_emb_dim,), jnp.float32)
        rl_item = {"obs": obs, "k": jnp.int32(0), "x": x0, "d_emb": d0, "p_emb": p0,
                   "next_obs": obs, "ds": obs, "reward": jnp.float32(0.0),
                   "terminated": jnp.bool_(False)}
        vae_item = {"obs": obs, "k": jnp.int32(0), "x": x0, "ds": obs}
        bounds = jnp.tile(jnp.array([[-1.0, 1.0]], jnp.float32), (cfg.param_emb_dim, 1))
        i0, f0 = jnp.int32(0), jnp.float32(0.0)
        return HyARState(
            key=key, env_state=env_state, obs=obs, actor=actor, actor_target=actor,
            critic=critic, critic_target=critic, actor_opt=self.actor_tx.init(actor),
            critic_opt=self.critic_tx.init(critic), vae=vae, vae_opt=self.vae_tx.init(vae),
            rl_buffer=self.rl_replay.init(rl_item), vae_buffer=self.vae_replay.init(vae_item),
            bounds=bounds, recon_s=f0, vae_loss=f0, env_steps=i0, episodes=i0, updates=i0,
            ep_return=f0, warmed=jnp.bool_(False), warmup_episodes=i0, warmup_steps=i0,
            vae_pending=i0, vae_steps=i0)

    def act(self, state: HyARState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        d, p = self.actor_fn(state.actor, obs)
        if not deterministic:
            kd, kp = jax.random.split(key)
            std = self.expl_std(state.episodes)
            d = jnp.clip(d + std * jax.random.normal(kd, d.shape), -1.0, 1.0)
            p = jnp.clip(p + std * jax.random.normal(kp, p.shape), -1.0, 1.0)
        k, z, _ = self.decode_action(state.vae, state.bounds, obs, d, p)
        return k, z

    def train(self, state: HyARState, num_env_steps: int) -> tuple[HyARState, dict]:
        state = self._warmup_phase(state)
        state, acc = scan_sums(self._env_step, state, num_env_steps)
        denom = jnp.maximum(acc["learned"], 1).astype(jnp.float32)
        n_ep = acc["finished"]
        metrics = {
            "loss_critic": acc["loss_critic"] / denom,
            "loss_actor": acc["loss_actor"] / jnp.maximum(acc["actor_updates"], 1),
            "q": acc["q"] / denom,
            "discrete_kept_rate": acc["discrete_kept"] / denom,
            "param_kept_rate": acc["param_kept"] / denom,
            "updates_in_chunk": acc["learned"],
            "train_episode_return": jnp.where(n_ep > 0, acc["ret_sum"] / jnp.maximum(n_ep, 1),
                                              jnp.nan),
            "episodes": state.episodes,
            "expl_std": self.expl_std(state.episodes),
            "env_steps": state.env_steps,
            "warmup_steps": state.warmup_steps,
            "vae_steps": state.vae_steps,
            "vae_loss": state.vae_loss,
            "recon_s": state.recon_s,
            "latent_width": jnp.mean(state.bounds[:, 1] - state.bounds[:, 0]),
        }
        return state, metrics

    # --------------------------------------------------------------- warm-up / VAE
    def _warmup_phase(self, s: HyARState) -> HyARState:
        """Random episodes + VAE pre-training + LSC, once (0 iterations once ``warmed``)."""
        cfg = self.config

        def env_cond(s: HyARState) -> jax.Array:
            return s.warmup_episodes < cfg.warmup_episodes

        def env_body(s: HyARState) -> HyARState:
            key, kk, kx, ks = jax.random.split(s.key, 4)
            k = jax.random.randint(kk, (), 0, self.num_actions, dtype=jnp.int32)
            z = jax.random.uniform(kx, (self.num_params,), jnp.float32, -1.0, 1.0)
            obs, env_state, _, term, trunc, info = self.env.step(ks, s.env_state, (k, z),
                                                                 self.env_params)
            item = {"obs": s.obs, "k": k, "x": self.space.to_padded((k, z))[1],
                    "ds": info["final_observation"] - s.obs}
            done = (term | trunc).astype(jnp.int32)
            return s.replace(key=key, env_state=env_state, obs=obs,
                             vae_buffer=self.vae_replay.add(s.vae_buffer, item),
                             warmup_episodes=s.warmup_episodes + done,
                             warmup_steps=s.warmup_steps + 1)

        def env_block(s: HyARState) -> HyARState:
            return jax.lax.scan(lambda c, _: (env_body(c), None), s, None,
                                length=cfg.warmup_block)[0]

        def phase(s: HyARState) -> HyARState:
            s = jax.lax.while_loop(env_cond, env_block, s)
            s = self._vae_train(s, cfg.vae_pretrain_steps)
            return s.replace(warmed=jnp.bool_(True))

        return jax.lax.while_loop(lambda s: ~s.warmed, phase, s)

    def _vae_train(self, s: HyARState, train_step: int) -> HyARState:
        """The original ``vae_train``: steps with its convergence check, then the LSC pass."""
        cfg = self.config
        hist0 = jnp.zeros((10,), jnp.float32)  # newest first

        def cond(c: tuple) -> jax.Array:
            _, _, _, n, _, done, _ = c
            return (~done) & (n < train_step + 10)

        def body(c: tuple) -> tuple:
            vae, opt, key, n, hist, _, _ = c
            key, ks, kl = jax.random.split(key, 3)
            batch = self.vae_replay.sample(s.vae_buffer, ks).experience
            (loss, _), g = jax.value_and_grad(vae_lib.vae_loss, has_aux=True)(
                vae, kl, batch, state_weight=cfg.state_recon_weight,
                param_weight=cfg.param_recon_weight, kl_weight=cfg.kl_weight,
                log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max)
            if cfg.vae_fresh_adam:
                opt = self.vae_tx.init(vae)
            upd, opt = self.vae_tx.update(g, opt, vae)
            vae = optax.apply_updates(vae, upd)
            hist = jnp.concatenate([loss[None], hist[:-1]])
            n = n + 1
            done = (n >= train_step) & converged(hist, n, cfg.vae_converge_tol)
            return vae, opt, key, n, hist, done, loss

        key, k_lsc = jax.random.split(s.key)
        c = (s.vae, s.vae_opt, key, jnp.int32(0), hist0, jnp.bool_(False), s.vae_loss)
        vae, opt, key, n, _, _, loss = jax.lax.while_loop(cond, body, c)
        bounds, recon_s = self._lsc(vae, s.vae_buffer, k_lsc)
        return s.replace(vae=vae, vae_opt=opt, key=key, vae_loss=loss, bounds=bounds,
                         recon_s=recon_s, vae_steps=s.vae_steps + n)

    def _lsc(self, vae: Any, buffer: Any, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``get_c_rate``: LSC bounds from encoder samples and the state-residual loss."""
        cfg = self.config
        ks, kf, kz = jax.random.split(key, 3)
        b = self.lsc_replay.sample(buffer, ks).experience
        e_k = vae_lib.embed(vae, b["k"])
        _, ds_hat, mean, std = vae_lib.forward(vae, kf, b["obs"], e_k, b["x"], cfg.log_std_min,
                                               cfg.log_std_max)
        z = mean + std * jax.random.normal(kz, std.shape)
        return (vae_lib.latent_bounds(z, cfg.lsc_range_rate),
                jnp.mean((ds_hat - b["ds"]) ** 2))

    def _online_vae(self, s: HyARState) -> HyARState:
        """At a sync step (``env_steps % vae_sync_steps == 0``) run the due
        ``vae_train(vae_online_steps)`` calls (usually none: 0 iterations).

        With ``vae_sync_steps=1`` every call runs at the step its episode ended, as in the
        original (an env step ends at most one episode). With a larger interval the calls of
        several episodes run back to back at the next sync step. Every seed shares
        ``env_steps``, so under ``vmap`` all seeds train on the same steps and a seed's call no
        longer makes the others compute a masked-out call at every episode end of any seed.
        """
        # The carry leaves the replay buffers out: a batched while_loop selects its whole
        # carry per iteration, and the buffers are read-only here.
        names = ("vae", "vae_opt", "key", "bounds", "recon_s", "vae_loss", "vae_steps",
                 "vae_pending")
        at_sync = s.env_steps % self.config.vae_sync_steps == 0

        def body(c: tuple) -> tuple:
            t = self._vae_train(s.replace(**dict(zip(names, c, strict=True))),
                                self.config.vae_online_steps)
            return tuple(getattr(t, n) for n in names[:-1]) + (c[-1] - 1,)

        c = jax.lax.while_loop(lambda c: at_sync & (c[-1] > 0), body,
                               tuple(getattr(s, n) for n in names))
        return s.replace(**dict(zip(names, c, strict=True)))

    # --------------------------------------------------------------- training step
    def _env_step(self, s: HyARState) -> tuple[HyARState, dict]:
        cfg = self.config
        key, kd, kp, k_step, k_upd = jax.random.split(s.key, 5)
        std = self.expl_std(s.episodes)
        d, p = self.actor_fn(s.actor, s.obs)
        d = jnp.clip(d + std * jax.random.normal(kd, d.shape), -1.0, 1.0)
        p = jnp.clip(p + std * jax.random.normal(kp, p.shape), -1.0, 1.0)
        k, z, x_pad = self.decode_action(s.vae, s.bounds, s.obs, d, p)
        obs, env_state, reward, terminated, truncated, info = self.env.step(
            k_step, s.env_state, (k, z), self.env_params)
        reward = reward.astype(jnp.float32)
        next_obs = info["final_observation"]
        ds = next_obs - s.obs
        rl_item = {"obs": s.obs, "k": k, "x": x_pad, "d_emb": d, "p_emb": p,
                   "next_obs": next_obs, "ds": ds, "reward": reward,
                   "terminated": ends_value(self.env, self.env_params, terminated, truncated)}
        vae_item = {"obs": s.obs, "k": k, "x": x_pad, "ds": ds}
        done = terminated | truncated
        ep_return = s.ep_return + reward
        episodes = s.episodes + done.astype(jnp.int32)
        due = done & (episodes % cfg.vae_interval == 0) & (episodes >= cfg.vae_online_start)
        s = s.replace(key=key, env_state=env_state, obs=obs,
                      rl_buffer=self.rl_replay.add(s.rl_buffer, rl_item),
                      vae_buffer=self.vae_replay.add(s.vae_buffer, vae_item),
                      env_steps=s.env_steps + 1, episodes=episodes,
                      ep_return=jnp.where(done, 0.0, ep_return),
                      vae_pending=s.vae_pending + due.astype(jnp.int32))
        learner = (s.actor, s.actor_target, s.critic, s.critic_target, s.actor_opt,
                   s.critic_opt, s.updates)
        learned = s.env_steps >= cfg.start_timesteps
        learner, m = jax.lax.cond(learned, self._update, self._skip_update, learner, s, k_upd)
        actor, actor_t, critic, critic_t, a_opt, c_opt, updates = learner
        s = s.replace(actor=actor, actor_target=actor_t, critic=critic, critic_target=critic_t,
                      actor_opt=a_opt, critic_opt=c_opt, updates=updates)
        s = self._online_vae(s)
        m = {**m, "learned": learned.astype(jnp.int32),
             "ret_sum": jnp.where(done, ep_return, 0.0), "finished": done.astype(jnp.int32)}
        return s, m

    def _skip_update(self, learner: tuple, s: HyARState, key: jax.Array) -> tuple[tuple, dict]:
        zero = jnp.float32(0.0)
        return learner, {"loss_critic": zero, "loss_actor": zero, "q": zero,
                         "discrete_kept": zero, "param_kept": zero,
                         "actor_updates": jnp.int32(0)}

    def _update(self, learner: tuple, s: HyARState, key: jax.Array) -> tuple[tuple, dict]:
        cfg = self.config
        actor, actor_t, critic, critic_t, a_opt, c_opt, updates = learner
        k_s, k_r, k_nd, k_np = jax.random.split(key, 4)
        batch = self.rl_replay.sample(s.rl_buffer, k_s).experience
        d_kept = p_kept = jnp.ones((cfg.batch_size,), jnp.bool_)
        if cfg.relabel:
            d_new, p_new, d_kept, p_kept = losses.relabel(
                s.vae, k_r, batch, s.bounds, s.recon_s,
                discrete_noise=cfg.relabel_discrete_noise, noise_clip=cfg.noise_clip,
                state_factor=cfg.relabel_state_factor,
                predict_in_latent=cfg.relabel_predict_in_latent,
                log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max)
            batch = {**batch, "d_emb": d_new, "p_emb": p_new}
        noise = None
        if cfg.td3:
            def smooth(k: jax.Array, shape: tuple) -> jax.Array:
                n = cfg.policy_noise * jax.random.normal(k, shape, jnp.float32)
                return jnp.clip(n, -cfg.noise_clip, cfg.noise_clip)

            noise = (smooth(k_nd, batch["d_emb"].shape), smooth(k_np, batch["p_emb"].shape))
        (lc, q), g = jax.value_and_grad(losses.critic_loss, has_aux=True)(
            critic, critic_t, actor_t, batch, cfg.gamma, self.q_fn, self.actor_fn, noise)
        upd, new_c_opt = self.critic_tx.update(g, c_opt, critic)
        new_critic = optax.apply_updates(critic, upd)
        critic0 = jax.tree.map(lambda a: a[0], new_critic)

        def actor_step(c: tuple) -> tuple:
            actor, a_opt, actor_t, critic_t, _ = c
            (la, _), ga = jax.value_and_grad(losses.actor_loss, has_aux=True)(
                actor, critic0, batch["obs"], self.q_fn, self.actor_fn,
                inverting=cfg.inverting_gradients)
            upd, a_opt = self.actor_tx.update(ga, a_opt, actor)
            actor = optax.apply_updates(actor, upd)
            return (actor, a_opt, soft_update(actor, actor_t, cfg.tau),
                    soft_update(new_critic, critic_t, cfg.tau), la)

        # TD3 counts updates from 1: the actor and both targets move on the 2nd, 4th, ...
        # update. Computed every update and selected: skipping it in a while_loop (a real
        # branch under vmap, since every seed shares ``updates``) measured no faster on CPU.
        delayed = (updates + 1) % (cfg.policy_delay if cfg.td3 else 1) == 0
        c0 = (actor, a_opt, actor_t, critic_t, jnp.float32(0.0))
        actor, a_opt, actor_t, new_critic_t, la = tree_where(delayed, actor_step(c0), c0)
        learner = (actor, actor_t, new_critic, new_critic_t, a_opt, new_c_opt, updates + 1)
        return learner, {"loss_critic": lc, "loss_actor": la,
                         "q": jnp.mean(q), "discrete_kept": jnp.mean(d_kept),
                         "param_kept": jnp.mean(p_kept),
                         "actor_updates": delayed.astype(jnp.int32)}


def converged(hist: jax.Array, n: jax.Array, tol: float) -> jax.Array:
    """``mean(last 5) + tol >= mean(last 10)`` over the ``n`` losses so far (newest first in
    ``hist [10]``), as in the original's ``vae_train`` (fewer than 5/10: all of them)."""
    idx = jnp.arange(hist.shape[0])

    def mean_last(m: int) -> jax.Array:
        cnt = jnp.minimum(n, m)
        return jnp.sum(jnp.where(idx < cnt, hist, 0.0)) / jnp.maximum(cnt, 1)

    return mean_last(5) + tol >= mean_last(10)


@register_agent("hyar_td3")
class HyARTD3(HyARAgent):
    """HyAR with a TD3 agent in the latent action space."""


@register_agent("hyar_ddpg")
class HyARDDPG(HyARAgent):
    """HyAR with a DDPG agent in the latent action space."""

    TD3: ClassVar[bool] = False


__all__ = ["HyARAgent", "HyARDDPG", "HyARState", "HyARTD3", "converged"]
