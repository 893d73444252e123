"""FLEXplore (Wang, Wang, Shao, Dou, Tao; arXiv 2501.02774) as a harness agent: the first
runnable implementation (the paper has no public code).

The suite's DLPA (``baselines.dlpa``) with three mechanisms added through DLPA's hooks
(``_learner`` / ``_with_learner``: what the updates carry; ``_update_step``: one gradient step;
``_learn``: the per-env-step updates; ``_plan``: one MPPI plan), not a copy:

1. Wasserstein term. A spectrally normalised critic f_W scores real transitions
   [s, onehot(k), z, s'] against the same with the model's open-loop prediction of s' along
   DLPA's H-step loss rollout (``losses.wasserstein_gap``). Each model step adds
   ``wasserstein_weight`` x L_ex to DLPA's loss (``wasserstein_form="convex"``: the state term
   is scaled by 1 - lambda instead); then the critic takes one Adam step on -L_ex with one
   power iteration of its spectral norms.
2. Reward smoothing. One FGSM step from a random start (``fgsm_eps``) on every reward head;
   ``smoothing_weight`` x the squared difference joins the model loss from ``smoothing_start``
   env steps on (``smoothing="after"``), from the first update (``"always"``, the paper's
   AlwaysSmoothing) or never (``"off"``, NoSmoothing). ``smoothing_target="step_reward"``
   smooths the step reward the planner counts instead, continuation head included
   ([choice], a diagnostic: issue 17 found Catch Point's catch in that head, not in r1).
3. MI bonus and policy networks. r_aux = log T(s'|s,k,z) - log p_theta(z|s,k) with weight
   ``mi_weight`` is added to the model's rewards inside the planner's trajectory return and in
   the policy objective. A discrete policy (straight-through Gumbel-Softmax) and a Gaussian
   parameter policy are trained on imagined H-step rollouts from replay states
   (``policy_updates`` Adam steps per env step after DLPA's updates), and
   ``proposal_fraction`` of the MPPI samples are their rollouts.

DLPA is the special case: a mechanism whose weight is 0 (or ``smoothing="off"``,
``proposal_fraction=0``) is not traced, and the extra networks draw their keys by
``fold_in`` from keys DLPA already holds, never by splitting them, so with all four off (and
DLPA's horizon) every record equals DLPA's under the same seed, bit for bit
(``tests/baselines/test_flexplore.py``).

[choice] Everything the paper's available text leaves open is a field of
``FLEXploreConfig`` with the spec's default (algorithms.md §4.4 #1-#15; ``config.SOURCES``).
Not implemented: §4.4 #16, spectral normalisation of the dynamics model (the suite's default
is off, and no field offers it yet).
[choice] log T of the squashed envs (Platform, Goal, Hard Goal) is the density before the
tanh (the Jacobian term would reward states near the bounds).
[choice] r_aux is measured against its mean over the samples scored together that are still
alive (``mi_baseline``; the config field says why); ``mi_baseline="none"`` is the literal
reading. [choice] eta = 0.01, not the spec's 0.1 (measured: ``mi_weight``). [choice]
Evaluation plans on the model's reward without r_aux (``eval_bonus=True`` keeps it).
[choice] In evaluation the proposals are the policies' samples (from the plan's key) rolled
through the model's means: drawn as in training, with the model deterministic like the rest of
DLPA's evaluation (``eval_proposals="modes"``, the behaviour before 2026-12-06: the policies'
modes, every proposal row the same sequence, which could fill half the elites and win the
final pick about half the time).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax
from flax import struct

from pamdp_bench.agents import register_agent
from pamdp_bench.baselines.common.control import tree_where
from pamdp_bench.baselines.common.optim import adam
from pamdp_bench.baselines.dlpa.agent import DLPAAgent, DLPAState, Replay
from pamdp_bench.baselines.dlpa.losses import model_loss
from pamdp_bench.baselines.dlpa.planner import PlanState, plan
from pamdp_bench.baselines.flexplore import config as config_lib
from pamdp_bench.baselines.flexplore import losses as flosses
from pamdp_bench.baselines.flexplore import networks as fnet
from pamdp_bench.baselines.flexplore.config import FLEXploreConfig

#: ``fold_in`` tags of the extra networks' keys (DLPA's own splits stay untouched).
_CRITIC, _POLICY, _SMOOTH, _PROPOSAL, _POLICY_UPDATES = 101, 102, 103, 104, 105


@struct.dataclass
class FLEXploreState(DLPAState):
    #: critic params / power-iteration vectors / Adam state, policy params / Adam state
    flex: dict[str, Any]


@register_agent("flexplore")
class FLEXploreAgent(DLPAAgent):
    """See the module docstring."""

    name: ClassVar[str] = "flexplore"
    paper_url = "https://arxiv.org/abs/2501.02774"
    #: no official code exists, so no official per-step time to compare against
    OFFICIAL_SECONDS_PER_PLANNED_STEP: ClassVar[dict[str, float]] = {}

    def __init__(self, env: Any, env_params: Any, config: FLEXploreConfig | None = None
                 ) -> None:
        super().__init__(env, env_params, config)
        self.critic_opt = adam(self.config.disc_lr)
        self.policy_opt = adam(self.config.policy_lr)

    @classmethod
    def default_config(cls, env_id: str) -> FLEXploreConfig:
        return config_lib.default_config(env_id)

    # ----------------------------------------------------------------- state
    def init(self, key: jax.Array) -> FLEXploreState:
        base = super().init(key)
        cfg = self.config
        flex: dict[str, Any] = {}
        if cfg.use_wasserstein:
            critic, u = fnet.init_critic(jax.random.fold_in(key, _CRITIC), self.s_dim,
                                         self.num_k, self.p_pad, cfg.disc_hidden)
            flex.update(critic=critic, critic_u=u, critic_opt=self.critic_opt.init(critic))
        if cfg.use_policy:
            policy = fnet.init_policy(jax.random.fold_in(key, _POLICY), self.s_dim,
                                      self.num_k, self.p_pad, cfg.policy_hidden)
            flex.update(policy=policy, policy_opt=self.policy_opt.init(policy))
        zero = jnp.float32(0.0)
        last = dict(base.last_loss)
        for name in self._extra_info():
            last[name] = zero
        fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
        return FLEXploreState(**{**fields, "last_loss": last}, flex=flex)

    def _extra_info(self) -> tuple[str, ...]:
        cfg = self.config
        return ((("wasserstein", "critic_loss") if cfg.use_wasserstein else ())
                + (("smoothing",) if cfg.use_smoothing else ())
                + (("policy_loss",) if cfg.use_policy else ()))

    def _learner(self, state: FLEXploreState) -> tuple:
        return super()._learner(state) + (state.flex,)

    def _with_learner(self, state: FLEXploreState, learner: tuple) -> FLEXploreState:
        return super()._with_learner(state, learner[:3]).replace(flex=learner[3])

    # ----------------------------------------------------------------- learning
    def _smoothing_on(self, env_steps: jax.Array) -> jax.Array:
        if self.config.smoothing == "always":
            return jnp.asarray(True)
        return env_steps >= self.config.smoothing_start

    def _update_step(self, carry: tuple, batch: dict[str, jax.Array], weights: jax.Array,
                     key: jax.Array, env_steps: jax.Array, active: jax.Array
                     ) -> tuple[tuple, dict]:
        cfg = self.config
        if not (cfg.use_wasserstein or cfg.use_smoothing):
            return super()._update_step(carry, batch, weights, key, env_steps, active)
        params, opt_state, flex = carry
        flex = dict(flex)
        if cfg.use_wasserstein:
            sigmas, flex["critic_u"] = fnet.spectral_norms(flex["critic"], flex["critic_u"])
            critic_sg = jax.lax.stop_gradient((flex["critic"], sigmas))
        smooth_key = jax.random.fold_in(key, _SMOOTH)
        smooth_on = self._smoothing_on(env_steps)

        def loss_fn(p: Any, b: dict, w: jax.Array, k: jax.Array) -> tuple[jax.Array, dict]:
            total, (info, s_hat) = model_loss(p, cfg, b, w, k, return_rollout=True)
            info = dict(info)
            if cfg.use_wasserstein:
                lex = flosses.wasserstein_gap(*critic_sg, cfg, b, w, s_hat)
                total = total + cfg.wasserstein_weight * lex
                if cfg.wasserstein_form == "convex":
                    total = total - cfg.wasserstein_weight * info["state_loss"] / b["k"].shape[1]
                info["wasserstein"] = lex
                info["s_hat"] = s_hat
            if cfg.use_smoothing:
                smt = flosses.smoothing_loss(p, cfg, b, smooth_key)
                total = total + jnp.where(smooth_on, cfg.smoothing_weight * smt, 0.0)
                info["smoothing"] = smt
            info["loss"] = total
            return total, info

        params, opt_state, info = self.update(params, opt_state, batch, weights, key, loss_fn,
                                              active)
        if cfg.use_wasserstein:
            s_hat = jax.lax.stop_gradient(info.pop("s_hat"))

            def critic_loss(c: Any) -> jax.Array:
                sig, _ = fnet.spectral_norms(c, flex["critic_u"])
                return -flosses.wasserstein_gap(c, sig, cfg, batch, weights, s_hat)

            c_loss, grads = jax.value_and_grad(critic_loss)(flex["critic"])
            upd, flex["critic_opt"] = self.critic_opt.update(grads, flex["critic_opt"],
                                                             flex["critic"])
            flex["critic"] = optax.apply_updates(flex["critic"], upd)
            info["critic_loss"] = c_loss
        return (params, opt_state, flex), info

    def _learn(self, replay: Replay, learn: tuple, key: jax.Array, env_steps: jax.Array,
               active: jax.Array | bool = True) -> tuple:
        """DLPA's gated updates (the critic's inside them), then the policy networks' steps,
        kept where ``active``."""
        learn = super()._learn(replay, learn, key, env_steps, active)
        cfg = self.config
        if not cfg.use_policy:
            return learn
        params, opt_state, info, flex = learn
        cum = jnp.cumsum(replay.n_valid)
        m_params = jax.lax.stop_gradient(params)

        def one(carry: tuple, kk: jax.Array) -> tuple[tuple, jax.Array]:
            policy, p_opt = carry
            b_key, r_key = jax.random.split(kk)
            batch, _ = self.sample_batch(replay, cum, b_key)

            def objective(pol: Any) -> jax.Array:
                g, _, _ = flosses.imagine(m_params, pol, cfg, self.param_dims,
                                          batch["obs"][:, 0], r_key, cfg.horizon, True)
                return -jnp.mean(g)

            loss, grads = jax.value_and_grad(objective)(policy)
            upd, p_opt = self.policy_opt.update(grads, p_opt, policy)
            return (optax.apply_updates(policy, upd), p_opt), loss

        keys = jax.random.split(jax.random.fold_in(key, _POLICY_UPDATES), cfg.policy_updates)
        old = (flex["policy"], flex["policy_opt"], info["policy_loss"])
        (policy, p_opt), losses = jax.lax.scan(one, old[:2], keys)
        policy, p_opt, loss = tree_where(active, (policy, p_opt, losses[-1]), old)
        flex = {**flex, "policy": policy, "policy_opt": p_opt}
        return params, opt_state, {**info, "policy_loss": loss}, flex

    # ----------------------------------------------------------------- planning
    def _plan(self, state: FLEXploreState, obs: jax.Array, key: jax.Array, prev: PlanState,
              use_prev: jax.Array, deterministic: bool) -> tuple:
        cfg = self.config
        if not cfg.use_policy:
            return super()._plan(state, obs, key, prev, use_prev, deterministic)
        bonus = cfg.mi_weight > 0 and (cfg.eval_bonus or not deterministic)
        model_fn = (flosses.bonus_model_fn(state.flex["policy"], cfg, self.param_dims)
                    if bonus else None)
        proposal = self._proposals(state, obs, key, deterministic) if cfg.num_proposals else None
        return plan(state.params, cfg, self.param_dims, obs, key, prev, use_prev,
                    deterministic=deterministic, model_fn=model_fn, proposal=proposal)

    def _proposals(self, state: FLEXploreState, obs: jax.Array, key: jax.Array,
                   deterministic: bool) -> tuple[jax.Array, jax.Array]:
        """The policies' ``num_proposals`` rollouts from ``obs`` (ks [M, H], zs [M, H, p]):
        drawn with the plan's key; in evaluation through the model's means, or the policies'
        modes with ``eval_proposals="modes"``."""
        cfg = self.config
        modes = deterministic and cfg.eval_proposals == "modes"
        p_key = None if modes else jax.random.fold_in(key, _PROPOSAL)
        s0 = jnp.broadcast_to(obs, (cfg.num_proposals, obs.shape[-1]))
        _, ks, zs = flosses.imagine(state.params, state.flex["policy"], cfg, self.param_dims,
                                    s0, p_key, cfg.horizon, False, model_means=deterministic)
        return ks, zs

    # ----------------------------------------------------------- bench hooks
    def bench_info(self) -> dict[str, Any]:
        cfg = self.config
        return {**super().bench_info(), "wasserstein_weight": cfg.wasserstein_weight,
                "smoothing": cfg.smoothing, "mi_weight": cfg.mi_weight,
                "proposal_fraction": cfg.proposal_fraction}
