"""H-PPO: GAE, surrogate, hybrid log-prob/entropy against hand-computed cases; learning a
one-step bandit; determinism; exact env-step counts across chunks; K = 1024 shapes; default
configs; a short harness run with a chunk size not a multiple of the rollout length."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bandit_env import (
    Bandit,
    CompiledRun,
    assert_trees_bitwise_equal,
    greedy_bandit_action,
    tree_arrays,
)

import pamdp_bench.baselines.hppo  # noqa: F401  (registers "hppo")
from pamdp_bench.agents import get_agent
from pamdp_bench.baselines.hppo import HPPO, HPPOConfig, default_config, losses
from pamdp_bench.registry import make

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def small_config(**kw: Any) -> HPPOConfig:
    cfg = dataclasses.replace(default_config("CatchPoint-v0"), hidden_actor=(32, 32),
                              hidden_critic=(32, 32), epoch_steps=20, minibatch_size=10)
    return dataclasses.replace(cfg, **kw)


# --------------------------------------------------------------------------- losses
def test_gae_and_returns_hand_computed() -> None:
    # t1 is truncated (bootstraps V(final obs) = 7), t2 terminates, t3 ends the rollout.
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    v = jnp.array([0.5, 1.0, 1.5, 2.0])
    nv = jnp.array([1.0, 7.0, 1.5, 3.0])
    term = jnp.array([False, False, True, False])
    trunc = jnp.array([False, True, False, False])
    adv, ret = losses.gae_and_returns(r, v, nv, term, term | trunc, 0.9, 0.5)
    # deltas: 1 + .9 - .5 = 1.4; 2 + 6.3 - 1 = 7.3; 3 - 1.5 = 1.5; 4 + 2.7 - 2 = 4.7
    # adv: t0 = 1.4 + .45 * 7.3 (t1 is a path end, so t1..t3 do not chain)
    np.testing.assert_allclose(adv, [1.4 + 0.45 * 7.3, 7.3, 1.5, 4.7], rtol=1e-6)
    # rewards-to-go: t3 = 4 + .9 * 3; t2 = 3; t1 = 2 + .9 * 7; t0 = 1 + .9 * G1
    np.testing.assert_allclose(ret, [1.0 + 0.9 * 8.3, 8.3, 3.0, 6.7], rtol=1e-6)
    # HyAR's ``last_val = reward if done``: the terminating t2 bootstraps its own reward
    # (3 + .9 * 3); the truncation t1 and the rollout end t3 still bootstrap V(s').
    adv, ret = losses.gae_and_returns(r, v, nv, term, term | trunc, 0.9, 0.5, r)
    np.testing.assert_allclose(adv, [1.4 + 0.45 * 7.3, 7.3, 1.5 + 2.7, 4.7], rtol=1e-6)
    np.testing.assert_allclose(ret, [1.0 + 0.9 * 8.3, 8.3, 3.0 + 2.7, 6.7], rtol=1e-6)
    norm = losses.normalize(jnp.array([1.0, 3.0]), 0.0)
    np.testing.assert_allclose(norm, [-1.0, 1.0])


def test_run_on_truncation_chains_into_the_next_episode() -> None:
    """HyAR's Catch Point / Hard Move scripts reset at the step cap without closing the GAE
    path: the capped step t1 bootstraps from the next stored state (t2's, the next episode's
    first: V = 1.5, not V(final obs) = 7) and its advantage runs on through t2, t3."""
    cfg = dataclasses.replace(default_config("HardMove-n4-v0"), truncation="run_on",
                              gamma=0.9, gae_lambda=0.5)
    env, params = make("HardMove-n4-v0")
    agent = HPPO(env, params, cfg)
    buf = {"reward": jnp.array([1.0, 2.0, 3.0, 4.0]),
           "terminated": jnp.array([False, False, True, False]),
           "truncated": jnp.array([False, True, False, False])}
    v = jnp.array([0.5, 1.0, 1.5, 2.0])
    nv = jnp.array([1.0, 7.0, 1.5, 3.0])
    adv, ret = agent.advantages(buf, v, nv)
    d = [1.0 + 0.9 - 0.5, 2.0 + 0.9 * 1.5 - 1.0, 3.0 - 1.5, 4.0 + 0.9 * 3.0 - 2.0]
    a2 = d[2]  # t2 terminates: the path ends there
    a1 = d[1] + 0.45 * a2
    np.testing.assert_allclose(adv, [d[0] + 0.45 * a1, a1, a2, d[3]], rtol=1e-6)
    np.testing.assert_allclose(ret, [1 + 0.9 * (2 + 0.9 * 3), 2 + 0.9 * 3, 3.0, 4 + 0.9 * 3],
                               rtol=1e-6)
    boot = HPPO(env, params, dataclasses.replace(cfg, truncation="bootstrap"))
    adv_b, _ = boot.advantages(buf, v, nv)
    np.testing.assert_allclose(adv_b, [1.4 + 0.45 * 7.3, 7.3, 1.5, 4.7], rtol=1e-6)


def test_hyar_reading_and_protocol() -> None:
    # The defaults leave out three bugs of HyAR's code; its reading has them, the hyar
    # protocol selects that reading, and the defaults' config hash did not move.
    from pamdp_bench.agents import agent_config
    from pamdp_bench.harness.records import config_dict, config_hash
    from pamdp_bench.protocols import load_protocol

    base = default_config("Goal-v0")
    hy = default_config("Goal-v0", reading="hyar")
    assert (base.hyar_discrete_ratio, base.stochastic_eval, base.end_bootstrap) == (
        False, False, "value")
    assert (hy.hyar_discrete_ratio, hy.stochastic_eval, hy.end_bootstrap) == (
        True, True, "last_reward")
    assert dataclasses.replace(hy, hyar_discrete_ratio=False, stochastic_eval=False,
                               end_bootstrap="value", sources=base.sources) == base
    assert config_hash(base) != config_hash(hy)
    assert "end_bootstrap" not in config_dict(base)  # the new field keeps the defaults' hash
    assert load_protocol("hyar").agent_readings["hppo"] == "hyar"
    assert agent_config("hppo", "Goal-v0", "hyar").end_bootstrap == "last_reward"
    # the run-on GAE path belongs to HyAR's MPE scripts only
    assert hy.truncation == base.truncation == "bootstrap"
    assert default_config("HardMove-n6-v0", reading="hyar").truncation == "run_on"
    assert default_config("CatchPoint-v0", reading="hyar").truncation == "run_on"
    assert "truncation" not in config_dict(base)
    with pytest.raises(ValueError, match="truncation"):
        dataclasses.replace(base, truncation="cut")
    with pytest.raises(ValueError, match="reading"):
        default_config("Goal-v0", reading="nope")
    with pytest.raises(ValueError, match="end_bootstrap"):
        dataclasses.replace(base, end_bootstrap="zero")


def test_clipped_surrogate_hand_computed() -> None:
    ratio = jnp.array([0.5, 1.1, 1.5, 0.7])
    adv = jnp.array([1.0, -2.0, 3.0, -1.0])
    # min(r A, clip(r) A): 0.5, -2.2, min(4.5, 3.6) = 3.6, min(-0.7, -0.8) = -0.8
    loss = losses.clipped_surrogate(ratio, adv, 0.2)
    np.testing.assert_allclose(loss, -(0.5 - 2.2 + 3.6 - 0.8) / 4, rtol=1e-6)
    # Gradient flows only through the unclipped terms (t0, t1): d/dr = -A / 4.
    g = jax.grad(losses.clipped_surrogate)(ratio, adv, 0.2)
    np.testing.assert_allclose(g, [-0.25, 0.5, 0.0, 0.0], atol=1e-7)


def test_hybrid_logp_and_entropy_hand_computed() -> None:
    logits = jnp.log(jnp.array([[0.2, 0.3, 0.5]]))
    mean = jnp.array([[0.1, -0.2, 0.3]])
    log_std = jnp.log(jnp.array([1.0, 0.5, 2.0]))
    z = jnp.array([[0.6, 0.0, 0.3]])
    k = jnp.array([1])
    chosen = jnp.array([[False, True, True]])  # action 1 owns parameters 1 and 2
    lk, lz = losses.hybrid_logp(logits, mean, log_std, k, z, chosen)
    np.testing.assert_allclose(lk, [math.log(0.3)], rtol=1e-6)
    dim1 = -0.5 * (0.2 / 0.5) ** 2 - math.log(0.5) - HALF_LOG_2PI
    dim2 = -math.log(2.0) - HALF_LOG_2PI
    dim0 = -0.5 * 0.5**2 - HALF_LOG_2PI
    np.testing.assert_allclose(lz, [dim1 + dim2], rtol=1e-5)
    _, lz_all = losses.hybrid_logp(logits, mean, log_std, k, z, jnp.ones_like(chosen))
    np.testing.assert_allclose(lz_all, [dim0 + dim1 + dim2], rtol=1e-5)
    ref = jax.scipy.stats.norm.logpdf(z, mean, jnp.exp(log_std)).sum()
    np.testing.assert_allclose(lz_all, [ref], rtol=1e-5)
    hk, hz = losses.hybrid_entropy(logits, log_std, chosen)
    np.testing.assert_allclose(hk, [-(0.2 * math.log(0.2) + 0.3 * math.log(0.3)
                                      + 0.5 * math.log(0.5))], rtol=1e-5)
    np.testing.assert_allclose(hz, [math.log(0.5) + math.log(2.0) + 2 * (0.5 + HALF_LOG_2PI)],
                               rtol=1e-5)


def test_rollout_stores_old_logprobs_and_std_parameterisation() -> None:
    env = Bandit()
    assert int(HPPO(env, env.default_params, small_config()).param_mask(
        jnp.array([0, 1])).sum()) == 6  # HyAR's default: all P = 3 parameters enter
    agent = HPPO(env, env.default_params, small_config(param_logp="chosen"))
    state = agent.init(jax.random.key(0))
    # log_std = sum of 10 zero rows - 0.5: std starts at exp(-0.5).
    _, _, log_std = agent.policy(state.actor.params, state.obs)
    np.testing.assert_allclose(log_std, [-0.5] * 3, rtol=1e-6)
    state, _ = jax.jit(agent.train, static_argnums=1)(state, 7)
    buf = jax.tree.map(lambda x: x[:7], state.buffer)
    logits, mean, log_std = jax.jit(agent.policy)(state.actor.params, buf["obs"])
    mask = agent.param_mask(buf["k"])
    assert int(mask.sum()) == int(np.sum(1 + np.asarray(buf["k"])))  # k's slice: 1 or 2
    lk, lz = jax.jit(losses.hybrid_logp)(logits, mean, log_std, buf["k"], buf["z"], mask)
    np.testing.assert_allclose(lk, buf["logp_k"], rtol=1e-5)
    np.testing.assert_allclose(lz, buf["logp_z"], rtol=1e-5)
    assert np.all(np.abs(np.asarray(buf["z"])) <= 1.0)  # executed samples are clipped
    # Before any update the new policy equals the old one: every ratio is 1.
    adv = jnp.linspace(-1.0, 1.0, 7)
    loss, aux = jax.jit(agent.actor_loss)(state.actor.params, buf, adv)
    np.testing.assert_allclose(loss, 0.0, atol=1e-6)  # 2 * -mean(A), mean(A) = 0
    assert float(aux["clip_frac"]) == 0.0


def test_bad_config_rejected() -> None:
    with pytest.raises(ValueError, match="ratio_mode"):
        HPPOConfig(ratio_mode="both")
    with pytest.raises(ValueError, match="param_logp"):
        HPPOConfig(param_logp="some")


# ---------------------------------------------------------------- learning, determinism
@functools.cache
def bandit_run(mode: str) -> CompiledRun:
    """The bandit training run of one ratio mode (2000 steps), compiled once for the learning
    and the determinism tests."""
    cfg = small_config(lr_actor=3e-3, lr_critic=3e-3, actor_epochs=10, ratio_mode=mode,
                       param_logp="chosen" if mode == "joint" else "all")
    return CompiledRun("hppo", Bandit(), cfg, 2000)


# make test-long: 10-20 s each; H-PPO's losses are pinned in CI by the hand-computed cases above
# and its rollout bookkeeping by test_rollout_stores_old_logprobs_and_std_parameterisation
@pytest.mark.long
@pytest.mark.parametrize("mode", ["separate", "joint"])
def test_learns_one_step_bandit(mode: str) -> None:
    run = bandit_run(mode)
    state, metrics = run.run(0)
    k, z, reward = greedy_bandit_action(run.agent, state, run.env)
    assert int(k) == 1 and reward > 0.9, (k, z, reward)
    assert int(metrics["updates"]) == 100 and np.isfinite(float(metrics["loss_critic"]))


def test_deterministic_under_fixed_key() -> None:
    # The learning test's compiled run: key 0 twice is bitwise identical, key 1 differs.
    run = bandit_run("separate")
    a, b, c = run.run(0), run.run(0, fresh=True), run.run(1)
    assert_trees_bitwise_equal(a, b)
    assert not np.array_equal(np.asarray(a[0].actor.params["disc"][0]["w"]),
                              np.asarray(c[0].actor.params["disc"][0]["w"]))


@pytest.mark.long  # 22 s; chunked == uninterrupted training: test_runner's bitwise kill/resume
def test_exact_steps_and_chunking_invariance() -> None:
    # Two chunks of 35 steps give the same state as one chunk of 70 (rollouts of 20).
    env = Bandit()
    agent = HPPO(env, env.default_params, small_config(hidden_actor=(16,), hidden_critic=(16,)))
    state0 = agent.init(jax.random.key(3))
    train = jax.jit(agent.train, static_argnums=1)
    whole, m_whole = train(state0, 70)
    s = state0
    counts = []
    for _ in range(2):
        s, m = train(s, 35)
        counts.append((int(m["env_steps"]), int(s.buf_pos), int(m["updates_in_chunk"])))
    assert counts == [(35, 15, 1), (70, 10, 2)]
    assert (int(whole.env_steps), int(whole.buf_pos), int(m_whole["updates_in_chunk"])) == \
        (70, 10, 3)
    for u, v in zip(tree_arrays(whole), tree_arrays(s), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.long  # as HyAR's K=1024 check: a compilation per K, CI covers K<=16
def test_shapes_hard_move_k1024() -> None:
    env, params = make("HardMove-n10-v0")
    assert env.pamdp_space.num_actions == 1024 and env.pamdp_space.total_param_dim == 1024
    cfg = small_config(hidden_actor=(16,), hidden_critic=(16,), epoch_steps=8, minibatch_size=4)
    agent = HPPO(env, params, cfg)
    state = jax.jit(agent.init)(jax.random.key(0))
    state, metrics = jax.jit(agent.train, static_argnums=1)(state, 20)
    assert int(metrics["updates_in_chunk"]) == 2 and int(state.buf_pos) == 4
    assert state.buffer["z"].shape == (8, 1024)
    assert state.actor.params["log_std"].shape == (10, 1024)
    assert np.isfinite(float(metrics["loss_actor"]))
    for det in (True, False):
        k, z = agent.act(state, state.obs, jax.random.key(1), det)
        assert k.shape == () and z.shape == (1024,) and k.dtype == jnp.int32
        assert bool(env.pamdp_space.contains((k, z)))


def test_default_configs() -> None:
    from pamdp_bench.registry import BENCHMARK_IDS

    assert len(BENCHMARK_IDS) == 8
    for env_id in BENCHMARK_IDS:
        cfg = get_agent("hppo").default_config(env_id)
        assert (cfg.epoch_steps, cfg.critic_epochs, cfg.actor_epochs, cfg.minibatch_size) == \
            (50, 10, 2, 32)
        assert (cfg.lr_actor, cfg.lr_critic, cfg.gamma, cfg.gae_lambda, cfg.clip_ratio) == \
            (1e-4, 1e-3, 0.99, 0.95, 0.2)
        assert cfg.hidden_actor == cfg.hidden_critic == (256, 256) and cfg.sources
        e, p = make(env_id)
        agent = get_agent("hppo")(e, p, cfg)
        assert (agent.num_minibatches, agent.minibatch) == (1, 50)  # HyAR: one batch of 50


# --------------------------------------------------------------------------- harness
@pytest.mark.long  # 25 s in CI; the harness path runs in CI in test_runner/test_leaderboard
def test_short_run_under_harness(tmp_path: Any) -> None:
    from pamdp_bench.harness import runner

    def cfg(env_id: str) -> HPPOConfig:
        return dataclasses.replace(default_config(env_id), hidden_actor=(16,),
                                   hidden_critic=(16,))

    # Chunks of 35 env steps, rollouts of 50: the first update happens inside chunk 2.
    records = runner.train("hppo", "quick", str(tmp_path), envs=["Platform-v0"], seeds=2,
                           budget=70, eval_interval=35, eval_episodes=2, config=cfg,
                           progress=False)
    assert len(records) == 4
    with open(os.path.join(tmp_path, "results.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert sorted((r["seed"], r["env_steps"]) for r in rows) == [(0, 35), (0, 70), (1, 35),
                                                                  (1, 70)]
    for r in rows:
        assert 0.0 <= r["return_mean"] <= 1.0
        assert r["train_metrics"]["env_steps"] == r["env_steps"]
        assert r["train_metrics"]["updates_in_chunk"] == (0 if r["env_steps"] == 35 else 1)
