"""QMLE (Tavakoli, Ghiassian, Rakicevic; arXiv 2410.06317) for hybrid actions, as a harness agent.

Q-learning whose max and argmax over actions are taken over sampled candidate sets
(``candidates``), with learned argmax predictors proposing part of the candidates and an
action-in Q-network (``networks``) scoring a whole set in one pass. Follows the official code
(``atavakol/qmle`` @ ``0687780``, spec §5.2) in its loop, losses and defaults, and the suite's
hybrid design (spec §5.3) for the action layout. The env-step loop is ``common.offpolicy``'s,
in its block form (``train_every`` env steps per gradient step).

Per env step: with probability ``epsilon`` the env's uniform hybrid action, else the best of
``m_greedy`` candidates under the online network. The stored transition is ``(s, k, z_pad, r,
s', ends)`` plus the *stored argmax* (initialised to the executed action, as the official
``argmax=action.copy()``). Every ``train_every`` env steps once more than ``learning_starts``
were taken, one gradient step on a prioritised batch of ``batch_size``:

1. target: for each s', the best of ``m_target`` candidates drawn with the *target* network's
   predictors plus the stored argmax, under the target Q-network; the winner overwrites the
   stored argmax in the replay (``replay.write_items``);
2. loss: PER-weighted squared TD error (weights ``(N P)^-beta`` over their buffer-wide maximum)
   + the predictors' cross-entropy and delta MSE on s' toward the stored argmax the batch was
   sampled with; one Adam step on the sum; the new priorities are ``|TD| + per_eps``;
3. every ``target_every`` env steps (after that step's update) the target network is a hard
   copy of the online one.

Deviations and choices:

* [choice] Terminations end bootstrapping (PAMDP episodes end; the official ``done[:] = False``
  is for continuing DeepMind Control tasks), truncations bootstrap unless the observation has a
  clock (``common.ends_value``), as for every suite agent. No field restores ``done = False``;
  ``truncation_ends=True`` ends bootstrapping at every step cap too.
* [choice] Updates run after env steps ``train_every * j`` (> ``learning_starts``), target
  copies after env steps ``target_every * j``; the official loop trains at 0-based step indices
  ``10 j`` > 1000, i.e. after env steps ``10 j + 1``: one env step later. Chunks must be
  multiples of ``train_every`` (``common.offpolicy``).
* [deviation] Sampling is flashbax's stratified proportional sampling (one draw per equal-mass
  stratum, the PER paper's scheme) where the official draws ``batch`` independent masses.
* [choice] The hybrid action layout, the k-conditioned parameter predictors, the bit-factorised
  k head for large K and the enumeration of every k for small K: ``networks``, ``candidates``
  and the config's fields.
* ``official_ce`` (default True) keeps the official cross-entropy on softmax outputs.
* The buffer holds ``buffer_size`` = 1e6 transitions (the official's); spec §5.3's
  min(budget, 1e6) stores the same data for budgets up to 1e6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax
from flax import struct

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.common.control import tree_where
from pamdp_bench.baselines.common.offpolicy import OffPolicyAgent, OffPolicyState
from pamdp_bench.baselines.common.replay import (
    importance_weights,
    make_prioritised_replay,
    resync_sum_tree,
    write_items,
)
from pamdp_bench.baselines.qmle import config as config_lib
from pamdp_bench.baselines.qmle import losses
from pamdp_bench.baselines.qmle.candidates import CandidateSampler
from pamdp_bench.baselines.qmle.config import QMLEConfig
from pamdp_bench.baselines.qmle.networks import ArgmaxPredictors, QNetwork


@struct.dataclass
class QMLELearner:
    """Online parameters ``{"q", "pred"}``, their hard-copied target and the Adam state."""

    params: Any
    target: Any
    opt_state: Any


@register_agent("qmle")
class QMLEAgent(OffPolicyAgent):
    """QMLE for hybrid actions; see the module docstring."""

    paper_url: ClassVar[str] = "https://arxiv.org/abs/2410.06317"
    INIT_KEYS: ClassVar[int] = 2  # Q-network, predictors
    ACT_KEYS: ClassVar[int] = 3  # explore?, uniform action, candidates
    STATE: ClassVar[type] = OffPolicyState

    def __init__(self, env: Any, env_params: Any, config: QMLEConfig | None = None) -> None:
        super().__init__(env, env_params, config)
        cfg, space = self.config, self.space
        self.replay = make_prioritised_replay(cfg.buffer_size, cfg.batch_size, cfg.per_alpha)
        self.train_every = cfg.train_every
        self.learning_starts = cfg.learning_starts
        self.param_dims = jnp.asarray(space.param_dims, jnp.int32)
        self.k_bits = self._k_bits(cfg, env)
        enumerate_k = (cfg.enumerate_k if cfg.enumerate_k is not None
                       else self.num_actions <= cfg.enumerate_max_k)
        self.qnet = QNetwork(self.num_actions, self.max_param_dim, cfg.hidden_obs,
                             cfg.hidden_act)
        self.pred = ArgmaxPredictors(self.num_actions, self.max_param_dim, cfg.num_bins,
                                     cfg.hidden_mle, cfg.k_embed_mle, self.k_bits)
        self.sampler = CandidateSampler(cfg, self.num_actions, space.param_dims,
                                        self.max_param_dim, self.k_bits, enumerate_k)
        self.tx = optax.adam(cfg.lr)

    def _k_bits(self, cfg: QMLEConfig, env: Any) -> int | None:
        """Bits of the factorised k head, or None for the K-way softmax (``k_head``)."""
        bits = getattr(env, "k_bits", None)
        head = cfg.k_head
        if head == "auto":
            head = "bits" if bits is not None and self.num_actions > cfg.enumerate_max_k \
                else "softmax"
        if head == "softmax":
            return None
        if bits is None or 2**int(bits) != self.num_actions:
            raise ValueError(f"k_head='bits' needs an env whose k is a code of on/off bits "
                             f"(an int attribute k_bits with 2**k_bits = K); {env.name} has "
                             f"K = {self.num_actions} and k_bits = {bits}")
        return int(bits)

    @classmethod
    def default_config(cls, env_id: str) -> QMLEConfig:
        return config_lib.default_config(env_id)

    # --------------------------------------------------------------- networks
    def latent(self, q_params: Any, obs: jax.Array) -> jax.Array:
        return self.qnet.apply(q_params, obs, method="encode")

    def q_values(self, q_params: Any, latent: jax.Array, k: jax.Array, z: jax.Array
                 ) -> jax.Array:
        return self.qnet.apply(q_params, latent, k, z, method="q")

    def predictors(self, pred_params: Any) -> Callable[..., Any]:
        """``call(method_name, *args)`` of the predictors with ``pred_params``."""
        return lambda method, *args: self.pred.apply(pred_params, *args, method=method)

    def best_candidate(self, params: Any, obs: jax.Array, key: jax.Array, m: int,
                       extra: tuple[jax.Array, jax.Array] | None = None
                       ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(max Q, k, z_pad)`` over ``m`` candidates for ``obs`` (plus ``extra = (k, z_pad)``,
        the stored argmax) under ``params``."""
        lat = self.latent(params["q"], obs)
        k, z = self.sampler(self.predictors(params["pred"]), lat, key, m)
        if extra is not None:
            k = jnp.concatenate([k, extra[0][None]])
            z = jnp.concatenate([z, extra[1][None]])
        return losses.sampled_max(self.q_values(params["q"], lat, k, z), k, z)

    # --------------------------------------------------------------- acting
    def _epsilon_greedy(self, params: Any, obs: jax.Array, keys: Sequence[jax.Array],
                        epsilon: float) -> tuple[jax.Array, jax.Array]:
        """``(k, z_pad)``: the env's uniform action with probability ``epsilon``, else greedy."""
        e_key, r_key, c_key = keys
        _, k, z = self.best_candidate(params, obs, c_key, self.config.m_greedy)
        rk, rz = self.space.to_padded(self.space.sample_rand_action(r_key))
        explore = jax.random.uniform(e_key) < epsilon
        return jnp.where(explore, rk, k), jnp.where(explore, rz, z)

    def act(self, state: OffPolicyState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        keys = jax.random.split(key, 3)
        eps = 0.0 if deterministic else self.config.epsilon
        k, z = self._epsilon_greedy(state.learner.params, obs, keys, eps)
        return self.space.from_padded((k, z))

    # --------------------------------------------------------------- off-policy hooks
    def init_parts(self, keys: Sequence[jax.Array], obs: jax.Array) -> tuple:
        k_q, k_p = keys
        k0 = jnp.zeros((1,), jnp.int32)
        z0 = jnp.zeros((1, self.max_param_dim), jnp.float32)
        params = {"q": self.qnet.init(k_q, obs, k0, z0),
                  "pred": self.pred.init(k_p, jnp.zeros((self.config.hidden_obs,)), k0)}
        learner = QMLELearner(params=params, target=params, opt_state=self.tx.init(params))
        z = jnp.zeros((self.max_param_dim,), jnp.float32)
        item = {"obs": obs, "k": jnp.int32(0), "z": z, "reward": jnp.float32(0.0),
                "next_obs": obs, "ends": jnp.bool_(False), "argmax_k": jnp.int32(0),
                "argmax_z": z}
        return learner, item, {}

    def explore(self, s: OffPolicyState, keys: Sequence[jax.Array]) -> tuple:
        k, z = self._epsilon_greedy(s.learner.params, s.obs, keys, self.config.epsilon)
        return self.space.from_padded((k, z)), (k, z), s

    def transition(self, s: OffPolicyState, aux: tuple, reward: jax.Array,
                   next_obs: jax.Array, ends: jax.Array) -> dict[str, Any]:
        k, z = aux
        return {"obs": s.obs, "k": k, "z": z, "reward": reward, "next_obs": next_obs,
                "ends": ends, "argmax_k": k, "argmax_z": z}

    def ends(self, terminated: jax.Array, truncated: jax.Array) -> jax.Array:
        """The suite's no-bootstrap flag, or with ``truncation_ends`` every episode end."""
        if self.config.truncation_ends:
            return terminated | truncated
        return super().ends(terminated, truncated)

    def learn(self, s: OffPolicyState, key: jax.Array) -> tuple[OffPolicyState, dict]:
        """One gradient step once more than ``learning_starts`` env steps were taken (module
        docstring); before that the state is unchanged and the metrics are zero."""
        cfg = self.config
        learned = s.env_steps > self.learning_starts
        s_key, t_key = jax.random.split(key)
        sample = self.replay.sample(s.buffer, s_key)
        b = sample.experience
        weights = importance_weights(s.buffer, sample.probabilities, cfg.per_beta)
        # a zero-probability sample (an empty slot; ``replay.resync_sum_tree``) trains nothing
        valid = (sample.probabilities > 0).astype(jnp.float32)
        ln = s.learner

        # 1. target maximisation over the target network's candidates + the stored argmax
        t_keys = jax.random.split(t_key, cfg.batch_size)
        next_max, new_k, new_z = jax.vmap(
            lambda o, key, ak, az: self.best_candidate(
                ln.target, o, key, cfg.m_target, None if cfg.local_only else (ak, az)))(
            b["next_obs"], t_keys, b["argmax_k"], b["argmax_z"])
        y = losses.td_target(b["reward"], b["ends"], next_max, cfg.gamma)

        # 2. the losses
        def loss_fn(params: Any) -> tuple[jax.Array, tuple]:
            lat = jax.vmap(self.latent, (None, 0))(params["q"], b["obs"])
            q = jax.vmap(lambda la, k, z: self.q_values(params["q"], la, k[None], z[None])[0])(
                lat, b["k"], b["z"])
            loss_q, td = losses.weighted_td_loss(q, y, weights)
            next_lat = jax.lax.stop_gradient(
                jax.vmap(self.latent, (None, 0))(params["q"], b["next_obs"]))
            cat, delta = jax.vmap(lambda la, ak, az: self._predictor_loss(
                params["pred"], la, ak, az))(next_lat, b["argmax_k"], b["argmax_z"])
            n_valid = jnp.maximum(jnp.sum(valid), 1.0)
            loss_cat = jnp.sum(valid * cat) / n_valid
            loss_delta = jnp.sum(valid * delta) / n_valid
            return loss_q + loss_cat + loss_delta, (loss_q, loss_cat, loss_delta, td, q)

        grads, (loss_q, loss_cat, loss_delta, td, q) = jax.grad(loss_fn, has_aux=True)(
            ln.params)
        updates, opt_state = self.tx.update(grads, ln.opt_state, ln.params)
        params = optax.apply_updates(ln.params, updates)
        # 3. hard target copy
        target = tree_where(s.env_steps % cfg.target_every == 0, params, ln.target)
        learner = tree_where(learned, QMLELearner(params, target, opt_state), ln)

        # (an empty slot keeps its zero priority)
        buffer = self.replay.set_priorities(
            s.buffer, sample.indices, jnp.where(valid > 0, td + cfg.per_eps, 0.0))
        buffer = resync_sum_tree(buffer)
        buffer = buffer.replace(sum_tree_state=tree_where(
            learned, buffer.sum_tree_state, s.buffer.sum_tree_state))
        buffer = write_items(buffer, sample.indices, {"argmax_k": new_k, "argmax_z": new_z},
                             keep_old=~learned | (valid == 0))
        on = learned.astype(jnp.float32)
        s = s.replace(learner=learner, buffer=buffer,
                      updates=s.updates + learned.astype(jnp.int32))
        return s, {"loss_q": on * loss_q, "loss_cat": on * loss_cat,
                   "loss_delta": on * loss_delta, "q_taken": on * jnp.mean(q),
                   "learned": learned.astype(jnp.int32)}

    def _predictor_loss(self, pred_params: Any, latent: jax.Array, k_star: jax.Array,
                        z_star: jax.Array) -> tuple[jax.Array, jax.Array]:
        cfg = self.config
        call = self.predictors(pred_params)
        logits, torso = call("k_logits", latent)
        bins = call("bin_logits", torso, k_star[None])[0]
        delta = call("delta", latent, k_star[None])[0]
        label = k_star if self.k_bits is None else self.sampler.k_to_bits(k_star)
        mask = jnp.arange(self.max_param_dim) < self.param_dims[k_star]
        return losses.predictor_loss(logits, bins, delta, label, z_star, mask, cfg.num_bins,
                                     cfg.official_ce)


QMLE = QMLEAgent

__all__ = ["QMLE", "QMLEAgent", "QMLELearner"]
