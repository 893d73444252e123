"""PA-DDPG / PATD3: losses against hand-computed cases (TD3 smoothing, clipping, twin min,
inverting gradients), delayed updates, learning a one-step bandit, determinism, K = 1024
shapes, default configs for every benchmark, and a short run under the harness."""

from __future__ import annotations

import dataclasses
import functools
import json
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
)

import pamdp_bench.baselines.paddpg  # noqa: F401  (registers "paddpg", "patd3")
from pamdp_bench.agents import get_agent
from pamdp_bench.baselines.paddpg import (
    PADDPGConfig,
    default_config,
    losses,
    mpdqn_paper_config,
    networks,
)
from pamdp_bench.registry import make

AGENTS = ["paddpg", "patd3"]


def small_config(name: str, **kw: Any) -> PADDPGConfig:
    cfg = dataclasses.replace(
        get_agent(name).default_config("CatchPoint-v0"), hidden_actor=(32, 32),
        hidden_critic=(32, 32), batch_size=32, buffer_size=2000, learning_starts=64,
        expl_noise_episodes=600, lr_actor=3e-3, lr_critic=3e-3, tau_actor=0.05,
        tau_critic=0.05)
    return dataclasses.replace(cfg, **kw)


# --------------------------------------------------------------------------- losses
def _linear_critic(p: jax.Array, o: jax.Array, a: jax.Array) -> jax.Array:
    return a @ p + o[:, 0]


def test_ddpg_critic_loss_hand_computed() -> None:
    # Q(s, a) = a . w + s0 with w = (1, 2, -1); mu'(s') = (0.5, -0.5, 0.2) constant.
    w = jnp.array([1.0, 2.0, -1.0])

    def actor_fn(p: Any, o: jax.Array) -> jax.Array:
        return jnp.broadcast_to(jnp.array([0.5, -0.5, 0.2]), (o.shape[0], 3))

    batch = {"obs": jnp.array([[1.0], [0.0]]), "action": jnp.array([[0.0, 1.0, 0.0],
                                                                    [1.0, 0.0, 1.0]]),
             "reward": jnp.array([1.0, 2.0]), "next_obs": jnp.array([[2.0], [-1.0]]),
             "terminated": jnp.array([False, True])}
    # Q(s, a) = (2 + 1, 1 - 1 + 0) = (3, 0); Q'(s') = 0.5 - 1 - 0.2 + s'0 = (1.3, -1.7)
    # y = (1 + 0.9 * 1.3, 2 + 0) = (2.17, 2)
    loss, q = losses.critic_loss(w, w, None, batch, 0.9, _linear_critic, actor_fn)
    np.testing.assert_allclose(q, [3.0, 0.0])
    np.testing.assert_allclose(loss, ((3 - 2.17) ** 2 + 4.0) / 2, rtol=1e-5)


def test_td3_critic_target_smoothing_clip_and_twin_min() -> None:
    # Two linear critics (w1, w2); mu'(s') = (0.8, -0.3, 0.0); the given (already clipped)
    # smoothing noise pushes the first entry past the bound, where it is clipped to 1.
    twin = jnp.array([[1.0, 1.0, 1.0], [2.0, -1.0, 0.5]])

    def actor_fn(p: Any, o: jax.Array) -> jax.Array:
        return jnp.broadcast_to(jnp.array([0.8, -0.3, 0.0]), (o.shape[0], 3))

    batch = {"obs": jnp.array([[0.0]]), "action": jnp.array([[0.5, 0.5, 0.5]]),
             "reward": jnp.array([0.1]), "next_obs": jnp.array([[0.5]]),
             "terminated": jnp.array([False])}
    noise = jnp.array([[0.5, -0.5, 0.4]])
    # a' = clip((1.3, -0.8, 0.4)) = (1, -0.8, 0.4)
    # Q1' = 1 - 0.8 + 0.4 + 0.5 = 1.1 ; Q2' = 2 + 0.8 + 0.2 + 0.5 = 3.5 ; min = 1.1
    # y = 0.1 + 0.99 * 1.1 = 1.189 ; Q1(s, a) = 1.5, Q2(s, a) = 1 - 0.5 + 0.25 = 0.75
    loss, q1 = losses.critic_loss(twin, twin, None, batch, 0.99, _linear_critic, actor_fn,
                                  twin=True, noise=noise)
    np.testing.assert_allclose(q1, [1.5])
    np.testing.assert_allclose(loss, (1.5 - 1.189) ** 2 + (0.75 - 1.189) ** 2, rtol=1e-5)
    # Truncated (not terminated) transitions bootstrap; terminated ones do not.
    done = {**batch, "terminated": jnp.array([True])}
    loss_t, _ = losses.critic_loss(twin, twin, None, done, 0.99, _linear_critic, actor_fn,
                                   twin=True, noise=noise)
    np.testing.assert_allclose(loss_t, (1.5 - 0.1) ** 2 + (0.75 - 0.1) ** 2, rtol=1e-5)


def test_actor_loss_inverting_gradients_hand_computed() -> None:
    # Q(s, a) = a . w (K = 1 score, P = 2 params); mu(s) = s * theta elementwise; batch 2.
    w = jnp.array([2.0, -4.0, 1.0])  # dmean_b Q / da = w / 2 = (1, -2, 0.5)
    obs = jnp.array([[0.5, 0.5, -0.5], [-0.5, 1.0, 0.8]])
    theta = jnp.array([1.0, 0.4, 1.0])
    # a = [[0.5, 0.2, -0.5], [-0.5, 0.4, 0.8]]

    def critic_fn(p: jax.Array, o: jax.Array, a: jax.Array) -> jax.Array:
        return a @ p

    def actor_fn(p: jax.Array, o: jax.Array) -> jax.Array:
        return o * p

    def grad(**kw: Any) -> jax.Array:
        return jax.grad(lambda t: losses.actor_loss(t, w, obs, critic_fn, actor_fn, 1,
                                                    **kw)[0])(theta)

    # inverted delta: up g*(1-a)/2, down g*(a+1)/2
    # sample 0: (1*0.5/2, -2*1.2/2, 0.5*1.5/2) = (0.25, -1.2, 0.375)
    # sample 1: (1*1.5/2, -2*1.4/2, 0.5*0.2/2) = (0.75, -1.4, 0.05)
    # dloss/dtheta_i = -sum_b delta_bi * obs_bi
    want = [-(0.25 * 0.5 + 0.75 * -0.5), -(-1.2 * 0.5 + -1.4 * 1.0),
            -(0.375 * -0.5 + 0.05 * 0.8)]
    np.testing.assert_allclose(grad(), want, rtol=1e-5)
    # invert_scores=False leaves the score's delta (1, 1) un-inverted (HyAR inverts it).
    want_raw_score = [-(1.0 * 0.5 + 1.0 * -0.5), want[1], want[2]]
    np.testing.assert_allclose(grad(invert_scores=False), want_raw_score, rtol=1e-5, atol=1e-7)
    # No inversion at all: plain -mean_b Q.
    np.testing.assert_allclose(grad(inverting=False),
                               -(np.asarray(w) / 2 * np.asarray(obs)).sum(0), rtol=1e-5)


def test_actor_shapes_and_squash() -> None:
    params = networks.init_actor(jax.random.key(0), 4, 7, (8,))
    out = networks.actor_forward(params, 100.0 * jnp.ones((3, 4)))
    assert out.shape == (3, 7) and float(jnp.max(jnp.abs(out))) <= 1.0
    assert networks.critic_forward(networks.init_critic(jax.random.key(1), 4, 7, (8,)),
                                   jnp.ones((3, 4)), out).shape == (3,)


# ---------------------------------------------------------------- updates, learning
# make test-long: 22-28 s; the delay schedule itself (td3.is_delayed) is pinned in CI by
# test_common
@pytest.mark.long
def test_td3_delays_actor_and_target_updates() -> None:
    env = Bandit()
    for name, moved_after_one in (("paddpg", True), ("patd3", False)):
        cfg = small_config(name, batch_size=4, learning_starts=4)
        agent = get_agent(name)(env, env.default_params, cfg)
        step = jax.jit(agent.train, static_argnums=1)  # one compiled one-step chunk
        s0 = jax.jit(agent.init)(jax.random.key(0))
        for _ in range(3):  # three env steps: no update yet
            s0, m0 = step(s0, 1)
            assert int(m0["updates_in_chunk"]) == 0
        s1, m1 = step(s0, 1)  # update 1
        s2, _ = step(s1, 1)  # update 2
        assert int(m1["updates_in_chunk"]) == 1
        a0, a1, a2 = (np.asarray(s.learner.actor.params[0]["w"]) for s in (s0, s1, s2))
        t0, t1 = (np.asarray(s.learner.critic_target[0]["w"]) for s in (s0, s1))
        assert (not np.array_equal(a0, a1)) == moved_after_one, name
        assert (not np.array_equal(t0, t1)) == moved_after_one, name
        assert not np.array_equal(a1, a2), name  # TD3 updates the actor on update 2


@functools.cache
def bandit_run(name: str) -> CompiledRun:
    """The bandit training run of ``name`` (1500 steps), compiled once for the learning and
    the determinism tests."""
    return CompiledRun(name, Bandit(), small_config(name), 1500)


# CI: PA-DDPG; PATD3 in make test-long (its delays: test_td3_delays_actor_and_target_updates)
@pytest.mark.parametrize("name", [
    a if a == "paddpg" else pytest.param(a, marks=pytest.mark.long) for a in AGENTS])
def test_learns_one_step_bandit(name: str) -> None:
    run = bandit_run(name)
    state, metrics = run.run(0)
    k, z, reward = greedy_bandit_action(run.agent, state, run.env)
    # Best reward 1 (k=1, z=(., -0.4, 0.3)); action 0 gives at most 0.5.
    assert int(k) == 1 and reward > 0.93, (k, z, reward)
    assert np.isfinite(float(metrics["loss_critic"]))
    assert float(metrics["expl_noise"]) == pytest.approx(0.1)


# make test-long: 24 s (PATD3's bandit run, also long); bitwise determinism of train chunks:
# test_runner's kill/resume
@pytest.mark.long
def test_deterministic_under_fixed_key() -> None:
    # The learning test's compiled run: key 0 twice is bitwise identical, key 1 differs.
    run = bandit_run("patd3")
    a, b, c = run.run(0), run.run(0, fresh=True), run.run(1)
    assert_trees_bitwise_equal(a, b)
    assert not np.array_equal(np.asarray(a[0].learner.actor.params[0]["w"]),
                              np.asarray(c[0].learner.actor.params[0]["w"]))


@pytest.mark.long  # as HyAR's K=1024 check: a compilation per K, CI covers K<=16
def test_shapes_hard_move_k1024() -> None:
    env, params = make("HardMove-n10-v0")
    assert env.pamdp_space.num_actions == 1024 and env.pamdp_space.total_param_dim == 1024
    cfg = dataclasses.replace(default_config("HardMove-n10-v0", twin=True),
                              hidden_actor=(16,), hidden_critic=(16,), batch_size=4,
                              learning_starts=4, buffer_size=64)
    agent = get_agent("patd3")(env, params, cfg)
    state = jax.jit(agent.init)(jax.random.key(0))
    state, metrics = jax.jit(agent.train, static_argnums=1)(state, 6)
    assert int(metrics["updates_in_chunk"]) == 3
    assert agent.actor_fn(state.learner.actor.params, state.obs).shape == (2048,)
    assert state.buffer.experience["action"].shape[-1] == 2048  # scores + all parameters
    assert np.isfinite(float(metrics["loss_critic"]))
    k, z = agent.act(state, state.obs, jax.random.key(1), True)
    assert k.shape == () and z.shape == (1024,) and k.dtype == jnp.int32
    a = agent.actor_fn(state.learner.actor.params, state.obs)
    assert int(k) == int(jnp.argmax(a[:1024])) and np.allclose(z, a[1024:])


def test_default_configs_and_flags() -> None:
    from pamdp_bench.registry import BENCHMARK_IDS

    ddpg, td3 = default_config("Platform-v0"), get_agent("patd3").default_config("Platform-v0")
    assert (ddpg.batch_size, ddpg.gamma, ddpg.tau_actor, ddpg.buffer_size,
            ddpg.learning_starts) == (128, 0.99, 0.005, 100_000, 128)
    assert (td3.twin, td3.target_noise, td3.target_noise_clip, td3.policy_delay) == (
        True, 0.2, 0.5, 2)
    assert (ddpg.actor_max_grad_norm, td3.actor_max_grad_norm) == (1.0, 10.0)
    assert (ddpg.expl_noise_initial, ddpg.expl_noise_final, ddpg.expl_noise_episodes) == (
        1.0, 0.1, 1000)
    assert ddpg.sources and td3.sources
    assert mpdqn_paper_config("Platform-v0").batch_size == 32
    with pytest.raises(ValueError, match="Platform and Goal"):
        mpdqn_paper_config("CatchPoint-v0")
    env, params = make("Platform-v0")
    # Variants are config fields (presets), not classes: a class runs its config's variant.
    critic = jax.eval_shape(get_agent("patd3")(env, params, ddpg).init,
                            jax.random.key(0)).learner.critic.params
    assert critic[0]["w"].ndim == 2  # one critic, not a stacked pair
    for env_id in BENCHMARK_IDS:  # every benchmark builds with its defaults
        e, p = make(env_id)
        for name in AGENTS:
            agent = get_agent(name)(e, p, get_agent(name).default_config(env_id))
            assert agent.action_dim == e.pamdp_space.num_actions + e.pamdp_space.total_param_dim


@pytest.mark.long  # CI time (28 s); the harness path runs in CI with pdqn and hppo
# --------------------------------------------------------------------------- harness
def test_short_run_under_harness(tmp_path: Any) -> None:
    from pamdp_bench.harness import runner

    def cfg(env_id: str) -> PADDPGConfig:
        return dataclasses.replace(get_agent("patd3").default_config(env_id),
                                   hidden_actor=(16,), hidden_critic=(16,), batch_size=16,
                                   learning_starts=32)

    records = runner.train("patd3", "quick", str(tmp_path), envs=["Platform-v0"], seeds=2,
                           budget=100, eval_interval=50, eval_episodes=2, config=cfg,
                           progress=False)
    assert len(records) == 4
    with open(os.path.join(tmp_path, "results.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert sorted((r["seed"], r["env_steps"]) for r in rows) == [(0, 50), (0, 100), (1, 50),
                                                                  (1, 100)]
    for r in rows:
        assert 0.0 <= r["return_mean"] <= 1.0
        assert r["train_metrics"]["env_steps"] == r["env_steps"]
        assert r["train_metrics"]["updates_in_chunk"] == (19 if r["env_steps"] == 50 else 50)
