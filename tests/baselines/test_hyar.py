"""HyAR-TD3 / HyAR-DDPG: VAE loss, nearest-embedding decoding, LSC bounds, relabelling and TD3
targets against hand-computed cases; learning a one-step bandit; determinism; K = 1024 shapes;
default configs; a short harness run with uncounted warm-up steps."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from bandit_env import Bandit, assert_trees_bitwise_equal, train_agent

import pamdp_bench.baselines.hyar  # noqa: F401  (registers hyar_td3, hyar_ddpg)
from pamdp_bench.agents import get_agent
from pamdp_bench.baselines.hyar import HyARConfig, agent, default_config, losses
from pamdp_bench.baselines.hyar import vae as vae_lib
from pamdp_bench.registry import BENCHMARK_IDS, env_spec, make


def tiny_config(name: str = "hyar_td3", **kw: Any) -> HyARConfig:
    cfg = dataclasses.replace(
        get_agent(name).default_config("CatchPoint-v0"), discrete_emb_dim=3, param_emb_dim=3,
        hidden=(32, 32), vae_hidden=32, batch_size=32, buffer_size=2000, vae_buffer_size=4000,
        warmup_episodes=300, vae_pretrain_steps=300, vae_online_start=0, vae_interval=25,
        lsc_samples=500, expl_noise_episodes=400, learning_starts=64, lr_actor=1e-3,
        lr_critic=1e-3, vae_lr=1e-3, vae_fresh_adam=False, warmup_block=1)
    return dataclasses.replace(cfg, **kw)


# ------------------------------------------------------------------------- VAE pieces
def test_vae_loss_terms_hand_computed() -> None:
    x_hat = jnp.array([[0.5], [0.0]])
    x = jnp.array([[0.0], [1.0]])  # errors^2: 0.25, 1 -> mean 0.625
    ds_hat = jnp.array([[0.1, 0.2], [0.0, 0.0]])
    ds = jnp.array([[0.1, 0.0], [0.2, 0.0]])  # errors^2: 0, 0.04, 0.04, 0 -> mean 0.02
    mean = jnp.array([[1.0], [0.0]])
    std = jnp.array([[1.0], [jnp.exp(1.0)]])
    # KL per element: -0.5 (1 + log s^2 - m^2 - s^2): (0.5, -0.5 (1 + 2 - e^2)) -> mean
    kl_want = (0.5 + -0.5 * (3.0 - np.e**2)) / 2
    rs, rx, kl = vae_lib.vae_loss_terms(x_hat, ds_hat, mean, std, x, ds)
    np.testing.assert_allclose([rs, rx, kl], [0.02, 0.625, kl_want], rtol=1e-5)
    # The total weights them 1 : 2 : 0.5 (same key -> same sample).
    p = vae_lib.init_vae(jax.random.key(0), 2, 3, 2, 1, 2, 8)
    batch = {"obs": jnp.ones((4, 2)), "k": jnp.array([0, 1, 2, 0]), "x": jnp.full((4, 1), 0.3),
             "ds": jnp.full((4, 2), -0.1)}
    loss, terms = vae_lib.vae_loss(p, jax.random.key(1), batch)
    want = terms["recon_s"] + 2.0 * terms["recon_x"] + 0.5 * terms["kl"]
    np.testing.assert_allclose(loss, want, rtol=1e-6)


def test_decode_picks_nearest_embedding() -> None:
    table = jnp.array([[0.9, 0.0], [0.0, 0.9], [-0.5, -0.5]])  # tanh(E)
    p = {"emb": jnp.arctanh(table)}
    d = jnp.array([[0.6, 0.1], [0.2, 0.7], [-0.1, -0.2], [1.0, 1.0]])
    # distances^2 row 3: (0.01+1)=1.01, (1+0.01)=1.01 tie? use exact values:
    np.testing.assert_array_equal(vae_lib.nearest(p, d[:3]), [0, 1, 2])
    # (1, 1): to row 0: 0.01 + 1 = 1.01, row 1: 1.01, row 2: 4.5 -> first of the tie
    assert int(vae_lib.nearest(p, d[3])) == 0
    np.testing.assert_allclose(vae_lib.embed(p, jnp.array([2])), [[-0.5, -0.5]], rtol=1e-6)


def test_lsc_percentile_bounds_known_sample() -> None:
    n = 5000
    perm = np.random.default_rng(0).permutation(n).astype(np.float32)
    z = jnp.stack([jnp.asarray(perm), -2.0 * jnp.asarray(perm)], axis=1)
    b = vae_lib.latent_bounds(z, 2.0)  # border = int(2 * 5000 / 100) = 100
    np.testing.assert_allclose(b, [[100.0, 4899.0], [-2.0 * 4899.0, -200.0]])
    np.testing.assert_allclose(vae_lib.to_latent(jnp.array([-1.0, 1.0]), b), [100.0, -200.0])
    np.testing.assert_allclose(vae_lib.to_latent(jnp.array([1.0, 0.0]), b),
                               [4899.0, (-9798.0 - 200.0) / 2])
    a = jnp.array([0.3, -0.7])
    np.testing.assert_allclose(vae_lib.from_latent(vae_lib.to_latent(a, b), b), a, rtol=1e-4)


def test_vae_convergence_check() -> None:
    # 3 losses [3, 2, 1] (newest first: 1, 2, 3): mean last 3 = mean all -> stops.
    hist = jnp.array([1.0, 2.0, 3.0] + [0.0] * 7)
    assert bool(agent.converged(hist, jnp.int32(3), 1e-5))
    # 10 decreasing losses 10..1: mean(last 5) = 3 < mean(last 10) = 5.5 -> continue.
    hist = jnp.arange(1.0, 11.0)
    assert not bool(agent.converged(hist, jnp.int32(10), 1e-5))
    # Flat: stop. One loss: always stops (so vae_train(1) is exactly one step).
    assert bool(agent.converged(jnp.ones(10), jnp.int32(10), 1e-5))
    assert bool(agent.converged(jnp.array([5.0] + [0.0] * 9), jnp.int32(1), 1e-5))


# --------------------------------------------------------------------------- relabel
def test_relabel_rules_hand_cases(monkeypatch: Any) -> None:
    table = jnp.array([[0.5, 0.0], [-0.5, 0.0]])
    p = {"emb": jnp.arctanh(table)}
    bounds = jnp.array([[-2.0, 2.0]])  # actor a -> 2a

    def decode(params: Any, obs: jax.Array, z: jax.Array, e_k: jax.Array) -> tuple:
        return jnp.zeros((obs.shape[0], 1)), jnp.broadcast_to(z, (obs.shape[0], 2))

    def encode(params: Any, obs: jax.Array, e_k: jax.Array, x: jax.Array, *a: Any) -> tuple:
        return jnp.full((obs.shape[0], 1), 1.0), jnp.zeros((obs.shape[0], 1))

    monkeypatch.setattr(vae_lib, "decode", decode)
    monkeypatch.setattr(vae_lib, "encode", encode)
    batch = {"obs": jnp.zeros((3, 1)), "k": jnp.array([0, 0, 1]),
             "d_emb": jnp.array([[0.4, 0.1], [-0.6, 0.0], [-0.3, 0.2]]),
             "p_emb": jnp.array([[0.1], [0.5], [-0.2]]), "x": jnp.zeros((3, 1)),
             "ds": jnp.array([[0.1, 0.1], [0.0, 0.0], [0.0, 0.0]])}
    # Decoder ds_hat = p_emb (actor space, as the original): errors (0, 0.25, 0.04);
    # threshold 5 * recon_s = 0.2 -> keep, relabel, keep. Encoder sample z = 1 -> actor 0.5.
    d, pe, dk, pk = losses.relabel(p, jax.random.key(0), batch, bounds, jnp.float32(0.04),
                                   discrete_noise=0.0, noise_clip=0.5, state_factor=5.0)
    np.testing.assert_array_equal(dk, [True, False, True])
    np.testing.assert_array_equal(pk, [True, False, True])
    np.testing.assert_allclose(d, [[0.4, 0.1], [0.5, 0.0], [-0.3, 0.2]], rtol=1e-6)
    np.testing.assert_allclose(pe, [[0.1], [0.5], [-0.2]], rtol=1e-6)
    # Decoder fed the latent instead (2 p_emb): errors (0.01, 1, 0.16): keep, relabel, keep.
    _, _, _, pk2 = losses.relabel(p, jax.random.key(0), batch, bounds, jnp.float32(0.02),
                                  discrete_noise=0.0, noise_clip=0.5, state_factor=5.0,
                                  predict_in_latent=True)
    np.testing.assert_array_equal(pk2, [True, False, False])
    # Discrete noise is clipped to +-noise_clip and the result to [-1, 1].
    d3, *_ = losses.relabel(p, jax.random.key(0), batch, bounds, jnp.float32(0.04),
                            discrete_noise=100.0, noise_clip=0.5, state_factor=5.0)
    assert np.all(np.abs(np.asarray(d3[1]) - np.asarray(table[0])) <= 0.5 + 1e-6)


# -------------------------------------------------------------------------- RL losses
def test_td3_target_smoothing_latent_actor() -> None:
    # Critic c: Q = w_c . concat(d, p) + s0; target actor: d' = (0.5,), p' = (0.8,).
    def q_fn(w: jax.Array, o: jax.Array, d: jax.Array, p: jax.Array) -> jax.Array:
        return d[:, 0] * w[0] + p[:, 0] * w[1] + o[:, 0]

    def actor_fn(a: Any, o: jax.Array) -> tuple:
        n = o.shape[0]
        return jnp.full((n, 1), 0.5), jnp.full((n, 1), 0.8)

    critics = jnp.array([[1.0, 2.0], [2.0, 1.0]])
    batch = {"obs": jnp.array([[0.0]]), "d_emb": jnp.array([[0.0]]), "p_emb": jnp.array([[1.0]]),
             "reward": jnp.array([0.5]), "next_obs": jnp.array([[1.0]]),
             "terminated": jnp.array([False])}
    noise = (jnp.array([[0.7]]), jnp.array([[-0.1]]))
    # a' = (clip(1.2) = 1, 0.7): Q1' = 1 + 1.4 + 1 = 3.4, Q2' = 2 + 0.7 + 1 = 3.7 -> min 3.4
    # target = 0.5 + 0.9 * 3.4 = 3.56; Q1(s) = 2, Q2(s) = 1
    loss, q = losses.critic_loss(critics, critics, None, batch, 0.9, q_fn, actor_fn, noise)
    np.testing.assert_allclose(q, [2.0])
    np.testing.assert_allclose(loss, (2.0 - 3.56) ** 2 + (1.0 - 3.56) ** 2, rtol=1e-5)
    # Terminal: no bootstrap.
    loss_t, _ = losses.critic_loss(critics, critics, None, {**batch, "terminated":
                                   jnp.array([True])}, 0.9, q_fn, actor_fn, noise)
    np.testing.assert_allclose(loss_t, 1.5**2 + 0.5**2, rtol=1e-5)


def test_actor_loss_inverting_gradients() -> None:
    # Q = 2 d - 3 p; actor outputs (theta_d, theta_p) directly; one sample.
    def q_fn(c: Any, o: jax.Array, d: jax.Array, p: jax.Array) -> jax.Array:
        return 2.0 * d[:, 0] - 3.0 * p[:, 0]

    def actor_fn(t: jax.Array, o: jax.Array) -> tuple:
        return t[None, :1], t[None, 1:]

    theta = jnp.array([0.5, 0.2])
    g = jax.grad(lambda t: losses.actor_loss(t, None, jnp.zeros((1, 1)), q_fn, actor_fn)[0])(
        theta)
    # up-gradient 2 scaled by (1 - 0.5)/2; down-gradient -3 scaled by (0.2 + 1)/2
    np.testing.assert_allclose(g, [-2.0 * 0.25, 3.0 * 0.6], rtol=1e-6)


@pytest.mark.long  # CI time (35 s): HyAR learning; CI keeps its schedule and contract tests
# ---------------------------------------------------------------- learning, determinism
def test_learns_one_step_bandit() -> None:
    env = Bandit()
    ag, (state, metrics) = train_agent("hyar_td3", env, tiny_config(), 2000)
    assert int(metrics["warmup_steps"]) == 300 and int(metrics["env_steps"]) == 2000
    rewards = []
    for i in range(5):
        k, z = ag.act(state, jnp.array([1.0, -1.0], jnp.float32), jax.random.key(i), True)
        assert bool(env.pamdp_space.contains((k, z)))
        _, es = env.reset_env(jax.random.key(0), env.default_params)
        rewards.append(float(env.step_env(jax.random.key(0), es, (k, z),
                                          env.default_params)[2]))
    # Best reward 1; action 0 gives at most 0.5.
    assert int(k) == 1 and min(rewards) > 0.9, (k, z, rewards)
    assert np.isfinite(float(metrics["loss_critic"]))


@pytest.mark.long  # 22 s; the shared off-policy loop's determinism is pinned in CI (P-DQN,
# PA-DDPG, QMLE); HyAR's own warm-up and VAE path only here
def test_deterministic_under_fixed_key() -> None:
    env = Bandit()
    cfg = tiny_config(warmup_episodes=20, vae_pretrain_steps=5, lsc_samples=100,
                      learning_starts=16, vae_interval=10, vae_sync_steps=1)
    ag = get_agent("hyar_td3")(env, env.default_params, cfg)

    @jax.jit
    def run(key: jax.Array) -> Any:
        return ag.train(ag.init(key), 60)

    a, b, c = run(jax.random.key(0)), run(jax.random.key(0)), run(jax.random.key(1))
    assert_trees_bitwise_equal(a, b)
    assert not np.array_equal(np.asarray(a[0].vae.params["emb"]),
                              np.asarray(c[0].vae.params["emb"]))
    # Online VAE calls ran every 10 episodes (60 one-step episodes -> 6 calls, 1 step each),
    # after the 5..15 pre-training steps.
    assert 5 + 6 <= int(a[1]["vae_steps"]) <= 15 + 6


@pytest.mark.parametrize(("sync", "runs_at"), [
    pytest.param(1, {10: 1, 20: 1, 30: 1, 40: 1, 50: 1, 60: 1}, marks=pytest.mark.long),
    pytest.param(16, {16: 1, 32: 2, 48: 1}, marks=pytest.mark.long)])  # CI time: 20 s each
def test_online_vae_calls_run_at_sync_steps(sync: int, runs_at: dict[int, int]) -> None:
    """One-step episodes, a call due every 10th: with ``vae_sync_steps=1`` each runs at its
    episode's step (the original); with 16 the due calls run together at steps 16, 32, 48
    (calls of episodes 50 and 60 still pending), and the LSC bounds change only there."""
    env = Bandit()
    cfg = tiny_config(warmup_episodes=4, vae_pretrain_steps=2, lsc_samples=32, vae_interval=10,
                      vae_sync_steps=sync, learning_starts=1000)
    ag = get_agent("hyar_td3")(env, env.default_params, cfg)
    step = jax.jit(lambda s: ag.train(s, 1)[0])
    state = step(ag.init(jax.random.key(0)))  # warm-up + the first counted step
    seen, bounds = {}, np.asarray(state.bounds)
    for _ in range(59):
        before = int(state.vae_steps)
        state = step(state)
        new_bounds = np.asarray(state.bounds)
        if int(state.vae_steps) > before:
            seen[int(state.env_steps)] = int(state.vae_steps) - before
            assert not np.array_equal(new_bounds, bounds)
        else:
            assert np.array_equal(new_bounds, bounds)
        bounds = new_bounds
    assert seen == runs_at
    assert int(state.vae_pending) == 6 - sum(runs_at.values())


@pytest.mark.long  # minutes of CI budget; CI keeps HyAR's contracts (test_jit_once)
def test_shapes_hard_move_k1024_and_ddpg() -> None:
    env, params = make("HardMove-n10-v0")
    assert env.pamdp_space.num_actions == 1024
    for name in ("hyar_td3", "hyar_ddpg"):
        cfg = dataclasses.replace(
            get_agent(name).default_config("HardMove-n10-v0"), hidden=(16,), vae_hidden=16,
            batch_size=4, learning_starts=4, buffer_size=64, vae_buffer_size=256,
            warmup_episodes=2, vae_pretrain_steps=2, vae_batch_size=8, lsc_samples=50,
            warmup_block=1)
        ag = get_agent(name)(env, params, cfg)
        state = jax.jit(ag.init)(jax.random.key(0))
        assert state.vae.params["emb"].shape == (1024, 6)
        critics = jax.tree.leaves(state.learner.critic.params)[0].shape[0]
        assert critics == (2 if name == "hyar_td3" else 1)
        state, metrics = jax.jit(ag.train, static_argnums=1)(state, 6)
        assert int(metrics["updates_in_chunk"]) == 3
        assert 2 <= int(metrics["warmup_steps"]) <= 2 * int(params.max_steps_in_episode)
        assert np.isfinite(float(metrics["loss_critic"]))
        k, z = ag.act(state, state.obs, jax.random.key(1), True)
        assert k.shape == () and z.shape == (1024,) and k.dtype == jnp.int32
        assert bool(env.pamdp_space.contains((k, z)))


def test_default_configs_all_benchmarks() -> None:
    assert default_config("Platform-v0").warmup_episodes == 5000
    assert default_config("Goal-v0").warmup_episodes == 20_000
    assert default_config("HardGoal-v0", twin=False).gamma == 0.9
    ddpg = default_config("Platform-v0", twin=False)  # HyAR-DDPG's own argparse learning rates
    assert (ddpg.lr_actor, ddpg.lr_critic) == (1e-4, 1e-3)
    assert (default_config("Platform-v0").lr_actor, default_config("Platform-v0").lr_critic) == (
        3e-4, 3e-4)
    assert default_config("Goal-v0").gamma == 0.99
    cp = default_config("CatchPoint-v0")
    assert (cp.discrete_emb_dim, cp.param_emb_dim) == (4, 4)
    assert default_config("HardMove-n4-v0").buffer_size == 1_000_000
    assert get_agent("hyar_ddpg").default_config("Platform-v0").twin is False
    env, params = make("Platform-v0")
    # Variants are config fields (presets), not classes: a class runs its config's variant.
    assert get_agent("hyar_ddpg")(env, params, default_config("Platform-v0")).num_critics == 2
    assert get_agent("hyar_td3")(env, params, default_config("Platform-v0", twin=False)
                                 ).num_critics == 1
    for env_id in BENCHMARK_IDS:
        e, p = make(env_id)
        for name in ("hyar_td3", "hyar_ddpg"):
            cfg = get_agent(name).default_config(env_id)
            assert cfg.sources
            get_agent(name)(e, p, cfg)


def test_end_episode_at_eval_defaults() -> None:
    # On for the envs whose scripts play the episode out at evaluation points.
    for env_id in BENCHMARK_IDS:
        for twin in (True, False):
            want = env_spec(env_id).family in ("platform", "goal")
            assert default_config(env_id, twin=twin).end_episode_at_eval == want, env_id


# make test-long: 44 s in CI (a HyAR train compile); the defaults stay in CI just above, the
# cut itself (baselines/common/offpolicy.py) in test_pdqn
@pytest.mark.long
def test_a_cut_episode_is_finished_for_the_vae_schedule() -> None:
    # A cut episode is a finished one for HyAR's bookkeeping: each 3-step chunk on Platform
    # ends with a fresh episode and, with a VAE call due every episode, one more VAE step.
    env, params = make("Platform-v0")
    cfg = tiny_config(warmup_episodes=2, vae_pretrain_steps=2, lsc_samples=32, vae_interval=1,
                      vae_sync_steps=1, learning_starts=1000, end_episode_at_eval=True)
    ag = get_agent("hyar_td3")(env, params, cfg)
    step = jax.jit(lambda s: ag.train(s, 3)[0])
    state = step(ag.init(jax.random.key(0)))
    for _ in range(3):
        before = (int(state.episodes), int(state.vae_steps))
        state = step(state)
        assert int(state.env_state.time) == 0
        assert int(state.episodes) > before[0] and int(state.vae_steps) > before[1]
    assert int(state.env_steps) == 12


@pytest.mark.long  # 60 s; the warm-up block accounting is pinned in CI (test_warmup_blocks_*)
# --------------------------------------------------------------------------- harness
def test_short_run_under_harness_warmup_not_counted(tmp_path: Any) -> None:
    from pamdp_bench.harness import runner

    def cfg(env_id: str) -> HyARConfig:
        return dataclasses.replace(
            get_agent("hyar_td3").default_config(env_id), hidden=(16,), vae_hidden=16,
            batch_size=16, learning_starts=32, buffer_size=500, vae_buffer_size=2000,
            warmup_episodes=5, vae_pretrain_steps=3, lsc_samples=64)

    records = runner.train("hyar_td3", "quick", str(tmp_path), envs=["Platform-v0"], seeds=2,
                           budget=100, eval_interval=50, eval_episodes=2, config=cfg,
                           progress=False)
    assert len(records) == 4
    with open(os.path.join(tmp_path, "results.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert sorted((r["seed"], r["env_steps"]) for r in rows) == [(0, 50), (0, 100), (1, 50),
                                                                  (1, 100)]
    for r in rows:
        assert r["warmup_steps"] >= 5  # five random episodes, at least one step each
        assert r["train_metrics"]["env_steps"] == r["env_steps"]  # warm-up not counted
        assert r["train_metrics"]["updates_in_chunk"] == (19 if r["env_steps"] == 50 else 50)
    by_seed = {}
    for r in rows:
        by_seed.setdefault(r["seed"], set()).add(r["warmup_steps"])
    assert all(len(v) == 1 for v in by_seed.values())  # cumulative, done once


@pytest.mark.parametrize(("block", "expected"), [pytest.param(1, 20, marks=pytest.mark.long),
                                                 pytest.param(8, 24, marks=pytest.mark.long)])
# both cases in make test-long (22 s each in CI)
def test_warmup_blocks_overshoot_at_most_one_block(block: int, expected: int) -> None:
    """Warm-up runs in scans of ``warmup_block`` steps: 20 one-step episodes take exactly 20
    steps with blocks of 1 (the original's stop) and 3 blocks of 8 = 24 steps with blocks of 8."""
    env = Bandit()
    cfg = tiny_config(warmup_episodes=20, vae_pretrain_steps=2, lsc_samples=32,
                      warmup_block=block)
    ag = get_agent("hyar_td3")(env, env.default_params, cfg)
    state, metrics = jax.jit(lambda k: ag.train(ag.init(k), 1))(jax.random.key(0))
    assert int(metrics["warmup_steps"]) == expected
    assert int(state.warmup_episodes) == expected


def test_warmup_recorded_is_before_chunk_plus_its_transitions() -> None:
    """The datasets' medium-replay includes HyAR's uncounted warm-up (§6.3): the recorded
    warm-up leaves the state ``before_chunk`` leaves (bitwise), and its transitions are the
    random episodes it played, in order (whole blocks: past the last episode end)."""
    env, params = make("CatchPoint-v0")
    cfg = tiny_config(warmup_episodes=3, warmup_block=8, vae_pretrain_steps=2, lsc_samples=32)
    ag = get_agent("hyar_td3")(env, params, cfg)
    assert ag.unrecorded_steps() is None
    s0 = jax.jit(ag.init)(jax.random.key(5))  # 3 episodes end at steps 25, 49, 69 of 72
    want = jax.jit(ag.before_chunk)(s0)
    got, rec = ag.warmup_recorded(s0)
    assert_trees_bitwise_equal(want, got)
    n = int(got.warmup_steps)
    assert n % 8 == 0 and {k: v.shape[0] for k, v in rec.items()} == dict.fromkeys(rec, n)
    ends = rec["terminated"] | rec["truncated"]
    assert int(ends.sum()) == int(got.warmup_episodes) >= 3
    inside = ~ends[:-1]
    np.testing.assert_allclose(rec["obs"][1:][inside], rec["next_obs"][:-1][inside],
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(rec["obs"][0], np.asarray(s0.obs))
    assert not ends[-1]  # the running episode goes on into training
    np.testing.assert_array_equal(rec["next_obs"][-1], np.asarray(got.obs))
    assert rec["z"].shape == (n, env.pamdp_space.total_param_dim)
    assert ag.warmup_recorded(got)[1] is None  # already warmed: nothing to record
