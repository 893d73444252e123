"""Goal A/B: HyAR's Goal P-DQN, in PyTorch, on the original Goal and on ours.

Why (issue 19, HyAR Table 2): the suite's P-DQN under the ``hyar`` reading reaches success
0.314 +- 0.432 on Goal (5 seeds, 200k env steps) against HyAR's 0.70 +- 0.07, and bimodally:
seeds 1 and 4 learn (0.73 / 0.84), seeds 0, 2 and 3 shoot on the first step of every greedy
episode from the first evaluation (500 env steps) to the last. Published spreads that small
say no seed of HyAR's did that. This tool asks whether the original code does: it drives
``cycraig/MP-DQN@eec13eb``'s ``agents.pdqn.PDQNAgent`` (the agent HyAR's ``agents/pdqn.py``
copies, which differs only in its networks and in drawing k uniformly on every call) with what
HyAR's ``Raw_RL/main_goal_pdqn.py`` sets up, on

* ``original``: ``cycraig/gym-goal@8e142be`` (byte-identical to the copy HyAR bundles, spec
  envs.md) behind gym 0.26's ``EnvCompatibility`` and MP-DQN's wrappers
  (``GoalObservationWrapper``, ``GoalFlattenedActionWrapper``,
  ``ScaledParameterisedActionWrapper``, ``ScaledStateWrapper``), and
* ``ours``: ``Goal-v0`` through ``GymnasiumPAMDPEnv`` (same 17-dim scaled observation and
  scaled parameters),

and counts how many seeds *collapse* (greedy episodes one step long at a pre-set evaluation
point). Comparing that count with the suite's JAX agent on the same number of seeds
(``pamdp-bench train --agent=pdqn --protocol=hyar --env=Goal-v0``) separates "our agent
differs" from "HyAR's code does this too".

What is HyAR's (``main_goal_pdqn.py`` argparse defaults and loop): gamma 0.95, batch 128,
learning starts 128, replay 20,000, epsilon 1 -> 0.01 over 1,000 episodes, OU noise
(sigma 1e-4), taus 0.1 / 0.001, learning rates 1e-3 / 1e-5, gradient clip 1, inverting
gradients, unscaled rewards, the hand-coded passthrough (``baselines.pdqn.config``), episodes of
at most 150 steps, and at every ``eval_every``-th env step: the training episode played out
(unstored, uncounted), then 100 greedy episodes on the *training* env, then epsilon restored
and a fresh OU process. HyAR's networks: 2x256 ReLU for both, PyTorch's default
``nn.Linear`` init everywhere (here MP-DQN's networks at 2x256 with ``reset_parameters``
applied to every trainable layer after construction, targets re-synced). k is epsilon-greedy,
as in MP-DQN (HyAR's released ``if rnd < 1.0`` is the suite's ``random_k`` test, not this).

[deviation] The original Goal's ``seed`` uses gym's ``seeding.np_random``, which in gym 0.26
returns a ``numpy.random.Generator``; gym-goal calls ``random_sample`` (a ``RandomState``
method) when the keeper tries to catch. The original side seeds a ``RandomState(seed)``
instead: another stream than old gym's hashed seed, the same distribution.

Dependencies: the ``ab`` extra (torch, gym 0.26, pygame); checkouts passed as ``--mpdqn`` and
``--gym_goal``. ``numba`` (imported by MP-DQN's ``agents.basis``, which
``common.goal_domain`` imports but whose Fourier basis these wrappers never call) is stubbed
when missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from pamdp_bench.tools import ab_common

# Where the settings live: ``baselines.pdqn.config.hyar_config("Goal-v0")`` (the suite's reading
# of main_goal_pdqn.py, with its sources); ``hyar_agent_kwargs`` hands the same values to
# MP-DQN's agent, so the A/B compares implementations, not two copies of the settings.
MAX_EPISODE_STEPS = 150  # main_goal_pdqn.py max_steps
SUCCESS_RETURN = 50.0  # main_goal_pdqn.py counts an episode a success iff its return is 50
OU_SIGMA = 0.0001  # the OU process main_goal_pdqn.py installs after every evaluation
#: A seed has collapsed if its greedy episodes average at most this many steps.
COLLAPSED_LENGTH = 1.05


def add_original_paths(mpdqn: str, gym_goal: str) -> None:
    """Put the two checkouts on ``sys.path`` (nothing is installed); stub ``numba``."""
    ab_common.add_checkouts((mpdqn, "agents/pdqn.py"), (gym_goal, "gym_goal/__init__.py"))
    try:
        import numba  # noqa: F401
    except ImportError:
        stub = types.ModuleType("numba")
        stub.jit = lambda *a, **k: a[0] if a and callable(a[0]) else (lambda f: f)  # type: ignore
        sys.modules["numba"] = stub


class OriginalGoal:
    """gym-goal behind gym 0.26's ``EnvCompatibility`` and MP-DQN's wrappers."""

    def __init__(self, seed: int) -> None:
        from common.goal_domain import GoalFlattenedActionWrapper, GoalObservationWrapper
        from common.wrappers import ScaledParameterisedActionWrapper, ScaledStateWrapper
        from gym.wrappers.compatibility import EnvCompatibility
        from gym_goal.envs import GoalEnv

        with ab_common.quiet():
            raw = GoalEnv()
            raw.np_random = np.random.RandomState(seed)  # module docstring [deviation]
            compat = EnvCompatibility(raw)
            compat.get_state = raw.get_state  # GoalObservationWrapper reads it at build time
            env = GoalObservationWrapper(compat)
            env = GoalFlattenedActionWrapper(env)
            env = ScaledParameterisedActionWrapper(env)
            self.env = ScaledStateWrapper(env)

    def reset(self) -> np.ndarray:
        (state, _), _ = self.env.reset()  # never seed through EnvCompatibility (Generator)
        return np.asarray(state, dtype=np.float32)

    def step(self, k: int, params: list[np.ndarray]) -> tuple[np.ndarray, float, bool]:
        (state, _), reward, terminated, truncated, _ = self.env.step((k, params))
        return np.asarray(state, dtype=np.float32), float(reward), terminated or truncated


class OursGoal:
    """``Goal-v0`` through ``GymnasiumPAMDPEnv``."""

    def __init__(self, seed: int) -> None:
        from pamdp_bench.envs.gymnasium_adapter import GymnasiumPAMDPEnv

        self.env = GymnasiumPAMDPEnv("Goal-v0")
        self._seed: int | None = seed

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        return obs

    def step(self, k: int, params: list[np.ndarray]) -> tuple[np.ndarray, float, bool]:
        obs, reward, terminated, truncated, _ = self.env.step((k, tuple(params)))
        return obs, float(reward), terminated or truncated


def make_side(name: str, seed: int) -> OriginalGoal | OursGoal:
    if name == "original":
        return OriginalGoal(seed)
    if name == "ours":
        return OursGoal(seed)
    raise SystemExit(f"error: unknown side {name!r} (original, ours)")


def hyar_agent_kwargs() -> tuple[tuple[int, ...], dict[str, Any]]:
    """(hidden layers, ``PDQNAgent`` keyword arguments) of the suite's ``hyar`` Goal reading,
    by MP-DQN's argument names (``PDQNConfig.MPDQN_CODE_NAMES``)."""
    from pamdp_bench.baselines.pdqn.config import PDQNConfig, hyar_config

    cfg = hyar_config("Goal-v0")
    if cfg.hidden_q != cfg.hidden_param or cfg.reward_scale != 1.0 or not cfg.use_ou:
        raise ValueError(f"goal_ab drives MP-DQN's agent, which cannot express {cfg}")
    names = PDQNConfig.MPDQN_CODE_NAMES
    kwargs = {names.get(f, f): getattr(cfg, f) for f in (
        "batch_size", "lr_critic", "lr_actor", "epsilon_episodes", "epsilon_final", "gamma",
        "max_grad_norm", "tau_critic", "tau_actor", "learning_starts", "buffer_size",
        "inverting_gradients")}
    kwargs.update(use_ornstein_noise=True, indexed=False, weighted=False, average=False,
                  random_weighted=False, zero_index_gradients=False)
    return cfg.hidden_q, kwargs


def make_agent(seed: int) -> Any:
    """MP-DQN's ``PDQNAgent`` with HyAR's Goal settings, networks and passthrough."""
    import gym
    import torch
    from agents.pdqn import PDQNAgent

    from pamdp_bench.baselines.pdqn.config import GOAL_PASSTHROUGH_BIAS, GOAL_PASSTHROUGH_WEIGHTS

    torch.set_num_threads(1)
    hidden, kwargs = hyar_agent_kwargs()
    obs_space = gym.spaces.Box(-np.ones(17), np.ones(17), dtype=np.float32)
    boxes = tuple(gym.spaces.Box(-np.ones(d), np.ones(d), dtype=np.float32) for d in (2, 1, 1))
    action_space = gym.spaces.Tuple((gym.spaces.Discrete(3),) + boxes)
    with ab_common.quiet():
        agent = PDQNAgent(obs_space, action_space,
                          actor_kwargs={"hidden_layers": list(hidden), "action_input_layer": 0},
                          actor_param_kwargs={"hidden_layers": list(hidden),
                                              "squashing_function": False},
                          seed=seed, device="cpu", **kwargs)
        for net in (agent.actor, agent.actor_param):  # PyTorch's default init, as HyAR's nets
            layers = list(net.layers)
            if hasattr(net, "action_parameters_output_layer"):
                layers.append(net.action_parameters_output_layer)
            for layer in layers:
                layer.reset_parameters()
        agent.actor_target.load_state_dict(agent.actor.state_dict())
        agent.set_action_parameter_passthrough_weights(np.asarray(GOAL_PASSTHROUGH_WEIGHTS),
                                                       np.asarray(GOAL_PASSTHROUGH_BIAS))
    return agent


def pad_params(k: int, act_param: np.ndarray) -> list[np.ndarray]:
    """``main_goal_pdqn.py`` ``pad_action``: the chosen parameters, zeros elsewhere."""
    params = [np.zeros((d,), dtype=np.float32) for d in (2, 1, 1)]
    params[k][:] = act_param
    return params


def evaluate(agent: Any, env: OriginalGoal | OursGoal, episodes: int) -> dict[str, float]:
    """HyAR's ``evaluate``: greedy episodes (epsilon 0, no noise) on the training env; then
    the epsilon is restored and a fresh OU process installed, as its script does."""
    from agents.utils.noise import OrnsteinUhlenbeckActionNoise

    epsilon = agent.epsilon
    agent.epsilon, agent.noise = 0.0, None
    returns, lengths = [], []
    for _ in range(episodes):
        state, done, ret, n = env.reset(), False, 0.0, 0
        while not done:  # the env's own timeout (100 steps) ends every episode
            k, p, _ = agent.act(state)
            state, r, done = env.step(k, pad_params(k, p))
            ret, n = ret + r, n + 1
        returns.append(ret)
        lengths.append(n)
    agent.epsilon = epsilon
    # as the script: its OU draws from the global np.random, not the agent's generator
    agent.noise = OrnsteinUhlenbeckActionNoise(agent.action_parameter_size, mu=0.0, theta=0.15,
                                               sigma=OU_SIGMA)
    r = np.asarray(returns)
    return {"greedy_return": float(r.mean()), "greedy_success": float(np.mean(r == SUCCESS_RETURN)),
            "greedy_length": float(np.mean(lengths))}


def learn(side: str, seed: int, steps: int, eval_every: int,
          eval_episodes: int) -> Iterator[dict[str, Any]]:
    """HyAR's Goal P-DQN training loop; yields one row per evaluation point."""
    np.random.seed(seed)
    env = make_side(side, seed)
    agent = make_agent(seed)
    total, t0 = 0, time.time()
    while total < steps:
        state = env.reset()
        k, p, all_p = agent.act(state)
        agent.start_episode()
        for _ in range(MAX_EPISODE_STEPS):
            total += 1
            next_state, reward, terminal = env.step(k, pad_params(k, p))
            nk, np_, nall = agent.act(next_state)
            agent.step(state, (k, all_p), reward, next_state, (nk, nall), terminal, 1)
            k, p, all_p, state = nk, np_, nall, next_state
            if total % eval_every == 0:
                while not terminal:  # the script plays the episode out, unstored
                    k, p, all_p = agent.act(state)
                    state, _, terminal = env.step(k, pad_params(k, p))
                row = evaluate(agent, env, eval_episodes)
                yield {"side": side, "seed": seed, "env_steps": total, **row,
                       "epsilon": float(agent.epsilon), "wall_s": round(time.time() - t0, 1),
                       "eval_every": eval_every}
            if terminal:
                break
        agent.end_episode()


# -------------------------------------------------------------------------- statistics
def fisher_exact_p(a_hits: int, a_n: int, b_hits: int, b_n: int) -> float:
    """Two-sided Fisher exact test of two binomial proportions (sum of the hypergeometric
    probabilities no larger than the observed table's)."""
    from math import comb

    hits, n = a_hits + b_hits, a_n + b_n
    lo, hi = max(0, hits - b_n), min(hits, a_n)
    probs = {x: comb(a_n, x) * comb(b_n, hits - x) / comb(n, hits) for x in range(lo, hi + 1)}
    observed = probs[a_hits]
    return float(min(1.0, sum(v for v in probs.values() if v <= observed * (1 + 1e-9))))


def from_harness(record: dict[str, Any]) -> dict[str, Any]:
    """A ``pamdp-bench train`` result record as a row of this tool (group ``jax-ours``)."""
    return {"group": "jax-ours", "side": "ours", "seed": record["seed"],
            "env_steps": record["env_steps"], "greedy_return": record["return_mean"],
            "greedy_success": record["success_rate"], "greedy_length": record["length_mean"]}


def summarize(rows: Sequence[dict[str, Any]], at: int) -> str:
    """Markdown: per group (side, or the ``group`` a row carries), the seeds collapsed at the
    evaluation point ``at`` (greedy length <= ``COLLAPSED_LENGTH``), their success there and
    at the last common point, and Fisher's test of each pair of groups' collapse counts."""
    groups: dict[str, dict[int, dict[int, dict[str, Any]]]] = {}
    for r in rows:
        if r.get("schema", "").startswith("pamdp_bench.result/"):
            r = from_harness(r)
        g = r.get("group", f"torch-{r['side']}")
        groups.setdefault(g, {}).setdefault(r["seed"], {})[r["env_steps"]] = r
    lines = [f"Collapsed: mean greedy episode length <= {COLLAPSED_LENGTH} at {at:,} env steps.",
             "", "| group | seeds | collapsed | success at point (mean) | seeds' lengths |",
             "|---|---|---|---|---|"]
    counts = {}
    for g, seeds in groups.items():
        reached = {s: d[at] for s, d in sorted(seeds.items()) if at in d}
        hits = sum(r["greedy_length"] <= COLLAPSED_LENGTH for r in reached.values())
        counts[g] = (hits, len(reached))
        succ = np.mean([r["greedy_success"] for r in reached.values()]) if reached else np.nan
        lens = " ".join(f"{r['greedy_length']:.1f}" for r in reached.values())
        lines.append(f"| {g} | {len(reached)} | {hits} | {succ:.3f} | {lens} |")
    names = list(counts)
    if len(names) > 1:
        lines += ["", "| groups | collapsed | Fisher p |", "|---|---|---|"]
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                (ah, an), (bh, bn) = counts[a], counts[b]
                lines.append(f"| {a} vs {b} | {ah}/{an} vs {bh}/{bn} | "
                             f"{fisher_exact_p(ah, an, bh, bn):.3f} |")
    return "\n".join(lines) + "\n"


def _done_seeds(path: str, side: str, last: int) -> set[int]:
    rows = ab_common.rows_written(path)
    return {r["seed"] for r in rows if r["side"] == side and r["env_steps"] >= last}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pamdp_bench.tools.goal_ab",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("learn", "summarize"))
    ap.add_argument("--mpdqn", help="checkout of cycraig/MP-DQN@eec13eb")
    ap.add_argument("--gym_goal", help="checkout of cycraig/gym-goal@8e142be")
    ap.add_argument("--side", choices=("original", "ours"), default="original")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--eval_every", type=int, default=500)
    ap.add_argument("--eval_episodes", type=int, default=100)
    ap.add_argument("--inputs", default="",
                    help="summarize: comma-separated JSON lines (this tool's or pamdp-bench's)")
    ap.add_argument("--at", type=int, default=5000, help="summarize: the collapse point")
    ap.add_argument("--out", required=True, help="learn: JSON lines (appended); else Markdown")
    a = ap.parse_args(argv)
    if a.command == "summarize":
        ab_common.write_report(a.out, summarize(ab_common.read_rows(a.inputs), a.at))
        return 0
    if not (a.mpdqn and a.gym_goal):
        ap.error("--mpdqn and --gym_goal are required for learn")
    add_original_paths(a.mpdqn, a.gym_goal)
    done = _done_seeds(a.out, a.side, a.steps)
    for seed in (int(s) for s in a.seeds.split(",")):
        if seed in done:
            print(f"skip {a.side} seed {seed}: complete in {a.out}")
            continue
        rows = []
        for row in learn(a.side, seed, a.steps, a.eval_every, a.eval_episodes):
            rows.append(row)
            print(json.dumps(row), flush=True)
        ab_common.append_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
