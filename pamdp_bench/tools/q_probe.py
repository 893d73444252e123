"""Probe a trained action-value agent: does its Q match what its actions actually do?

Why: QMLE's Platform run (issue 18, ``results/runs/qmle_hyar/platform``) learns returns of
~0.95 with success 0 while its mean Q of taken actions grows past 4 (no Platform return
exceeds 1). Two measurements separate "the values are inflated" from "the policy is
mis-ranked by them":

1. **Greedy path.** From one reset, the deterministic greedy policy plays ``--steps`` steps
   (stopping at a terminal); at each step its chosen action's Q against the discounted return
   it actually collects from there (van Hasselt et al.'s over-estimation measure).
2. **Action outcomes** at the state the path ends in (if it is still alive): ``--actions``
   uniform hybrid actions are each stepped once from that env state and grouped by outcome
   (success, terminal without success, alive), with each group's reward and Q. A policy that
   values staying alive above finishing shows up as the "alive" group's Q far above the
   "success" group's, whatever the rewards say.
3. **Replayed next states** (``--replay``, QMLE's stored-argmax buffer): on that many stored
   transitions, the target network's max over ``m`` fresh candidates for each ``m`` of
   ``M_LIST`` (does the value grow with the number of candidates searched?), the stored argmax
   alone, and the online network's value of the target's winner of ``m_target`` (what a
   double-Q decoupling would give).

Works for agents with QMLE's interface (``best_candidate``, ``latent``, ``q_values``); the run
is loaded with ``harness.restore.load_trained``.

    python -m pamdp_bench.tools.q_probe results/runs/qmle_hyar/platform --env=Platform-v0 \\
        --step=80000
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.baselines.common.control import tree_where
from pamdp_bench.harness.restore import load_trained

#: Candidate-set sizes of the replay measurement.
M_LIST = (1, 10, 100, 1000)


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma G_{t+1}`` along one path (``G`` after the last step is 0)."""
    out = np.zeros(len(rewards), np.float64)
    g = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        g = float(rewards[t]) + gamma * g
        out[t] = g
    return out


def outcome_groups(q: np.ndarray, reward: np.ndarray, terminated: np.ndarray,
                   success: np.ndarray) -> dict[str, dict[str, float]]:
    """Share, mean reward and Q (mean, max) of probed actions per outcome: ``success``,
    ``terminal`` (terminated without success) and ``alive``; empty groups are left out."""
    terminated, success = terminated.astype(bool), success.astype(bool)
    groups = {"success": success, "terminal": terminated & ~success, "alive": ~terminated}
    return {name: {"share": float(m.mean()), "reward_mean": float(reward[m].mean()),
                   "q_mean": float(q[m].mean()), "q_max": float(q[m].max())}
            for name, m in groups.items() if m.any()}


def _q(agent: Any, q_params: Any, obs: jax.Array, k: jax.Array, z: jax.Array) -> jax.Array:
    """Q of one action ``(k, z_pad)`` in ``obs``."""
    return agent.q_values(q_params, agent.latent(q_params, obs), k[None], z[None])[0]


def probe_seed(agent: Any, env: Any, params: Any, state: Any, steps: int, actions: int,
               key: jax.Array) -> dict[str, Any]:
    """Measurements 1 and 2 (module docstring) for one seed's train state (device arrays:
    the networks are closed over, and a numpy embedding table cannot take traced indices)."""
    p = state.learner.params
    reset_key, path_key, probe_key = jax.random.split(key, 3)

    def greedy(carry: tuple, k: jax.Array) -> tuple[tuple, tuple]:
        obs, es, done = carry
        c_key, s_key = jax.random.split(k)
        q, a_k, a_z = agent.best_candidate(p, obs, c_key, agent.config.m_greedy)
        obs2, es2, r, term, info = env.step_env(
            s_key, es, agent.space.from_padded((a_k, a_z)), params)
        obs2, es2 = tree_where(done, (obs, es), (obs2, es2))  # a finished path stays put
        return (obs2, es2, done | term), (q, r, term, info["success"], done)

    obs0, es0 = env.reset_env(reset_key, params)
    (obs, es, done), (q, r, term, succ, was_done) = jax.jit(
        lambda c, ks: jax.lax.scan(greedy, c, ks))(
        (obs0, es0, jnp.bool_(False)), jax.random.split(path_key, steps))
    live = ~np.asarray(was_done)
    q, r = np.asarray(q)[live], np.asarray(r)[live]
    g = discounted_returns(r, agent.config.gamma)
    out: dict[str, Any] = {
        "path_steps": int(live.sum()), "path_return": float(r.sum()),
        "path_terminated": bool(done), "path_success": bool(np.asarray(succ)[live].any()),
        "q_first": float(q[0]), "q_last": float(q[-1]), "discounted_return_first": float(g[0]),
        "q_minus_return_mean": float(np.mean(q - g)),
    }
    if bool(done):
        return out

    def one(k: jax.Array) -> tuple:
        a_key, s_key = jax.random.split(k)
        a_k, a_z = agent.space.to_padded(agent.space.sample_rand_action(a_key))
        qa = _q(agent, p["q"], obs, a_k, a_z)
        _, _, ra, ta, info = env.step_env(s_key, es, agent.space.from_padded((a_k, a_z)),
                                          params)
        return qa, ra, ta, info["success"]

    qa, ra, ta, sa = map(np.asarray, jax.jit(jax.vmap(one))(jax.random.split(probe_key,
                                                                             actions)))
    out["outcomes"] = outcome_groups(qa, ra, ta, sa)
    return out


def probe_replay(agent: Any, state: Any, n: int, key: jax.Array) -> dict[str, Any]:
    """Measurement 3 (module docstring) on ``n`` stored transitions drawn uniformly (``state``
    as for ``probe_seed``)."""
    ln, exp = state.learner, state.buffer.experience
    stored = (exp["obs"].shape[1] if bool(state.buffer.is_full)
              else int(state.buffer.current_index))
    i_key, key = jax.random.split(key)
    idx = jax.random.randint(i_key, (n,), 0, stored)
    b = jax.tree.map(lambda x: x[0, idx], exp)  # the item buffer's leading axis is 1

    def one(obs: jax.Array, k: jax.Array, ak: jax.Array, az: jax.Array) -> tuple:
        maxes = jnp.stack([agent.best_candidate(ln.target, obs, jax.random.fold_in(k, i), m)[0]
                           for i, m in enumerate(M_LIST)])
        q_stored = _q(agent, ln.target["q"], obs, ak, az)
        _, wk, wz = agent.best_candidate(ln.target, obs, jax.random.fold_in(k, len(M_LIST)),
                                         agent.config.m_target, (ak, az))
        q_online = _q(agent, ln.params["q"], obs, wk, wz)
        return maxes, q_stored, q_online

    maxes, q_stored, q_online = jax.jit(lambda *a: jax.lax.map(lambda x: one(*x), a))(
        b["next_obs"], jax.random.split(key, n), b["argmax_k"], b["argmax_z"])
    maxes = np.asarray(maxes)
    return {"replay_states": n,
            "target_max_by_m": {str(m): float(maxes[:, i].mean()) for i, m in enumerate(M_LIST)},
            "stored_argmax_q": float(np.mean(q_stored)),
            "online_q_of_target_winner": float(np.mean(q_online))}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pamdp_bench.tools.q_probe",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--env", required=True, help="env id of the run, e.g. Platform-v0")
    ap.add_argument("--step", type=int, default=None, help="checkpoint step (default latest)")
    ap.add_argument("--steps", type=int, default=150, help="greedy path length")
    ap.add_argument("--actions", type=int, default=4096, help="probed actions at its end")
    ap.add_argument("--replay", type=int, default=256,
                    help="stored transitions of measurement 3 (0: skip it)")
    ap.add_argument("--key", type=int, default=0)
    args = ap.parse_args(argv)
    if args.steps < 1 or args.actions < 1 or args.replay < 0:
        ap.error("--steps and --actions must be >= 1, --replay >= 0")
    run = load_trained(args.run_dir, args.env, args.step)
    if not all(hasattr(run.agent, m) for m in ("best_candidate", "latent", "q_values")):
        ap.error(f"{run.agent.name} has no best_candidate / latent / q_values (QMLE's "
                 f"interface); q_probe cannot read its Q")
    env, params = run.ep.env_params(training=False)
    for seed in run.seeds:
        key = jax.random.fold_in(jax.random.key(args.key), seed)
        state = run.state_of(seed)
        row = probe_seed(run.agent, env, params, state, args.steps, args.actions, key)
        if args.replay:
            row.update(probe_replay(run.agent, state, args.replay, jax.random.fold_in(key, 1)))
        print(json.dumps({"run": args.run_dir, "env": args.env, "step": run.step, "seed": seed,
                          **row}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
