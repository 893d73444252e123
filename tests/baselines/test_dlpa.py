"""DLPA: planner on toy models, model shapes (K up to 1024), loss, determinism, harness run."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.agents import get_agent
from pamdp_bench.baselines.dlpa import DLPAAgent, DLPAConfig, default_config
from pamdp_bench.baselines.dlpa.losses import model_loss
from pamdp_bench.baselines.dlpa.networks import apply_head, init_head, init_model, model_step
from pamdp_bench.baselines.dlpa.planner import init_plan_state, plan
from pamdp_bench.harness import runner
from pamdp_bench.registry import make

TARGETS = jnp.asarray([0.6, -0.4, 0.1, -0.8], jnp.float32)  # best parameter of each k


def _toy_model(bonus: jax.Array):
    """Reward -(z0 - target_k)^2 + bonus_k every step, never terminates, state unchanged."""

    def model(params, cfg, s, k, z, key):
        r = -((z[:, 0] - TARGETS[k]) ** 2) + bonus[k]
        logits = jnp.stack([jnp.zeros_like(r), jnp.ones_like(r)], axis=-1)
        return s, r, r, logits

    return model


def _plan_cfg(**kw) -> DLPAConfig:
    return dataclasses.replace(DLPAConfig(horizon=3, num_samples=400, num_elites=40), **kw)


def _run_plan(cfg, bonus, key, deterministic=True):
    prev = init_plan_state(cfg, 4, 1)
    fn = jax.jit(lambda k: plan({}, cfg, jnp.ones((4,), jnp.int32), jnp.zeros((2,)), k, prev,
                                jnp.asarray(False), deterministic, _toy_model(bonus)))
    return fn(key)


def test_planner_finds_best_action() -> None:
    cfg = _plan_cfg()
    bonus = jnp.asarray([0.0, 0.0, 1.0, 0.0])  # k = 2 is best, with z = 0.1
    (k, z), sol, _ = _run_plan(cfg, bonus, jax.random.key(0))
    assert int(k) == 2
    assert abs(float(z[0]) - 0.1) < 0.15
    assert float(sol.mean_k[0, 2]) > 0.9


@pytest.mark.parametrize("variant", ["per_action", "shared"])
def test_planner_parameter_means(variant: str) -> None:
    """Per-action means move toward each k's best parameter; the shared one cannot."""
    cfg = _plan_cfg(mppi_variant=variant, iterations=3)
    bonus = jnp.zeros((4,))  # every k competitive: elites keep all of them
    _, sol, _ = _run_plan(cfg, bonus, jax.random.key(1))
    means = np.asarray(sol.mean_z[0, :, 0])
    if variant == "per_action":
        assert sol.mean_z.shape == (3, 4, 1)
        err_before = np.abs(np.asarray(TARGETS))  # means start at 0
        err_after = np.abs(means - np.asarray(TARGETS))
        assert np.all(err_after < err_before), (means, TARGETS)
        assert np.all(err_after < 0.2), means
    else:
        assert sol.mean_z.shape == (3, 1, 1)


def test_planner_training_noise_and_clamp() -> None:
    cfg = _plan_cfg()
    (k, z), _, stats = _run_plan(cfg, jnp.asarray([0.0, 0.0, 1.0, 0.0]), jax.random.key(2),
                                 deterministic=False)
    assert -1.0 <= float(z[0]) <= 1.0
    assert stats["std_z"].shape == (3, 4, 1)


# CI: the multi-head structure at K = 1,024 (10 s) runs in make test-long; concat and overlay
# cover K = 1,024 in CI and multi covers K = 3
@pytest.mark.parametrize(("model_type", "num_k"), [
    (m, k) if (m, k) != ("multi", 1024) else pytest.param(m, k, marks=pytest.mark.long)
    for k in (3, 1024) for m in ("concat", "multi", "overlay")])
def test_model_shapes(model_type: str, num_k: int) -> None:
    s_dim, p_dim, b = 3, 2, 5
    hidden = 1 if (model_type == "multi" and num_k == 1024) else 8
    cfg = DLPAConfig(model_type=model_type, hidden=hidden, two_reward_heads=True)
    params = init_model(jax.random.key(0), cfg, s_dim, num_k, p_dim)
    s = jnp.ones((b, s_dim))
    k = jnp.asarray([0, 1, num_k - 1, 1, 0], jnp.int32)
    z = jnp.full((b, p_dim), 0.3)
    for key in (None, jax.random.key(1)):
        s2, r0, r1, c = jax.jit(lambda p, kk: model_step(p, cfg, s, k, z, kk))(params, key)
        assert s2.shape == (b, s_dim) and r0.shape == (b,) and r1.shape == (b,)
        assert c.shape == (b, 2)
        assert bool(jnp.all(jnp.isfinite(s2)))


def test_multi_gather_matches_dense() -> None:
    """The masking structure's gathered output equals picking k's head from all K heads."""
    p = init_head(jax.random.key(0), "multi", 3, 5, 2, 4, 8)
    p = jax.tree.map(lambda x: x + 0.3 * jax.random.normal(jax.random.key(1), x.shape), p)
    s, z = jax.random.normal(jax.random.key(2), (6, 3)), jnp.ones((6, 2))
    k = jnp.asarray([0, 4, 2, 2, 1, 3])
    a, d = jax.jit(lambda p: (apply_head(p, "multi", s, k, z, -20.0, 2.0, gather_min_k=1),
                              apply_head(p, "multi", s, k, z, -20.0, 2.0, gather_min_k=100)))(p)
    np.testing.assert_allclose(a[0], d[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a[1], d[1], rtol=1e-5, atol=1e-6)


@pytest.mark.long  # 10 s; K = 1,024 model shapes stay in CI (test_model_shapes)
def test_plan_scales_to_1024_actions() -> None:
    """Hard Move n = 10 shape (K = 1024, one parameter each) plans with the real model."""
    cfg = DLPAConfig(model_type="concat", horizon=2, num_samples=64, num_elites=8,
                     iterations=2, two_reward_heads=True, hidden=16)
    params = init_model(jax.random.key(0), cfg, 4, 1024, 1)
    prev = init_plan_state(cfg, 1024, 1)
    (k, z), sol, _ = jax.jit(lambda kk: plan(params, cfg, jnp.ones((1024,), jnp.int32),
                                             jnp.zeros((4,)), kk, prev, jnp.asarray(False),
                                             False))(jax.random.key(3))
    assert 0 <= int(k) < 1024 and z.shape == (1,)
    assert sol.mean_k.shape == (2, 1024)


def _fixed_batch(h: int = 4, b: int = 16, s_dim: int = 3, p_dim: int = 1, num_k: int = 3):
    keys = jax.random.split(jax.random.key(5), 4)
    obs = jax.random.uniform(keys[0], (b, h + 1, s_dim), minval=-1, maxval=1)
    k = jax.random.randint(keys[1], (b, h), 0, num_k)
    z = jax.random.uniform(keys[2], (b, h, p_dim), minval=-1, maxval=1)
    r = jnp.sum(obs[:, 1:], -1) * 0.3
    cont = jnp.ones((b, h)).at[:3, 2].set(0.0)
    mask = jnp.concatenate([jnp.ones((b, 1)), jnp.cumprod(cont, 1)[:, :-1]], 1)
    return {"obs": obs, "k": k, "z": z, "r": r, "cont": cont, "mask": mask}


# make test-long: 22 s; DLPA's loss pieces are pinned in CI (one-step loss windows, D1's
# continuation shapes, model shapes)
@pytest.mark.long
def test_loss_decreases(model_type: str = "multi") -> None:
    import optax

    cfg = DLPAConfig(model_type=model_type, horizon=4, lr=3e-3, two_reward_heads=True)
    batch = _fixed_batch()
    params = init_model(jax.random.key(0), cfg, 3, 3, 1)
    opt = optax.adam(cfg.lr)
    w = jnp.ones((16,))

    @jax.jit
    def step(carry, key):
        params, st = carry
        (loss, _), g = jax.value_and_grad(model_loss, has_aux=True)(params, cfg, batch, w, key)
        upd, st = opt.update(g, st, params)
        return (optax.apply_updates(params, upd), st), loss

    (params, _), losses = jax.lax.scan(step, (params, opt.init(params)),
                                       jax.random.split(jax.random.key(1), 100))
    assert float(jnp.mean(losses[-10:])) < 0.5 * float(jnp.mean(losses[:10]))


def _tiny(env_id: str, **kw) -> DLPAConfig:
    kw = {"horizon": 2, **kw}
    return dataclasses.replace(default_config(env_id), seed_episodes=1, num_samples=32,
                               num_elites=4, iterations=2, num_updates=2, batch_size=8,
                               buffer_episodes=16, hidden=16, **kw)


def _agent(env_id: str = "CatchPoint-v0", **kw) -> DLPAAgent:
    env, params = make(env_id, max_steps_in_episode=25)
    return DLPAAgent(env, params, _tiny(env_id, **kw))


def test_defaults_and_registration() -> None:
    assert get_agent("dlpa") is DLPAAgent
    plat = DLPAAgent.default_config("Platform-v0")
    assert (plat.horizon, plat.model_type, plat.dyn_tanh, plat.platform_reward) == \
        (10, "multi", True, True)
    hm = DLPAAgent.default_config("HardMove-n10-v0")
    assert (hm.horizon, hm.model_type, hm.two_reward_heads, hm.dyn_tanh) == \
        (5, "concat", True, False)
    cp = DLPAAgent.default_config("CatchPoint-v0")
    assert (cp.horizon, cp.model_type, cp.two_reward_heads) == (8, "overlay", True)
    assert DLPAAgent.default_config("Goal-v0").model_type == "overlay"
    with pytest.raises(ValueError):
        dataclasses.replace(plat, model_type="mlp")


def test_long_episodes_split_into_slots() -> None:
    """A training cap above 25 (not the DLPA protocol) stores 25-step slots."""
    agent = _agent(horizon=5)
    rp = agent._empty_replay()
    obs, z = jnp.zeros((6,)), jnp.zeros((1,))
    for _ in range(30):
        rp = agent._store(rp, obs, jnp.int32(0), z, jnp.float32(0.0), obs, jnp.float32(0.0),
                          jnp.asarray(False))
    assert int(rp.n_valid[0]) == 20 and int(rp.slot) == 1 and int(rp.t) == 5


# make test-long: 35 s; DLPA's train chunks run in CI in test_jit_once and FLEXplore's env contracts
@pytest.mark.long
def test_train_deterministic_and_learning() -> None:
    agent = _agent(branchless=True)  # the harness run below covers the lax.cond path
    train, init = jax.jit(lambda s: agent.train(s, 60)), jax.jit(agent.init)
    s1, m1 = train(init(jax.random.key(0)))
    s2, m2 = train(init(jax.random.key(0)))
    for a, b in zip(jax.tree.leaves(s1), jax.tree.leaves(s2), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(m1["env_steps"]) == 60 and int(m1["episodes"]) >= 2
    assert int(m1["updates"]) > 0 and np.isfinite(float(m1["model/loss"]))
    # the replay holds the finished episodes with valid window starts
    assert int(jnp.sum(s1.replay.n_valid)) > 0
    k, z = jax.jit(lambda s, o, kk: agent.act(s, o, kk, True))(s1, s1.obs, jax.random.key(9))
    assert agent.space.contains((k, z))


@pytest.mark.long  # DLPA through the harness also runs in CI: test_flexplore's special case
def test_harness_run(tmp_path) -> None:
    out = str(tmp_path / "run")
    recs = runner.train("dlpa", "quick", out, envs=["CatchPoint-v0"], seeds=1, budget=50,
                        eval_interval=50, eval_episodes=2, config=_tiny("CatchPoint-v0"),
                        progress=False)
    assert [r["env_steps"] for r in recs] == [50]
    assert all(r["agent"] == "dlpa" for r in recs)
    with open(os.path.join(out, "results.jsonl")) as f:
        lines = [json.loads(x) for x in f]
    assert len(lines) == 1 and np.isfinite(lines[-1]["return_mean"])


def test_one_step_loss_windows() -> None:
    """The 1-step-loss ablation trains on windows of one transition; the planner keeps H."""
    agent = _agent(horizon=5, one_step_loss=True)
    assert agent.config.loss_horizon == 1 and agent.config.horizon == 5
    replay = agent._empty_replay()
    replay = replay.replace(n_valid=replay.n_valid.at[:2].set(24))
    batch, w = agent.sample_batch(replay, jnp.cumsum(replay.n_valid), jax.random.key(0))
    assert batch["obs"].shape == (8, 2, 6) and batch["k"].shape == (8, 1)
    assert bool(jnp.all(w == 1.0))


def test_replay_valid_starts() -> None:
    """PER as the official code sets it: no start in the last H steps or after a terminal."""
    agent = _agent(horizon=5)
    rp = agent._empty_replay()
    obs, z = jnp.zeros((6,)), jnp.zeros((1,))
    for t in range(25):  # a truncated 25-step episode
        rp = agent._store(rp, obs, jnp.int32(0), z, jnp.float32(0.0), obs, jnp.float32(0.0),
                          jnp.asarray(t == 24))
    assert int(rp.n_valid[0]) == 20 and int(rp.slot) == 1 and int(rp.t) == 0
    for t in range(7):  # terminates at its 7th step
        rp = agent._store(rp, obs, jnp.int32(0), z, jnp.float32(0.0), obs,
                          jnp.float32(t == 6), jnp.asarray(t == 6))
    assert int(rp.n_valid[1]) == 7 and float(rp.cont[1, 6]) == 0.0
    cum = jnp.cumsum(rp.n_valid)
    batch, _ = agent.sample_batch(rp, cum, jax.random.key(1))
    assert batch["mask"].shape == (8, 5)


def test_fast_normal_moments() -> None:
    from pamdp_bench.baselines.dlpa.networks import fast_normal

    x = np.asarray(jax.jit(lambda k: fast_normal(k, (400, 501)))(jax.random.key(0)))
    assert x.shape == (400, 501)
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1.0) < 0.01
    assert abs(np.mean(x**4) - 3.0) < 0.05 and np.abs(x).max() < 4.4


@pytest.mark.long  # the agent bench's CLI path runs in CI (test_cli: bench of pdqn)
def test_bench_smoke() -> None:
    """The agent bench measures plan, updates and a vmapped step and reports FLOP counts."""
    from pamdp_bench.tools.bench_agents import bench_planned, suite_markdown

    lines: list[str] = []
    out = bench_planned("dlpa", "HardMove-n4-v0", seeds=2, steps=2, repeats=1, rounds=2,
                        config=_tiny("HardMove-n4-v0"), log=lines.append)
    for key in ("seconds_per_planned_step", "plan_seconds", "update_seconds",
                "compile_seconds", "matmul_peak_flops_per_s"):
        assert out[key] > 0, key
    assert out["seeds"] == 2 and out["plan_flops"] and out["update_flops"]
    per_seed = out["seconds_per_planned_step_per_seed"]
    assert out["speedup_vs_official"] == pytest.approx(0.49 / per_seed)
    # single-seed and vmapped steps timed in alternating rounds, one ratio per round
    assert len(out["per_seed_vs_single_by_round"]) == 2
    assert out["per_seed_vs_single"] == pytest.approx(
        float(np.median(out["per_seed_vs_single_by_round"])))
    assert out["single_seed_seconds_per_planned_step"] > 0
    assert json.loads(json.dumps(out)) == out  # the CLI prints it as one JSON line
    table = suite_markdown({"suite": "dlpa", "rows": [out]})
    assert "HardMove-n4-v0 | 2 |" in table and any("plan" in line for line in lines)


# ------------------------------------------- issue 19: the official code's differences D1-D5
def _quiet_heads(params: dict) -> dict:
    """Log-std outputs pinned at the clamp (std e^-20): sampled model steps equal the means."""
    def fix(p: dict) -> dict:
        return {**p, "ws": jnp.zeros_like(p["ws"]), "bs": jnp.full_like(p["bs"], -30.0)}
    return {"dyn": fix(params["dyn"]), "rc": fix(params["rc"])}


def test_d1_broadcast_continuation_loss_matches_official_shapes() -> None:
    """contin_loss_broadcast=True equals the official [B] * [B, 1] loss written out by hand;
    the per-sample masked loss differs on a batch with terminals and unequal weights."""
    b, h, s_dim = 4, 3, 3
    cfg = DLPAConfig(model_type="concat", hidden=8, two_reward_heads=True, horizon=h)
    params = _quiet_heads(init_model(jax.random.key(0), cfg, s_dim, 2, 1))
    rng = np.random.default_rng(0)
    # sample 0 and 3 alive; sample 1 terminal at t=0, sample 2 at t=1 (zero fill after)
    cont = np.asarray([[1, 1, 1], [0, 0, 0], [1, 0, 0], [1, 1, 1]], np.float32)
    mask = np.concatenate([np.ones((b, 1)), np.cumprod(cont, axis=1)[:, :-1]], axis=1)
    batch = {"obs": jnp.asarray(rng.normal(size=(b, h + 1, s_dim)), jnp.float32),
             "k": jnp.asarray([[0, 1, 0], [1, 0, 0], [0, 0, 0], [1, 1, 0]], jnp.int32),
             "z": jnp.asarray(rng.uniform(-1, 1, size=(b, h, 1)), jnp.float32),
             "r": jnp.asarray(rng.normal(size=(b, h)), jnp.float32),
             "cont": jnp.asarray(cont), "mask": jnp.asarray(mask, jnp.float32)}
    w = jnp.asarray([1.0, 0.5, 0.8, 0.3])
    key = jax.random.key(1)
    masked, _ = model_loss(params, cfg, batch, w, key)
    official, info = model_loss(params, dataclasses.replace(cfg, contin_loss_broadcast=True),
                                batch, w, key)

    # by hand, with the official code's shapes: state / reward [B, 1], continuation [B] x [B, 1]
    s = batch["obs"][:, 0]
    cons, rew, contin = np.zeros((b, 1)), np.zeros((b, 1)), np.zeros((b, b))
    for t in range(h):
        s, r0, r1, logits = model_step(params, cfg, s, batch["k"][:, t], batch["z"][:, t], None)
        c_t = np.asarray(batch["cont"][:, t])
        r_hat = np.where(c_t > 0.5, np.asarray(r0), np.asarray(r1))[:, None]
        logp = np.asarray(jax.nn.log_softmax(logits))
        ce = -np.where(c_t > 0.5, logp[:, 1], logp[:, 0])  # [B]
        m = mask[:, t][:, None]  # [B, 1]
        rho = cfg.rho ** t
        cons += rho * np.mean((np.asarray(s) - np.asarray(batch["obs"][:, t + 1])) ** 2,
                              axis=1, keepdims=True) * m
        rew += rho * (r_hat - np.asarray(batch["r"][:, t])[:, None]) ** 2 * m
        contin = contin + rho * ce * m  # [B] * [B, 1] -> [B, B]
    total = 2.0 * cons + 0.5 * rew + 0.5 * contin  # [B, B]
    want = np.mean(total * np.asarray(w)) / h  # weights [B] broadcast along the last axis
    np.testing.assert_allclose(float(official), want, rtol=1e-5)
    assert abs(float(official) - float(masked)) > 1e-3 * abs(want)
    assert float(info["contin_loss"]) > 0.0


def test_window_reads_the_zero_fill_after_a_terminal() -> None:
    """Past a window's terminal the batch holds k = 0, z = 0, r = 0 and the label terminal
    (the official zero-filled episode), not the older episode left in the slot."""
    agent = _agent(horizon=5)
    rp = agent._empty_replay()
    rp = rp.replace(k=jnp.ones_like(rp.k), z=jnp.full_like(rp.z, 0.7), r=jnp.ones_like(rp.r))
    obs, z = jnp.zeros((6,)), jnp.full((1,), 0.3)
    for t in range(3):  # terminates at its 3rd step
        rp = agent._store(rp, obs, jnp.int32(1), z, jnp.float32(1.0), obs, jnp.float32(t == 2),
                          jnp.asarray(t == 2))
    batch, _ = agent.sample_batch(rp, jnp.cumsum(rp.n_valid), jax.random.key(0))
    after = np.asarray(batch["mask"]) == 0
    assert after.any()
    for name in ("k", "r", "cont"):
        assert np.all(np.asarray(batch[name])[after] == 0), name
    assert np.all(np.asarray(batch["z"])[after] == 0)


@pytest.mark.parametrize("momentum_on_std", [True, False])
def test_d2_std_momentum(momentum_on_std: bool) -> None:
    """Official (std_momentum=True): std = m * old + (1 - m) * elite estimate; else the estimate."""
    cfg = _plan_cfg(iterations=1, std_momentum=momentum_on_std)
    _, _, stats = _run_plan(cfg, jnp.zeros((4,)), jax.random.key(3))
    est, std = np.asarray(stats["std_z_estimate"]), np.asarray(stats["std_z"])
    assert np.any(est < 1.0)  # the elites narrowed the initial std 2
    want = cfg.momentum * cfg.init_std + (1 - cfg.momentum) * est if momentum_on_std else est
    np.testing.assert_allclose(std, want, rtol=1e-6)


@pytest.mark.parametrize("clip", [True, False])
def test_d3_executed_z_clamp(clip: bool) -> None:
    """clip_executed_z=False (official) executes elite z + noise unclamped: |z| > 1 happens."""
    cfg = _plan_cfg(iterations=1, clip_executed_z=clip)
    bonus = jnp.asarray([0.0, 0.0, 1.0, 0.0])
    prev = init_plan_state(cfg, 4, 1)
    fn = jax.jit(jax.vmap(lambda k: plan({}, cfg, jnp.ones((4,), jnp.int32), jnp.zeros((2,)),
                                         k, prev, jnp.asarray(False), False,
                                         _toy_model(bonus))[0][1]))
    z = np.asarray(fn(jax.random.split(jax.random.key(4), 64)))[:, 0]
    assert np.all(np.isfinite(z))
    if clip:
        assert np.all(np.abs(z) <= 1.0)
    else:
        assert np.any(np.abs(z) > 1.0)


def _cut_agent(**kw) -> DLPAAgent:
    env, params = make("HardMove-n4-v0", max_steps_in_episode=25)
    cfg = dataclasses.replace(_tiny("HardMove-n4-v0", horizon=5), seed_episodes=10**6, **kw)
    return DLPAAgent(env, params, cfg)


def test_d4_cut_writes_the_official_fake_terminal() -> None:
    agent = _cut_agent(truncate_at_eval=True)
    rp = agent._empty_replay()
    obs, z = jnp.ones((agent.s_dim,)), jnp.full((1,), 0.5)
    for _ in range(7):
        rp = agent._store(rp, obs, jnp.int32(3), z, jnp.float32(0.2), obs, jnp.float32(0.0),
                          jnp.asarray(False))
    same = agent._cut(rp, jnp.asarray(False))
    for a, b in zip(jax.tree.leaves(same), jax.tree.leaves(rp), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    rp = agent._cut(rp, jnp.asarray(True))  # cut after 7 steps: fake terminal at step 7
    assert int(rp.slot) == 1 and int(rp.t) == 0
    assert int(rp.n_valid[0]) == 8  # official: starts below min(25 - H, sum(cont) + 1)
    assert (int(rp.k[0, 7]), float(rp.z[0, 7, 0]), float(rp.r[0, 7]), float(rp.cont[0, 7])) \
        == (0, 0.0, 0.0, 0.0)
    assert float(rp.obs[0, 7, 0]) == 1.0 and bool(jnp.all(rp.obs[0, 8] == 0.0))


# make test-long: 28 s and 18 s in CI; D4's stored cap and fake terminal are also checked by
# test_common's stored-cap case under the DLPA clock
@pytest.mark.long
@pytest.mark.parametrize("cut", [False, True])
def test_d4_training_episodes_cut_every_n_steps(cut: bool) -> None:
    """Random play on Hard Move (no terminals here): with truncate_every=30 the first episode
    ends at its 25-step cap, the second is cut after 5 steps and gets the fake terminal."""
    agent = _cut_agent(truncate_at_eval=cut, truncate_every=30)
    state, m = jax.jit(lambda s: agent.train(s, 60))(agent.init(jax.random.key(0)))
    rp = state.replay
    assert float(jnp.min(rp.cont[:2, :5])) == 1.0  # no real terminal in this rollout
    if cut:
        assert int(m["episodes"]) == 4 and int(rp.slot) == 4
        assert list(np.asarray(rp.n_valid[:4])) == [20, 6, 20, 6]
        assert float(rp.cont[1, 5]) == 0.0 and float(rp.cont[3, 5]) == 0.0
    else:
        assert int(m["episodes"]) == 2 and int(rp.slot) == 2 and int(rp.t) == 10


@pytest.mark.parametrize("model_type", ["concat", "overlay", "multi"])
@pytest.mark.parametrize("rlkit", [False, True])
def test_d5_hidden_init_bounds(model_type: str, rlkit: bool) -> None:
    """rlkit_fanin=True: the official 1/sqrt(out features) (1/sqrt(64 K) for the masking
    structure's second layer); False: 1/sqrt(fan-in)."""
    s_dim, k, p_dim, h = 9, 3, 2, 64
    p = init_head(jax.random.key(0), model_type, s_dim, k, p_dim, 2, h, rlkit)
    fan_in = {"concat": (s_dim + k + p_dim, h), "overlay": (s_dim + k, h + p_dim),
              "multi": (s_dim + p_dim, h)}[model_type]
    fan_out = (h, h * k if model_type == "multi" else h)
    layer1 = [n for n in ("w1s", "w1k", "w1z") if n in p]
    layer2 = [n for n in ("w2", "w2z") if n in p]
    for names, f_in, f_out in ((layer1, fan_in[0], fan_out[0]), (layer2, fan_in[1], fan_out[1])):
        bound = 1.0 / np.sqrt(f_out if rlkit else f_in)
        w = np.concatenate([np.asarray(p[n]).ravel() for n in names])
        assert np.max(np.abs(w)) <= bound * (1 + 1e-6)
        assert np.max(np.abs(w)) > 0.95 * bound


@functools.cache
def _k_rows_agents() -> tuple[tuple[DLPAAgent, Any], tuple[DLPAAgent, Any]]:
    """Platform's 3 actions through the concat structure, with dense and with lazy Adam on
    the k embeddings; each with its jitted ``update`` (compiled once for both tests)."""
    env, params = make("Platform-v0")
    base = dataclasses.replace(default_config("Platform-v0"), model_type="concat",
                               platform_reward=False, horizon=2, batch_size=16)
    agents = [DLPAAgent(env, params, dataclasses.replace(base, lazy_k_adam=lazy))
              for lazy in (False, True)]
    return tuple((a, jax.jit(a.update)) for a in agents)  # type: ignore[return-value]


def _random_batch(agent: DLPAAgent, key: jax.Array, ks: jax.Array) -> dict:
    b, h = ks.shape
    k1, k2, k3 = jax.random.split(key, 3)
    return {"obs": jax.random.uniform(k1, (b, h + 1, agent.s_dim), jnp.float32, -1, 1),
            "k": ks, "z": jax.random.uniform(k2, (b, h, agent.p_pad), jnp.float32, -1, 1),
            "r": jax.random.uniform(k3, (b, h)), "cont": jnp.ones((b, h)),
            "mask": jnp.ones((b, h))}


# make test-long: 22 s; the K=65,536 speed path (its gathers vs dense:
# test_multi_gather_matches_dense)
@pytest.mark.long
def test_lazy_k_adam_equals_dense_adam_when_every_k_is_in_the_batch() -> None:
    """Platform's 3 actions all in every batch: Adam on the batch's embedding rows is dense
    Adam (same gradient, same moments), to float rounding, over several steps."""
    (dense, _), (lazy, _) = _k_rows_agents()
    assert (dense.lazy_k_adam, lazy.lazy_k_adam) == (False, True)
    h = dense.config.loss_horizon
    ks = jnp.tile(jnp.arange(3, dtype=jnp.int32), (16 * h) // 3 + 1)[: 16 * h].reshape(16, h)
    p0 = dense.init_params(jax.random.key(0))
    out = []
    for agent, step in _k_rows_agents():
        p, o = p0, agent.optimizer.init(p0)
        for i in range(4):
            p, o, _ = step(p, o, _random_batch(agent, jax.random.key(i), ks), jnp.ones(16),
                           jax.random.key(10 + i))
        out.append((p, o))
    for a, b in zip(jax.tree.leaves(out[0]), jax.tree.leaves(out[1]), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-7)


# make test-long: 16 s; the K >= 4,096 speed path, like its dense-equality case above
@pytest.mark.long
def test_lazy_k_adam_leaves_other_rows_alone_and_is_the_default_from_4096_actions() -> None:
    """A batch of k = 0 only: rows 1 and 2 of every embedding table keep their values and
    moments (dense Adam would move them on momentum); n = 12 (K = 4,096) turns it on, n = 10
    and the published settings keep dense Adam."""
    _, (lazy, step) = _k_rows_agents()
    h = lazy.config.loss_horizon
    p = lazy.init_params(jax.random.key(0))
    o = lazy.optimizer.init(p)
    mixed = jnp.tile(jnp.arange(3, dtype=jnp.int32), (16 * h) // 3 + 1)[: 16 * h].reshape(16, h)
    p, o, _ = step(p, o, _random_batch(lazy, jax.random.key(0), mixed), jnp.ones(16),
                   jax.random.key(1))
    p2, o2, _ = step(p, o, _random_batch(lazy, jax.random.key(2), jnp.zeros_like(mixed)),
                     jnp.ones(16), jax.random.key(3))
    for head in ("dyn", "rc"):
        for new, old in ((p2[head]["w1k"], p[head]["w1k"]),
                         (o2[0].mu[head]["w1k"], o[0].mu[head]["w1k"]),
                         (o2[0].nu[head]["w1k"], o[0].nu[head]["w1k"])):
            np.testing.assert_array_equal(np.asarray(new[..., 1:, :]), np.asarray(old[..., 1:, :]))
            assert not np.array_equal(np.asarray(new[..., 0, :]), np.asarray(old[..., 0, :]))
    assert int(o2[0].count) == 2
    on = {n: DLPAAgent(*make(f"HardMove-n{n}-v0")).lazy_k_adam for n in (10, 12)}
    assert on == {10: False, 12: True}
    assert not DLPAAgent(*make("HardMove-n4-v0")).lazy_k_adam


@pytest.mark.parametrize("lazy", [False, True])
def test_updates_are_gated_per_seed(lazy: bool) -> None:
    """Two seeds vmapped, one past its seed phase and one not: the first gets exactly the
    updates an unvmapped active call computes, the second's learner is bitwise unchanged --
    with the lazily stepped K-row tables too, which the gate does not select."""
    agent = _agent("HardMove-n4-v0", lazy_k_adam=lazy)
    state = agent.bench_state(jax.random.key(0))
    learn = agent._learner(state)
    key = jax.random.key(1)

    def run(active: jax.Array) -> tuple:
        return agent._learn(state.replay, learn, key, state.env_steps, active)

    on = jax.jit(run)(jnp.asarray(True))
    both = jax.jit(jax.vmap(run))(jnp.asarray([True, False]))
    changed = []
    for (path, old), new_on, new_both in zip(
            jax.tree_util.tree_leaves_with_path(learn), jax.tree.leaves(on),
            jax.tree.leaves(both), strict=True):
        name = jax.tree_util.keystr(path)
        np.testing.assert_array_equal(np.asarray(new_both[0]), np.asarray(new_on), err_msg=name)
        np.testing.assert_array_equal(np.asarray(new_both[1]), np.asarray(old), err_msg=name)
        changed.append(not np.array_equal(np.asarray(new_on), np.asarray(old)))
    assert any(changed)  # the active seed did learn


def test_vmapped_training_never_selects_a_k_table() -> None:
    """Under the harness's seed vmap a ``lax.cond`` on a per-seed flag is a select of both
    branches' outputs; the updates' gate must not select the lazily stepped K x hidden tables
    or their moments (at K = 65,536 that select was a third of an env step). Compiled at
    K = 256 (Hard Move n = 8); the selects the compiler keeps are read from its HLO (the cond
    batching rule's own selects of a branch's operands against themselves fold away)."""
    agent = _agent("HardMove-n8-v0", lazy_k_adam=True)
    states = jax.vmap(agent.init)(jax.random.split(jax.random.key(0), 2))
    hlo = jax.jit(jax.vmap(lambda s: agent.train(s, 2)[0])).lower(states).compile().as_text()
    selects = re.findall(r"= (\w+\[[\d,]*\])\S* select\(", hlo)
    table = f",{agent.num_k},{agent.config.hidden}]"
    assert f"f32[2,{agent.config.hidden}]" in selects  # the small leaves are selected
    assert not [s for s in selects if s.endswith(table)]
