"""Probe a DLPA-family run for the one-step trap: a model that believes every action ends the
episode at the reset state, because its replay never held a step that did not.

Why (issue 19): on Hard Goal one DLPA seed in three played 1-step greedy episodes (shoot from
the start, return about -6.5) at every evaluation. From the reset state only kick-to (k = 0)
can continue an episode, and only for about 12% of uniform parameters; with 11 actions a
uniform random step continues about 1% of the time, so DLPA's 50 random seed episodes (one
step each when nothing continues) hold no continuing step more often than not. A model
trained only on terminal steps predicts "terminal" for every action, the planner then ranks
one-step plans by their predicted reward, shooting beats a terminal kick, and kick-to is
sampled less and less. Goal has 3 actions, so its seed phase usually sees a continuing step.

Two commands, each printing a markdown table:

* ``env``: from reset states, per k, the share of uniform-parameter actions whose step does
  not terminate, and their mean reward (the env alone; no run needed).
* ``run``: per seed of a run (its replay, read in slot order, one slot per episode as under
  the ``dlpa`` protocol, whose 25-step cap equals the slot): finished episodes, the first
  episode longer than one step, how many of the first ``seed_episodes`` were, the share in
  the last 200; and the model's view at reset states: per k, the share of uniform-parameter
  actions whose continuation head says "continue" (the argmax the planner uses).

    python -m pamdp_bench.tools.terminal_probe env HardGoal-v0 [--samples=4000]
    python -m pamdp_bench.tools.terminal_probe run RUN_DIR --env=HardGoal-v0 [--step=N]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.baselines.dlpa.networks import model_step
from pamdp_bench.harness.restore import load_trained

#: Episodes at the end of the replay whose share of multi-step episodes is reported.
RECENT = 200


def reset_continuation(env: Any, params: Any, key: jax.Array, samples: int
                       ) -> dict[str, np.ndarray]:
    """Per k: the share of ``samples`` (reset state, uniform parameters) steps that do not
    terminate, ``continue`` [K], and their mean reward, ``reward`` [K]."""
    space = env.action_space(params)

    def one(key: jax.Array, k: jax.Array) -> tuple[jax.Array, jax.Array]:
        r_key, z_key, s_key = jax.random.split(key, 3)
        _, state = env.reset(r_key, params)
        _, z = space.sample(z_key)
        _, _, reward, terminated, _ = env.step_env(s_key, state, (k, z), params)
        return 1.0 - terminated.astype(jnp.float32), reward

    keys = jax.random.split(key, samples)
    ks = jnp.arange(space.num_actions, dtype=jnp.int32)
    cont, reward = jax.jit(jax.vmap(jax.vmap(one, (0, None)), (None, 0)))(keys, ks)
    return {"continue": np.asarray(cont.mean(axis=1)), "reward": np.asarray(reward.mean(axis=1))}


def replay_escape(first_step_continues: np.ndarray, episodes: int, seed_episodes: int
                  ) -> dict[str, Any]:
    """From a replay's first-step continuation flags (one per slot, [E]) and the number of
    finished episodes: the first episode longer than one step (absolute index, None if none
    is held), how many of the first ``seed_episodes`` were (None once the ring has overwritten
    them), and the share among the last ``RECENT``."""
    flags = np.asarray(first_step_continues).astype(bool)
    slots = flags.shape[0]
    if episodes < 0:
        raise ValueError(f"episodes must be >= 0, got {episodes}")
    held = min(episodes, slots)
    if episodes > slots:  # the ring wrapped: the oldest held episode sits at the next slot
        start = episodes % slots
        flags = np.concatenate([flags[start:], flags[:start]])
    flags = flags[:held]
    first_held = episodes - held
    where = np.flatnonzero(flags)
    return {
        "episodes": episodes,
        "first_longer": int(first_held + where[0]) if where.size else None,
        "seed_phase_longer": int(flags[:seed_episodes].sum()) if first_held == 0 else None,
        "recent_share": float(flags[-RECENT:].mean()) if held else None,
    }


def model_continuation(model: Any, cfg: Any, space: Any, obs: jax.Array, key: jax.Array
                       ) -> np.ndarray:
    """Per k [K]: the share of (reset observation ``obs[i]``, uniform parameters) pairs whose
    continuation head argmax says "continue", at the model's means (``networks.model_step``
    without a key, as the greedy planner sees it)."""
    n = obs.shape[0]
    zs = jax.vmap(lambda kk: space.sample(kk)[1])(jax.random.split(key, n))

    def share(k: jax.Array) -> jax.Array:
        kp, zp = jax.vmap(lambda z: space.to_padded((k, z)))(zs)
        _, _, _, logits = model_step(model, cfg, obs, kp, zp, None)
        return jnp.mean((logits[:, 1] > logits[:, 0]).astype(jnp.float32))

    return np.asarray(jax.jit(jax.vmap(share))(jnp.arange(space.num_actions, dtype=jnp.int32)))


def probe_run(run_dir: str, env_id: str, step: int | None, samples: int, seed: int
              ) -> dict[str, Any]:
    """``replay_escape`` and ``model_continuation`` for every seed of a DLPA-family run."""
    tr = load_trained(run_dir, env_id, step)
    env, params = tr.ep.env_params(training=False)
    space = env.action_space(params)
    obs = jax.vmap(lambda kk: env.reset(kk, params)[0])(
        jax.random.split(jax.random.key(seed), samples)).astype(jnp.float32)
    seeds = {}
    for s in tr.seeds:
        state = tr.state_of(s)
        if not hasattr(state, "replay") or not hasattr(state.replay, "cont"):
            raise ValueError(f"{run_dir}: {tr.meta.get('agent')} keeps no episode replay "
                             "with continuation flags (a DLPA-family agent is needed)")
        row = replay_escape(np.asarray(state.replay.cont)[:, 0], int(state.episodes),
                            tr.agent.config.seed_episodes)
        row["model_continue"] = model_continuation(state.params, tr.agent.config, space, obs,
                                                   jax.random.fold_in(jax.random.key(seed), s))
        seeds[s] = row
    return {"run": run_dir, "env": env_id, "agent": tr.meta.get("agent"), "step": tr.step,
            "seed_episodes": tr.agent.config.seed_episodes, "seeds": seeds}


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def env_markdown(env_id: str, out: dict[str, np.ndarray], samples: int) -> str:
    lines = [f"{env_id}: {samples} reset states x uniform parameters per k", "",
             "| k | share that continues | mean reward |", "|---|---|---|"]
    lines += [f"| {k} | {c:.4f} | {r:.2f} |"
              for k, (c, r) in enumerate(zip(out["continue"], out["reward"], strict=True))]
    return "\n".join(lines)


def run_markdown(result: dict[str, Any]) -> str:
    num_k = len(next(iter(result["seeds"].values()))["model_continue"])
    head = " | ".join(f"k={k}" for k in range(num_k))
    lines = [f"{result['run']} ({result['agent']}) on {result['env']} at {result['step']} env "
             f"steps; seed phase {result['seed_episodes']} episodes", "",
             "| seed | episodes | first episode > 1 step | of the seed phase | share of the last "
             f"{RECENT} | model says continue at reset: {head} |",
             "|---|---|---|---|---|" + "---|" * num_k]
    for s, row in result["seeds"].items():
        lines.append(f"| {s} | {row['episodes']} | {_fmt(row['first_longer'])} | "
                     f"{_fmt(row['seed_phase_longer'])} | {_fmt(row['recent_share'])} | "
                     + " | ".join(f"{v:.2f}" for v in row["model_continue"]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pamdp_bench.tools.terminal_probe",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("env", help="share of continuing steps from reset, per k")
    e.add_argument("env_id")
    r = sub.add_parser("run", help="a run's replay and model at reset, per seed")
    r.add_argument("run_dir")
    r.add_argument("--env", required=True, help="the env id of the run's task")
    r.add_argument("--step", type=int, default=None, help="checkpoint (default: newest)")
    for p in (e, r):
        p.add_argument("--samples", type=int, default=4000, help="reset states (x parameters)")
        p.add_argument("--seed", type=int, default=0, help="PRNG seed of the samples")
    args = ap.parse_args(argv)
    if args.samples < 1:
        ap.error("--samples must be >= 1")
    if args.what == "env":
        import pamdp_bench

        env, params = pamdp_bench.make(args.env_id)
        out = reset_continuation(env, params, jax.random.key(args.seed), args.samples)
        print(env_markdown(args.env_id, out, args.samples))
    else:
        print(run_markdown(probe_run(args.run_dir, args.env, args.step, args.samples,
                                     args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
