"""C-LAP for hybrid actions (``clap``): constrained latent action policies, offline (spec §6.3).

Model. A recurrent latent action state-space model of the joint p(o, a): a GRU state ``h`` and
a Gaussian stochastic state ``s`` (``feat = [h, s]``) filtered from observations; a Gaussian
latent action posterior q(u | s, a) and prior p(u | s) with ``a = [onehot(k), z_pad]``; an
action decoder p(a | s, u) (categorical k, Gaussian parameters, only k's slice scored); the
transition ``h' = GRU(h, [s, u])`` driven by the latent action, so imagination never needs a
gradient through the discrete k; observation, reward and continuation heads on ``feat``. ELBO
training on windows of 32 steps (``common.offline.sample_windows``): the state restarts from
the prior at every episode's first step, so nothing leaks across episode ends; each step's
next observation is filtered from ``next_obs``, so an episode's last transition (and a Goal
episode of one step) still trains the reward and continuation heads.

Agent. On posterior states of the batch, imagine ``horizon`` steps with the policy
x ~ N(mu_pi(s), sigma_pi(s)) and the constrained latent action
u = mu_prior(s) + eps * sigma_prior(s) * tanh(x); the actor maximises the n-step returns
(bootstrapped from a slow target critic, discounted by the predicted continuation) by
backpropagating through the imagined rollout (model weights fixed); the critic regresses them.
The actor-critic starts after ``actor_critic_start`` model steps (before that its update is
computed and discarded: the seed axis is vmapped, so a branch would run both sides anyway).

Acting (``act_carry`` / ``act_step``, recurrent): filter the latent state with the posterior
from the new observation and the previous latent action, take u from the policy (its mean when
deterministic), decode ``k = argmax`` and ``z = k's mean parameters``. ``act`` alone treats the
observation as an episode's first.

Variants (the paper's ablations): ``constraint=False`` (u = x, an unconstrained Gaussian latent
policy) and ``latent_actions=False`` (a Dreamer-like agent: no latent actions, the transition
reads ``a`` and the policy emits the hybrid action, its k through a straight-through one-hot).

[choice] (no original code exists for hybrid actions, and the paper's sizes are missing):
every size and schedule (``config``); observations are standardised and rewards divided by
their std with the dataset's statistics; the state KL is a batch mean floored at ``free_nats``
(DreamerV1). Not implemented: C-LAP's visual (V-D4RL) encoder; the suite's observations are
vectors.
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.clap import config as config_lib
from pamdp_bench.baselines.clap import networks
from pamdp_bench.baselines.clap.config import CLAPConfig
from pamdp_bench.baselines.common import hybrid_head
from pamdp_bench.baselines.common.offline import Data, OfflineAgent, sample_windows
from pamdp_bench.baselines.common.optim import TrainState, adam, train_state


@flax.struct.dataclass
class CLAPState:
    model: TrainState
    actor: TrainState
    critic: TrainState
    critic_target: Any
    obs_mean: jax.Array
    obs_std: jax.Array
    reward_scale: jax.Array
    step: jax.Array  # gradient steps taken
    key: jax.Array


def kl_gaussian(q: networks.Gaussian, p: networks.Gaussian) -> jax.Array:
    """KL(q || p) of diagonal Gaussians, summed over the last axis."""
    (mq, sq), (mp, sp) = q, p
    return jnp.sum(jnp.log(sp / sq) + (sq**2 + (mq - mp) ** 2) / (2 * sp**2) - 0.5, axis=-1)


def _draw(key: jax.Array, g: networks.Gaussian) -> jax.Array:
    return g[0] + g[1] * jax.random.normal(key, g[0].shape, g[0].dtype)


def nstep_returns(rewards: jax.Array, conts: jax.Array, values: jax.Array, gamma: float,
                  n: int) -> jax.Array:
    """n-step returns ``[H, ...]`` of an imagined rollout, truncated at its horizon.

    ``rewards[i]`` and ``conts[i]`` (continuation probabilities) belong to the step from state
    ``i`` to ``i + 1``; ``values[H + 1]`` are the critic's values of states ``0..H``.
    ``G_i = sum_{j<m} gamma^j C_ij r_{i+j} + gamma^m C_im V_{i+m}``, ``m = min(n, H - i)``,
    ``C_ij`` the product of the continuations of steps ``i..i+j-1``.
    """
    horizon = rewards.shape[0]
    idx = jnp.arange(horizon).reshape((horizon,) + (1,) * (rewards.ndim - 1))
    end = jnp.minimum(idx + n, horizon)

    def shifted(x: jax.Array, j: int, fill: float) -> jax.Array:
        pad = jnp.full((j,) + x.shape[1:], fill, x.dtype)
        return jnp.concatenate([x[j:], pad])[:horizon]

    ret = jnp.zeros_like(rewards)
    disc = jnp.ones_like(rewards)
    for j in range(n):
        valid = idx + j < horizon
        ret = ret + jnp.where(valid, disc * shifted(rewards, j, 0.0), 0.0)
        nxt = disc * gamma * shifted(conts, j, 1.0)
        ret = ret + jnp.where(idx + j + 1 == end, nxt * shifted(values, j + 1, 0.0), 0.0)
        disc = jnp.where(valid, nxt, disc)
    return ret


@register_agent("clap")
class CLAP(OfflineAgent):
    """C-LAP for hybrid actions; see the module docstring."""

    name: ClassVar[str] = ""
    paper_url: ClassVar[str] = "https://arxiv.org/abs/2411.04562"
    CONFIG_READINGS: ClassVar[tuple[str, ...]] = config_lib.READINGS

    def __init__(self, env: Any, env_params: Any, config: CLAPConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg, space = self.config, self.space
        self.slots = hybrid_head.param_slots(space)
        self.offsets = jnp.asarray(np.asarray(space.param_offsets, np.int32))
        self.param_dims = jnp.asarray(np.asarray(space.param_dims, np.int32))
        self.action_dim = self.num_actions + self.max_param_dim
        hidden = tuple(cfg.hidden)
        self.model = networks.WorldModel(
            self.obs_dim, self.num_actions, self.num_params, hidden, cfg.deter_size,
            cfg.stoch_size, cfg.latent_action_size, cfg.min_std, cfg.latent_actions)
        if cfg.latent_actions:
            self.policy = networks.LatentPolicy(hidden, cfg.latent_action_size)
        else:
            self.policy = hybrid_head.HybridPolicy(hidden, self.num_actions, self.num_params,
                                                   "elu")
        self.critic = networks.Critic(hidden)
        self.feat_dim = cfg.deter_size + cfg.stoch_size
        self.x_dim = cfg.latent_action_size if cfg.latent_actions else self.action_dim
        self.model_tx = adam(cfg.lr_model, cfg.max_grad_norm)
        self.actor_tx = adam(cfg.lr_actor, cfg.max_grad_norm)
        self.critic_tx = adam(cfg.lr_critic, cfg.max_grad_norm)

    @classmethod
    def default_config(cls, env_id: str, reading: str | None = None) -> CLAPConfig:
        return config_lib.default_config(env_id, reading=reading)

    # ------------------------------------------------------------------ pieces
    def _m(self, params: Any, method: str, *args: Any) -> Any:
        return self.model.apply(params, *args, method=getattr(networks.WorldModel, method))

    def encode_action(self, k: jax.Array, z_pad: jax.Array) -> jax.Array:
        """``[onehot(k), z_pad]``: the real action as the model reads it."""
        return jnp.concatenate([jax.nn.one_hot(k, self.num_actions), z_pad], -1)

    def pad_params(self, k: jax.Array, z: jax.Array) -> jax.Array:
        """k's slice of the flat parameters ``z [..., P]``, zero padded (differentiable)."""
        j = jnp.arange(self.max_param_dim)
        if self.num_params == 0:
            return jnp.zeros(k.shape + (self.max_param_dim,), jnp.float32)
        idx = jnp.clip(self.offsets[k][..., None] + j, 0, self.num_params - 1)
        vals = jnp.take_along_axis(z, idx, axis=-1)
        return jnp.where(j < self.param_dims[k][..., None], vals, 0.0)

    def constrain(self, model_params: Any, feat: jax.Array, x: jax.Array) -> jax.Array:
        """The latent action of policy output ``x``: inside mu_prior +- eps * sigma_prior."""
        if not self.config.constraint:
            return x
        mean, std = self._m(model_params, "action_prior", feat)
        return mean + self.config.constraint_scale * std * jnp.tanh(x)

    # ------------------------------------------------------------------ init
    def init(self, key: jax.Array, data: Data) -> CLAPState:
        m_key, a_key, c_key, key = jax.random.split(key, 4)
        obs = jnp.zeros((self.obs_dim,), jnp.float32)
        feat = jnp.zeros((self.feat_dim,), jnp.float32)
        model_params = self.model.init(m_key, obs, jnp.zeros((self.action_dim,), jnp.float32))
        actor_params = self.policy.init(a_key, feat)
        critic_params = self.critic.init(c_key, feat)
        obs_all = data["obs"].astype(jnp.float32)
        reward_std = jnp.std(data["reward"].astype(jnp.float32))
        return CLAPState(
            model=train_state(model_params, self.model_tx),
            actor=train_state(actor_params, self.actor_tx),
            critic=train_state(critic_params, self.critic_tx),
            critic_target=critic_params,
            obs_mean=jnp.mean(obs_all, 0),
            obs_std=jnp.maximum(jnp.std(obs_all, 0), 1e-3),
            reward_scale=1.0 / jnp.maximum(reward_std, 1e-3),
            step=jnp.int32(0),
            key=key,
        )

    # ------------------------------------------------------------------ model
    def model_loss(self, params: Any, state: CLAPState, batch: Data, key: jax.Array
                   ) -> tuple[jax.Array, tuple[dict[str, jax.Array], tuple[jax.Array, ...]]]:
        """Negative ELBO of a batch of windows; aux: metrics and the posterior (h, s) [L, B]."""
        cfg = self.config
        tm = lambda x: jnp.swapaxes(x, 0, 1)  # noqa: E731  [B, L] -> [L, B]
        obs = tm((batch["obs"] - state.obs_mean) / state.obs_std)
        nxt = tm((batch["next_obs"] - state.obs_mean) / state.obs_std)
        action = tm(self.encode_action(batch["k"], batch["z_pad"]))
        first = tm(batch["first"])
        emb = self._m(params, "encode", obs)
        emb_next = self._m(params, "encode", nxt)
        seq_len, bsz = first.shape
        keys = jax.random.split(key, seq_len * 3).reshape(seq_len, 3)
        h0 = jnp.zeros((bsz, cfg.deter_size), jnp.float32)
        prior0 = self._m(params, "prior", h0)

        def step(carry: tuple, inp: tuple) -> tuple[tuple, tuple]:
            h, s = carry
            e, e_next, a, f, ks = inp
            k0, ku, k1 = ks[0], ks[1], ks[2]
            post0 = self._m(params, "posterior", h0, e)
            h = jnp.where(f[:, None], h0, h)
            s = jnp.where(f[:, None], _draw(k0, post0), s)
            feat = jnp.concatenate([h, s], -1)
            if cfg.latent_actions:
                q_u = self._m(params, "action_posterior", feat, a)
                x = _draw(ku, q_u)
                q_u_out = q_u
            else:
                x = a
                q_u_out = ()  # no action posterior in the ablation
            h1 = self._m(params, "transition", h, s, x)
            prior1 = self._m(params, "prior", h1)
            post1 = self._m(params, "posterior", h1, e_next)
            s1 = _draw(k1, post1)
            kl0 = kl_gaussian(post0, prior0)
            kl1 = kl_gaussian(post1, prior1)
            return (h1, s1), (h, s, x, q_u_out, kl0, kl1, jnp.concatenate([h1, s1], -1))

        init = (h0, jnp.zeros((bsz, cfg.stoch_size), jnp.float32))
        _, (hs, ss, xs, q_us, kl0, kl1, feat1) = jax.lax.scan(
            step, init, (emb, emb_next, action, first, keys))
        feat = jnp.concatenate([hs, ss], -1)
        firstf = first.astype(jnp.float32)
        kl_state = jnp.mean(kl1 + firstf * kl0)
        obs_hat0, _, _ = self._m(params, "heads", feat)
        obs_hat1, r_hat, c_logit = self._m(params, "heads", feat1)
        recon = (jnp.mean(firstf * 0.5 * jnp.sum(jnp.square(obs_hat0 - obs), -1))
                 + jnp.mean(0.5 * jnp.sum(jnp.square(obs_hat1 - nxt), -1)))
        reward = tm(batch["reward"]) * state.reward_scale
        reward_loss = jnp.mean(0.5 * jnp.square(r_hat - reward))
        cont = 1.0 - tm(batch["terminated"]).astype(jnp.float32)
        cont_loss = jnp.mean(optax.sigmoid_binary_cross_entropy(c_logit, cont))
        loss = (recon + reward_loss + cont_loss
                + cfg.kl_weight * jnp.maximum(kl_state, cfg.free_nats))
        metrics = {"recon": recon, "reward_loss": reward_loss, "cont_loss": cont_loss,
                   "kl_state": kl_state}
        if cfg.latent_actions:
            kl_u = jnp.mean(kl_gaussian(q_us, self._m(params, "action_prior", feat)))
            logits, mean, log_std = self._m(params, "decode_action", feat, xs)
            logp, _, _ = hybrid_head.log_prob(logits, mean, log_std, tm(batch["k"]),
                                              tm(batch["z_pad"]), self.slots)
            nll_a = -jnp.mean(logp)
            loss = loss + nll_a + cfg.action_kl_weight * kl_u
            metrics.update(kl_action=kl_u, nll_action=nll_a,
                           k_accuracy=jnp.mean(jnp.argmax(logits, -1) == tm(batch["k"])))
        metrics["model_loss"] = loss
        return loss, (metrics, (jax.lax.stop_gradient(hs), jax.lax.stop_gradient(ss)))

    # ------------------------------------------------------------------ actor-critic
    def _policy_action(self, actor_params: Any, model_params: Any, feat: jax.Array,
                       key: jax.Array | None) -> tuple[jax.Array, jax.Array, dict]:
        """(model input x, entropy, info) of the policy at ``feat``; ``key=None``: its mode.

        Latent actions: x = the constrained latent action u. Ablation: x = [onehot(k), z_pad]
        with a straight-through one-hot (the gradient of the softmax)."""
        if self.config.latent_actions:
            mean, std = self.policy.apply(actor_params, feat)
            raw = mean if key is None else mean + std * jax.random.normal(key, mean.shape)
            u = self.constrain(model_params, feat, raw)
            return u, jnp.sum(jnp.log(std), -1), {"raw": raw}
        logits, mean, log_std = self.policy.apply(actor_params, feat)
        if key is None:
            k, z = hybrid_head.mode(logits, mean)
            onehot = jax.nn.one_hot(k, self.num_actions)
        else:
            k_key, z_key = jax.random.split(key)
            k = jax.random.categorical(k_key, logits).astype(jnp.int32)
            probs = jax.nn.softmax(logits)
            onehot = jax.nn.one_hot(k, self.num_actions) + probs - jax.lax.stop_gradient(probs)
            z = jnp.clip(mean + jnp.exp(log_std) * jax.random.normal(z_key, mean.shape),
                         -1.0, 1.0)
        logp = jax.nn.log_softmax(logits)
        entropy = -jnp.sum(jnp.exp(logp) * logp, -1) + jnp.mean(log_std, -1)
        x = jnp.concatenate([onehot, self.pad_params(k, z)], -1)
        return x, entropy, {"k": k, "z": z}

    def actor_loss(self, actor_params: Any, model_params: Any, critic_params: Any,
                   start: tuple[jax.Array, jax.Array], key: jax.Array
                   ) -> tuple[jax.Array, tuple]:
        """Minus the imagined n-step return (dynamics backpropagation); aux: what the critic
        regresses and metrics."""
        cfg = self.config

        def img(carry: tuple, k: jax.Array) -> tuple[tuple, tuple]:
            h, s = carry
            a_key, s_key = jax.random.split(k)
            feat = jnp.concatenate([h, s], -1)
            x, ent, info = self._policy_action(actor_params, model_params, feat, a_key)
            h1 = self._m(model_params, "transition", h, s, x)
            s1 = _draw(s_key, self._m(model_params, "prior", h1))
            dev = jnp.zeros(())
            if cfg.latent_actions:
                mean, std = self._m(model_params, "action_prior", feat)
                dev = jnp.max(jnp.abs(x - mean) / std)
            return (h1, s1), (feat, ent, dev)

        (h_end, s_end), (feats, ents, devs) = jax.lax.scan(
            img, start, jax.random.split(key, cfg.horizon))
        feats = jnp.concatenate([feats, jnp.concatenate([h_end, s_end], -1)[None]], 0)
        _, rewards, c_logit = self._m(model_params, "heads", feats[1:])
        conts = jax.nn.sigmoid(c_logit)
        values = self.critic.apply(critic_params, feats)
        returns = nstep_returns(rewards, conts, values, cfg.gamma, cfg.n_step)
        alive = jnp.concatenate([jnp.ones_like(conts[:1]), jnp.cumprod(conts[:-1], 0)], 0)
        weight = jax.lax.stop_gradient(alive)
        loss = -jnp.mean(weight * returns) - cfg.entropy_weight * jnp.mean(weight * ents)
        aux = (jax.lax.stop_gradient(feats[:-1]), jax.lax.stop_gradient(returns), weight,
               {"imagined_return": jnp.mean(returns[0]), "policy_entropy": jnp.mean(ents),
                "latent_action_deviation": jnp.max(devs)})
        return loss, aux

    def critic_loss(self, params: Any, feats: jax.Array, returns: jax.Array,
                    weight: jax.Array) -> jax.Array:
        return jnp.mean(weight * 0.5 * jnp.square(self.critic.apply(params, feats) - returns))

    # ------------------------------------------------------------------ protocol
    def update(self, state: CLAPState, data: Data) -> tuple[CLAPState, dict[str, jax.Array]]:
        cfg = self.config
        key, b_key, m_key, s_key, a_key = jax.random.split(state.key, 5)
        batch = sample_windows(b_key, data, cfg.batch_size, cfg.seq_len)
        (_, (metrics, (hs, ss))), grads = jax.value_and_grad(self.model_loss, has_aux=True)(
            state.model.params, state, batch, m_key)
        model = state.model.apply_gradients(grads=grads)
        hs = hs.reshape(-1, cfg.deter_size)
        ss = ss.reshape(-1, cfg.stoch_size)
        if 0 < cfg.imagine_starts < hs.shape[0]:
            pick = jax.random.choice(s_key, hs.shape[0], (cfg.imagine_starts,), replace=False)
            hs, ss = hs[pick], ss[pick]
        (actor_l, (feats, returns, weight, ac_metrics)), a_grads = jax.value_and_grad(
            self.actor_loss, has_aux=True)(state.actor.params, model.params,
                                           state.critic_target, (hs, ss), a_key)
        critic_l, c_grads = jax.value_and_grad(self.critic_loss)(
            state.critic.params, feats, returns, weight)
        active = state.step >= cfg.actor_critic_start
        keep = lambda new, old: jax.tree.map(  # noqa: E731
            lambda n, o: jnp.where(active, n, o), new, old)
        actor = keep(state.actor.apply_gradients(grads=a_grads), state.actor)
        critic = keep(state.critic.apply_gradients(grads=c_grads), state.critic)
        target = keep(optax.incremental_update(critic.params, state.critic_target,
                                               cfg.critic_tau), state.critic_target)
        metrics.update(actor_loss=actor_l, critic_loss=critic_l, **ac_metrics)
        new = state.replace(model=model, actor=actor, critic=critic, critic_target=target,
                            step=state.step + 1, key=key)
        return new, metrics

    def act_carry(self, state: CLAPState) -> dict[str, jax.Array]:
        """The filter's state before an episode's first observation."""
        del state
        return {"h": jnp.zeros((self.config.deter_size,), jnp.float32),
                "s": jnp.zeros((self.config.stoch_size,), jnp.float32),
                "x": jnp.zeros((self.x_dim,), jnp.float32),
                "started": jnp.bool_(False)}

    def act_step(self, state: CLAPState, carry: dict[str, jax.Array], obs: jax.Array,
                 key: jax.Array, deterministic: bool
                 ) -> tuple[tuple[jax.Array, jax.Array], dict[str, jax.Array]]:
        """Filter the latent state with ``obs``, act, and carry the latent action forward."""
        params = state.model.params
        o = (obs - state.obs_mean) / state.obs_std
        h0 = jnp.zeros_like(carry["h"])
        h = jnp.where(carry["started"],
                      self._m(params, "transition", carry["h"], carry["s"], carry["x"]), h0)
        s_key, a_key, d_key = jax.random.split(key, 3)
        post = self._m(params, "posterior", h, self._m(params, "encode", o))
        s = post[0] if deterministic else _draw(s_key, post)
        feat = jnp.concatenate([h, s], -1)
        x, _, info = self._policy_action(state.actor.params, params, feat,
                                         None if deterministic else a_key)
        if self.config.latent_actions:
            logits, mean, log_std = self._m(params, "decode_action", feat, x)
            action = (hybrid_head.mode(logits, mean) if deterministic
                      else hybrid_head.sample(d_key, logits, mean, log_std))
        else:
            action = (info["k"], info["z"])
            x = jax.lax.stop_gradient(x)
        return action, {"h": h, "s": s, "x": x, "started": jnp.bool_(True)}

    def act(self, state: CLAPState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        """One action from a fresh filter (``obs`` taken as an episode's first)."""
        return self.act_step(state, self.act_carry(state), obs, key, deterministic)[0]
