"""H-PPO (Fan et al. 2019, arXiv 1903.01344) as a harness agent, as HyAR ran it.

HyAR's ``Raw_RL/main_*_hppo.py`` + ``agents/hppo_noshare.py`` (spec §7.1; ``config.py`` names
the source of every default). PureJaxRL style: ``HPPOState`` holds the env state, the rollout
buffer, both networks with their Adam states (``TrainState``) and the RNG key; one ``train``
chunk is a ``lax.scan`` over iterations of (finish the rollout of ``epoch_steps`` env steps
with one env per seed, then one PPO update on it).

Per iteration (faithful unless marked):

1. Rollout: ``k ~ Categorical(logits(s))``, ``z = clip(mean(s) + std * eps, -1, 1)`` for all P
   parameters (the env reads k's slice); store ``(s, k, z, log pi_old, r, s', terminated,
   truncated)`` with ``s'`` the pre-reset final observation.
2. Update once the buffer holds ``epoch_steps`` steps: values of ``s`` and ``s'`` from the
   critic, GAE(0.95) advantages normalised over the rollout, rewards-to-go targets
   (``losses``); then ``critic_epochs`` epochs of MSE regression on shuffled minibatches
   (HyAR's rule: ``max(T // 32, 1)`` minibatches of ``T // n``; T = 50 gives one of 50), then
   ``actor_epochs`` full-rollout actor steps on the clipped surrogate(s).
3. Bootstrapping: on truncation (``V(s')``), not on termination -- the suite's convention,
   except with a clock in the observation (``common.ends_value``); HyAR used the last reward
   as the bootstrap value at every episode end (``end_bootstrap="last_reward"`` does so
   where the suite does not bootstrap: terminations, and truncations with a clock).
   ``truncation="run_on"`` (HyAR's Catch Point / Hard Move scripts) leaves a step-capped
   episode's GAE path open: it bootstraps from the next stored state, the next episode's
   first, and the advantage runs on into that episode's rewards.

Config readings: the defaults are HyAR's settings without four bugs of its code (the discrete
ratio, sampled evaluation actions, the last-reward bootstrap, on Catch Point / Hard Move the
run-on GAE path, each a [choice] below); the
``hyar`` reading (``config.hyar_config``) has them, and the ``hyar`` protocol selects it, so
its H-PPO rows run what produced HyAR's Table 2.

Exact env-step counts: ``train(state, n)`` takes exactly ``n`` env steps for any ``n``. The
buffer and its fill level ``buf_pos`` live in the state, so a rollout may span chunks. A chunk
runs ``ceil((n + T - 1) / T)`` iterations (static); in each, slot ``j`` of the rollout takes an
env step only if ``j >= buf_pos`` and steps remain (inactive slots are computed and discarded
with ``jnp.where``), and the update is applied only if the buffer is full. ``lax.cond`` would
not skip work here: the harness ``vmap``s seeds, which turns it into a select. Cost: at most
one masked iteration (rollout + update) per chunk [choice].

The hybrid log-prob and ratio (see ``config.HPPOConfig``): HyAR uses two separately clipped
surrogates, one for ``k`` and one for the parameters, summed (``ratio_mode="separate"``, also
Fan et al.'s form), and the Gaussian log-prob of *all* P parameters (``param_logp="all"``),
although only k's slice is executed. ``ratio_mode="joint"`` with ``param_logp="chosen"`` gives
the single ratio of ``log pi(k) + log pi(z_k | k)`` instead. HyAR's discrete ratio is
``exp(p_new(k) - max_j p_old(j))`` (probabilities, and the old *max*); the default uses the
standard ``pi_new(k) / pi_old(k)`` [choice], ``hyar_discrete_ratio=True`` reproduces the bug.

``act(..., deterministic=True)``: ``argmax_k`` logits and the mean parameters (HyAR evaluated
with sampled actions; ``stochastic_eval=True`` reproduces that). ``deterministic=False``
samples as in training.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct
from flax.training.train_state import TrainState

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.common import ends_value, hybrid_head, tree_where
from pamdp_bench.baselines.common.binding import EnvBound
from pamdp_bench.baselines.common.optim import adam, train_state
from pamdp_bench.baselines.hppo import config as config_lib
from pamdp_bench.baselines.hppo import losses, networks
from pamdp_bench.baselines.hppo.config import HPPOConfig


@struct.dataclass
class HPPOState:
    key: jax.Array
    env_state: Any
    obs: jax.Array
    actor: TrainState
    critic: TrainState
    buffer: dict  # [epoch_steps, ...] arrays of the running rollout
    buf_pos: jax.Array  # int32, filled slots of the buffer
    env_steps: jax.Array  # int32, counted toward the budget
    episodes: jax.Array  # int32, finished training episodes
    updates: jax.Array  # int32, PPO updates (iterations) done
    ep_return: jax.Array  # float32, return of the running training episode (see
    # common.offpolicy on why not envs.wrappers.LogWrapper)


_UPDATE_METRICS = ("loss_critic", "loss_actor", "loss_actor_discrete", "loss_actor_param",
                   "entropy_discrete", "param_std", "clip_frac")


@register_agent("hppo")
class HPPO(EnvBound):
    """H-PPO; see the module docstring."""

    name: ClassVar[str] = ""
    paper_url: ClassVar[str] = "https://arxiv.org/abs/1903.01344"
    LABEL: ClassVar[str] = "H-PPO"
    NEEDS_PARAMS: ClassVar[bool] = True

    def __init__(self, env: Any, env_params: Any, config: HPPOConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg = self.config
        self.param_owner = hybrid_head.param_owner(self.space)
        self.actor_tx = adam(cfg.lr_actor)
        self.critic_tx = adam(cfg.lr_critic)
        t = cfg.epoch_steps
        self.num_minibatches = max(t // cfg.minibatch_size, 1)
        self.minibatch = t // self.num_minibatches

    CONFIG_READINGS: ClassVar[tuple[str, ...]] = config_lib.READINGS

    @classmethod
    def default_config(cls, env_id: str, reading: str | None = None) -> HPPOConfig:
        return config_lib.default_config(env_id, reading=reading)

    # --------------------------------------------------------------- policy
    def policy(self, actor: Any, obs: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(logits [..., K], mean [..., P], log_std [P])``."""
        return networks.actor_forward(actor, obs, self.config.log_std_offset)

    def param_mask(self, k: jax.Array) -> jax.Array:
        """``[..., P]`` mask of the parameters in the Gaussian log-prob (all, or k's slice)."""
        chosen = self.param_owner == jnp.asarray(k)[..., None]
        return chosen if self.config.param_logp == "chosen" else jnp.ones_like(chosen)

    def _sample(self, key: jax.Array, logits: jax.Array, mean: jax.Array,
                log_std: jax.Array) -> tuple[jax.Array, jax.Array]:
        k_key, z_key = jax.random.split(key)
        k = jax.random.categorical(k_key, logits).astype(jnp.int32)
        eps = jax.random.normal(z_key, mean.shape, jnp.float32)
        return k, jnp.clip(mean + jnp.exp(log_std) * eps, -1.0, 1.0)

    def act(self, state: HPPOState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        logits, mean, log_std = self.policy(state.actor.params, obs)
        if deterministic and not self.config.stochastic_eval:
            return jnp.argmax(logits).astype(jnp.int32), mean
        return self._sample(key, logits, mean, log_std)

    # --------------------------------------------------------------- protocol
    def init(self, key: jax.Array) -> HPPOState:
        cfg = self.config
        k_a, k_c, k_env, key = jax.random.split(key, 4)
        obs, env_state = self.env.reset(k_env, self.env_params)
        actor = networks.init_actor(k_a, self.obs_dim, self.num_actions, self.num_params,
                                    cfg.hidden_actor, cfg.log_std_rows)
        critic = networks.init_critic(k_c, self.obs_dim, cfg.hidden_critic)
        t = cfg.epoch_steps
        f32 = jnp.float32
        buffer = {"obs": jnp.zeros((t, self.obs_dim), f32), "k": jnp.zeros((t,), jnp.int32),
                  "z": jnp.zeros((t, self.num_params), f32), "logp_k": jnp.zeros((t,), f32),
                  "logp_z": jnp.zeros((t,), f32), "max_prob": jnp.zeros((t,), f32),
                  "reward": jnp.zeros((t,), f32), "next_obs": jnp.zeros((t, self.obs_dim), f32),
                  "terminated": jnp.zeros((t,), bool), "truncated": jnp.zeros((t,), bool)}
        i32 = jnp.int32
        return HPPOState(key=key, env_state=env_state, obs=obs,
                         actor=train_state(actor, self.actor_tx),
                         critic=train_state(critic, self.critic_tx), buffer=buffer,
                         buf_pos=i32(0), env_steps=i32(0), episodes=i32(0), updates=i32(0),
                         ep_return=f32(0.0))

    def train(self, state: HPPOState, num_env_steps: int) -> tuple[HPPOState, dict]:
        t = self.config.epoch_steps
        iterations = (num_env_steps + 2 * t - 2) // t  # enough for any starting buf_pos
        zero = jnp.float32(0.0)
        sums0 = {m: zero for m in _UPDATE_METRICS}
        carry0 = (state, jnp.int32(num_env_steps), sums0, jnp.int32(0), zero, jnp.int32(0))

        def iteration(carry: tuple, _: None) -> tuple[tuple, None]:
            s, remaining, sums, n_upd, ret_sum, n_ep = carry
            (s, remaining, ret_sum, n_ep), _ = jax.lax.scan(
                self._slot, (s, remaining, ret_sum, n_ep), jnp.arange(t, dtype=jnp.int32))
            full = s.buf_pos == t
            key, upd_key = jax.random.split(s.key)
            learner = (s.actor, s.critic)
            new_learner, m = self._update(learner, s.buffer, upd_key)
            actor, critic = tree_where(full, new_learner, learner)
            s = s.replace(key=jnp.where(full, key, s.key), actor=actor, critic=critic,
                          buf_pos=jnp.where(full, 0, s.buf_pos),
                          updates=s.updates + full.astype(jnp.int32))
            sums = {n: sums[n] + jnp.where(full, m[n], 0.0) for n in _UPDATE_METRICS}
            return (s, remaining, sums, n_upd + full.astype(jnp.int32), ret_sum, n_ep), None

        (state, _, sums, n_upd, ret_sum, n_ep), _ = jax.lax.scan(
            iteration, carry0, None, length=iterations)
        denom = jnp.maximum(n_upd, 1).astype(jnp.float32)
        metrics = {n: sums[n] / denom for n in _UPDATE_METRICS}
        metrics.update({
            "updates_in_chunk": n_upd,
            "train_episode_return": jnp.where(n_ep > 0, ret_sum / jnp.maximum(n_ep, 1), jnp.nan),
            "episodes": state.episodes,
            "updates": state.updates,
            "env_steps": state.env_steps,
        })
        return state, metrics

    # --------------------------------------------------------------- internals
    def _slot(self, carry: tuple, j: jax.Array) -> tuple[tuple, None]:
        """Rollout slot ``j``: one env step if ``j >= buf_pos`` and steps remain, else a no-op."""
        s, remaining, ret_sum, n_ep = carry
        active = (j >= s.buf_pos) & (remaining > 0)
        key, a_key, step_key = jax.random.split(s.key, 3)
        logits, mean, log_std = self.policy(s.actor.params, s.obs)
        k, z = self._sample(a_key, logits, mean, log_std)
        logp_k, logp_z = losses.hybrid_logp(logits[None], mean[None], log_std, k[None], z[None],
                                            self.param_mask(k)[None])
        obs, env_state, reward, terminated, truncated, info = self.env.step(
            step_key, s.env_state, (k, z), self.env_params)
        reward = reward.astype(jnp.float32)
        item = {"obs": s.obs, "k": k, "z": z, "logp_k": logp_k[0], "logp_z": logp_z[0],
                "max_prob": jnp.max(jax.nn.softmax(logits)),
                "reward": reward * self.config.reward_scale,
                "next_obs": info["final_observation"],
                "terminated": ends_value(self.env, self.env_params, terminated, truncated),
                "truncated": truncated}
        buffer = {n: b.at[j].set(jnp.where(active, item[n], b[j])) for n, b in s.buffer.items()}
        done = terminated | truncated
        ep_return = s.ep_return + reward
        new = s.replace(key=key, env_state=env_state, obs=obs, buffer=buffer,
                        buf_pos=s.buf_pos + 1, env_steps=s.env_steps + 1,
                        episodes=s.episodes + done.astype(jnp.int32),
                        ep_return=jnp.where(done, 0.0, ep_return))
        s = tree_where(active, new, s.replace(buffer=buffer))
        finished = active & done
        return (s, remaining - active.astype(jnp.int32),
                ret_sum + jnp.where(finished, ep_return, 0.0),
                n_ep + finished.astype(jnp.int32)), None

    def advantages(self, buf: dict, values: jax.Array, next_values: jax.Array
                   ) -> tuple[jax.Array, jax.Array]:
        """GAE advantages and value targets of one rollout (``values`` = V(s_t),
        ``next_values`` = V(s'_t) of the pre-reset next observations)."""
        cfg = self.config
        done = buf["terminated"] | buf["truncated"]
        if cfg.truncation == "run_on":  # HyAR's MPE scripts: a step-capped path runs on
            cut = buf["truncated"] & ~buf["terminated"]
            # the next stored state is the next episode's first (the last slot keeps V(s'))
            following = jnp.concatenate([values[1:], next_values[-1:]])
            next_values = jnp.where(cut, following, next_values)
            done = buf["terminated"]
        return losses.gae_and_returns(
            buf["reward"], values, next_values, buf["terminated"], done, cfg.gamma,
            cfg.gae_lambda, buf["reward"] if cfg.end_bootstrap == "last_reward" else None)

    def _update(self, learner: tuple, buf: dict, key: jax.Array) -> tuple[tuple, dict]:
        cfg = self.config
        actor, critic = learner
        values = networks.critic_forward(critic.params, buf["obs"])
        next_values = networks.critic_forward(critic.params, buf["next_obs"])
        adv, ret = self.advantages(buf, values, next_values)
        adv = losses.normalize(adv, cfg.adv_eps)

        def critic_loss(params: Any, idx: jax.Array) -> jax.Array:
            v = networks.critic_forward(params, buf["obs"][idx])
            return jnp.mean((v - ret[idx]) ** 2)

        def critic_epoch(c: TrainState, e_key: jax.Array) -> tuple[TrainState, jax.Array]:
            perm = jax.random.permutation(e_key, cfg.epoch_steps)
            batches = perm[: self.num_minibatches * self.minibatch].reshape(
                self.num_minibatches, self.minibatch)

            def mb_step(c2: TrainState, idx: jax.Array) -> tuple[TrainState, jax.Array]:
                loss, g = jax.value_and_grad(critic_loss)(c2.params, idx)
                return c2.apply_gradients(grads=g), loss

            c, ls = jax.lax.scan(mb_step, c, batches)
            return c, jnp.mean(ls)

        critic, c_losses = jax.lax.scan(critic_epoch, critic,
                                        jax.random.split(key, cfg.critic_epochs))

        def actor_epoch(c: TrainState, _: None) -> tuple[TrainState, dict]:
            (loss, aux), g = jax.value_and_grad(self.actor_loss, has_aux=True)(c.params, buf,
                                                                               adv)
            return c.apply_gradients(grads=g), {"loss_actor": loss, **aux}

        actor, a_m = jax.lax.scan(actor_epoch, actor, None, length=cfg.actor_epochs)
        metrics = {n: jnp.mean(v) for n, v in a_m.items()}
        metrics["loss_critic"] = jnp.mean(c_losses)
        return (actor, critic), metrics

    def actor_loss(self, params: Any, buf: dict, adv: jax.Array) -> tuple[jax.Array, dict]:
        """The surrogate loss(es) on a whole rollout; see the module docstring."""
        cfg = self.config
        logits, mean, log_std = self.policy(params, buf["obs"])
        mask = self.param_mask(buf["k"])
        logp_k, logp_z = losses.hybrid_logp(logits, mean, log_std, buf["k"], buf["z"], mask)
        if cfg.hyar_discrete_ratio:
            p_k = jnp.take_along_axis(jax.nn.softmax(logits), buf["k"][:, None], axis=-1)[:, 0]
            ratio_k = jnp.exp(p_k - buf["max_prob"])
        else:
            ratio_k = jnp.exp(logp_k - buf["logp_k"])
        ratio_z = jnp.exp(logp_z - buf["logp_z"])
        if cfg.ratio_mode == "separate":
            loss_k = losses.clipped_surrogate(ratio_k, adv, cfg.clip_ratio)
            loss_z = losses.clipped_surrogate(ratio_z, adv, cfg.clip_ratio)
            loss = loss_k + loss_z
            ratio = ratio_z
        else:
            ratio = ratio_k * ratio_z
            loss = losses.clipped_surrogate(ratio, adv, cfg.clip_ratio)
            loss_k = loss_z = jnp.float32(jnp.nan)
        h_k, h_z = losses.hybrid_entropy(logits, log_std, mask)
        loss = loss - cfg.entropy_coef * jnp.mean(h_k + h_z)
        clip_frac = jnp.mean((jnp.abs(ratio - 1.0) > cfg.clip_ratio).astype(jnp.float32))
        aux = {"loss_actor_discrete": loss_k, "loss_actor_param": loss_z,
               "entropy_discrete": jnp.mean(h_k), "param_std": jnp.mean(jnp.exp(log_std)),
               "clip_frac": clip_frac}
        return loss, aux


__all__ = ["HPPO", "HPPOState"]
