"""Probe a trained DLPA-family world model on Catch Point: which head carries the catch?

Why (issue 17): FLEXplore's reward smoothing (one FGSM step on the reward heads, spec §4.4 #7)
was expected to blur Catch Point's one sharp reward feature, the +20 for a catch within 0.2 of
the landmark, and so to hurt when switched on from the first step (the paper's
AlwaysSmoothing). It did not hurt. DLPA's model (which FLEXplore extends) predicts a step's
reward with two heads, r0 for a continuing step and r1 for a terminal one, and the planner
counts r0 where the continuation head's argmax says "continue", else r1. This probe shows
where the catch boundary lives in a trained model.

For each seed of a run, at post-step observations with the landmark at distance d (16
directions, zero velocity, ``--failures`` failed catches before, at step ``--t``), action
k = catch: the mean
predictions of r0 and r1, P(terminal) from the continuation head, and the reward the planner
counts, each averaged over the directions. Works for runs of ``dlpa`` and ``flexplore`` (any
config) on ``CatchPoint-v0`` in either observation view; the run is loaded with
``harness.restore.load_trained``.

    python -m pamdp_bench.tools.catch_probe results/runs/flexplore_ablation/default \\
        [--step=20000] [--json=OUT.json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.baselines.dlpa.networks import rc_means
from pamdp_bench.harness.restore import load_trained

ENV_ID = "CatchPoint-v0"
CATCH = 1  # Catch Point's k of the catch action
#: Distances probed: inside the radius 0.2, at it, and outside.
DISTANCES = (0.0, 0.1, 0.15, 0.18, 0.2, 0.22, 0.25, 0.3, 0.4, 0.6)
DIRECTIONS = 16


def probe_states(obs_dim: int, distances: Sequence[float] = DISTANCES,
                 directions: int = DIRECTIONS, t: int = 5, failures: int = 0) -> np.ndarray:
    """Post-step observations [len(distances) * directions, obs_dim], distance-major: zero
    velocity, landmark - agent = d (cos a, sin a); the DLPA view (6 dims) adds DLPA's features
    for ``failures`` failed catches (-1 + failures / 6; DLPA's float32 feature stops growing
    after 10) and step ``t`` (-1 + t / 12)."""
    if obs_dim not in (4, 6):
        raise ValueError(f"Catch Point observations have 4 or 6 dims, got {obs_dim}")
    if not 0 <= failures <= 11:
        raise ValueError(f"Catch Point allows 0..11 failed catches, got {failures}")
    valid = -1.0 + min(failures, 10) / 6.0
    a = np.linspace(0.0, 2.0 * np.pi, directions, endpoint=False)
    rows = []
    for d in distances:
        rel = np.stack([d * np.cos(a), d * np.sin(a)], axis=-1)
        parts = [np.zeros((directions, 2)), rel]
        if obs_dim == 6:
            parts += [np.full((directions, 1), valid),
                      np.full((directions, 1), -1.0 + t / 12.0)]
        rows.append(np.concatenate(parts, axis=-1))
    return np.concatenate(rows).astype(np.float32)


def catch_profile(model: dict[str, Any], cfg: Any, states: np.ndarray, p_pad: int,
                  n_distances: int) -> dict[str, np.ndarray]:
    """Mean model outputs for k = catch at ``states`` (post-step observations), averaged per
    distance: ``r0``, ``r1`` (r0 again for a one-reward-head model), ``p_terminal`` and
    ``planner_reward`` (r0 where the continuation argmax says continue, else r1, as
    ``dlpa.planner.rollout_returns`` counts it), each [n_distances]."""
    s = jnp.asarray(states)
    n = s.shape[0]
    k = jnp.full((n,), CATCH, jnp.int32)
    z = jnp.zeros((n, p_pad), jnp.float32)

    out = rc_means(model["rc"], cfg, s, k, z)  # [n_rc, n, 2]
    r0 = out[0, :, 0]
    r1 = out[1, :, 0] if cfg.two_reward_heads else r0
    logits = out[-1]
    p_term = jax.nn.softmax(logits, axis=-1)[:, 0]  # logit 1 = continue (dlpa.losses)
    planner = jnp.where(logits[:, 1] > logits[:, 0], r0, r1)
    per = lambda x: np.asarray(x, np.float64).reshape(n_distances, -1).mean(axis=1)  # noqa: E731
    return {"r0": per(r0), "r1": per(r1), "p_terminal": per(p_term),
            "planner_reward": per(planner)}


def probe_run(run_dir: str, step: int | None = None, t: int = 5, failures: int = 0,
              distances: Sequence[float] = DISTANCES) -> dict[str, Any]:
    """Every seed's profile of one run at ``step`` (default: its newest checkpoint)."""
    tr = load_trained(run_dir, ENV_ID, step)
    agent = tr.agent
    states = probe_states(agent.s_dim, distances, t=t, failures=failures)
    seeds = {}
    for seed in tr.seeds:
        prof = catch_profile(tr.state_of(seed).params, agent.config, states, agent.p_pad,
                             len(distances))
        seeds[str(seed)] = {name: [round(float(v), 4) for v in vals]
                            for name, vals in prof.items()}
    return {"run": run_dir, "agent": tr.meta.get("agent"), "step": tr.step, "t": t,
            "failures": failures, "distances": list(distances), "seeds": seeds}


def _markdown(result: dict[str, Any]) -> str:
    head = " | ".join(f"{d:g}" for d in result["distances"])
    lines = [f"{result['run']} ({result['agent']}) at {result['step']} env steps, k = catch, "
             f"step {result['t']}, {result['failures']} failed catches before", "",
             f"| seed | output | {head} |",
             "|---|---|" + "---|" * len(result["distances"])]
    for seed, prof in result["seeds"].items():
        for name, vals in prof.items():
            lines.append(f"| {seed} | {name} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pamdp_bench.tools.catch_probe",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories (pamdp-bench train --out)")
    ap.add_argument("--step", type=int, default=None, help="checkpoint (default: newest)")
    ap.add_argument("--t", type=int, default=5, help="episode step of the probed states")
    ap.add_argument("--failures", type=int, default=0,
                    help="failed catches before the probed step (0..11; DLPA view only)")
    ap.add_argument("--distances", default=",".join(f"{d:g}" for d in DISTANCES),
                    help="landmark distances to probe, comma-separated (default: %(default)s)")
    ap.add_argument("--json", default=None, help="also write the profiles here")
    args = ap.parse_args(argv)
    if args.t < 0 or (args.step is not None and args.step < 0):
        ap.error("--t and --step must be >= 0")
    if not 0 <= args.failures <= 11:
        ap.error("--failures must be in 0..11 (Catch Point allows 11 failed catches)")
    try:
        distances = [float(d) for d in args.distances.split(",")]
    except ValueError:
        ap.error(f"--distances: comma-separated numbers expected, got {args.distances!r}")
    if not distances or min(distances) < 0:
        ap.error("--distances must be non-negative")
    results = [probe_run(r, args.step, args.t, args.failures, distances) for r in args.runs]
    print("\n\n".join(_markdown(r) for r in results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
