"""Platform A/B: one PyTorch client, the original Platform and ours, side by side.

Why: every Platform number of the suite rests on ``envs/platform.py`` being the original env.
The golden files pin noise-free trajectories and a few noise-on statistics; this tool checks
the one thing those cannot, that a real learning client learns the same on both. It drives
the original PyTorch P-DQN (``cycraig/MP-DQN@eec13eb``, ``agents.pdqn.PDQNAgent``, unmodified)
with the loop and Platform defaults of ``run_platform_pdqn.py`` on

* ``original``: ``cycraig/gym-platform@e932987`` through gym 0.26's ``gym.make(...,
  apply_api_compatibility=True)`` (which adds the registered ``TimeLimit(200)``) behind
  MP-DQN's own wrappers (``ScaledStateWrapper``, ``PlatformFlattenedActionWrapper``,
  ``ScaledParameterisedActionWrapper``), and
* ``ours``: ``Platform-v0`` through ``GymnasiumPAMDPEnv``,

with the same seeds (so the same initial networks and agent random streams). Neither original
is vendored, installed or built by this tool: pass the paths of checkouts
(``--mpdqn``, ``--gym_platform``); they are put on ``sys.path``. Dependencies: the ``ab``
extra (torch 2.13, gym 0.26, pygame, which gym-platform imports).

Subcommands (``python -m pamdp_bench.tools.platform_ab --help``):

* ``learn``: P-DQN learning curves (greedy return every ``--eval_every`` env steps, on a
  separate evaluation env whose agent random state is saved and restored, so evaluating does
  not perturb training). One JSON line per evaluation point; a (side, seed, noise) run whose
  last point is already in ``--out`` is skipped, so a killed batch resumes.
* ``swap``: train on one side, then evaluate that fixed greedy policy on both sides.
* ``trace``: noise off on both sides, one learning agent acts on the original; every action
  is replayed on ours from the same state and observations, rewards, terminals and substeps
  are compared step by step.
* ``summarize`` (``platform_ab_stats``): both sides' curves over seeds, permutation tests.
* ``probe``: a learner on one side, and at every step its state and action replayed on a
  probe copy of each env (``platform_ab_probe``): the two envs' answers to the learner's own
  actions compared.
* ``probe_export``: a CI file from probe arrays (``--samples`` steps per input), for
  ``tests/envs/test_platform_onpolicy_stats.py``.
* ``record`` (``platform_ab_record``): noise-on one-step statistics from states along the
  whole level (each platform, next to each gap edge; never in the air, which is impossible at
  a decision point) for every action over a parameter grid, written in the format of
  ``shared/golden/stats.json``'s ``platform_transitions`` (plus the start state);
  ``tests/envs/test_platform_level_stats.py`` compares ours with the recorded file in CI.

Loop details kept from ``run_platform_pdqn.py``: episodes of at most 250 agent steps (the
TimeLimit ends them at 200), the agent picks the next action before ``agent.step`` (SARSA-like
signature), ``terminal`` given to the agent is old gym's ``done`` (terminated or truncated:
[choice] the gym 0.26 loop must merge them to match the old API the script was written for).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from pamdp_bench.tools import ab_common

# run_platform_pdqn.py defaults (click options), single-pass PDQNAgent.
PDQN_PLATFORM_KWARGS: dict[str, Any] = dict(
    batch_size=128,
    learning_rate_actor=0.001,
    learning_rate_actor_param=0.0001,
    epsilon_steps=1000,
    gamma=0.9,
    tau_actor=0.1,
    tau_actor_param=0.001,
    clip_grad=10.0,
    indexed=False,
    weighted=False,
    average=False,
    random_weighted=False,
    initial_memory_threshold=500,
    use_ornstein_noise=True,
    replay_memory_size=10000,
    epsilon_final=0.01,
    inverting_gradients=True,
    zero_index_gradients=False,
)
PDQN_LAYERS = (128,)
PDQN_OUTPUT_INIT_STD = 1e-4
INITIAL_PARAMS_RAW = (3.0, 10.0, 400.0)  # run_platform_pdqn.py initial_params_
PARAM_MAX_RAW = (30.0, 720.0, 430.0)  # gym-platform PARAMETERS_MAX (PARAMETERS_MIN = 0)
MAX_EPISODE_STEPS = 250  # run_platform_pdqn.py max_steps
EVAL_SEED_OFFSET = 10_000
NOISE_CONSTANTS = ("ENEMY_NOISE", "PLAYER_NOISE", "HOP_DEV", "LEAP_DEV")


class Side(Protocol):
    """One Platform as the client sees it: scaled float32 obs, scaled parameters."""

    def reset(self) -> np.ndarray: ...

    def step(self, k: int, params: list[np.ndarray]) -> tuple[np.ndarray, float, bool, int]: ...


def add_original_paths(mpdqn: str, gym_platform: str) -> None:
    """Put the two checkouts on ``sys.path`` (nothing is installed)."""
    ab_common.add_checkouts((mpdqn, "agents/pdqn.py"), (gym_platform, "gym_platform/__init__.py"))


def set_original_noise(on: bool) -> None:
    """Noise off: the original's four noise constants to 0 (read at call time)."""
    from gym_platform.envs import platform_env

    values = {"ENEMY_NOISE": 0.5, "PLAYER_NOISE": 0.5, "HOP_DEV": 1.0, "LEAP_DEV": 1.0}
    for name in NOISE_CONSTANTS:
        setattr(platform_env.Constants, name, values[name] if on else 0.0)


class OriginalSide:
    """gym-platform behind gym 0.26's compatibility layer and MP-DQN's wrappers."""

    def __init__(self, seed: int) -> None:
        import gym
        import gym_platform  # noqa: F401  (registers Platform-v0)
        from common.platform_domain import PlatformFlattenedActionWrapper
        from common.wrappers import ScaledParameterisedActionWrapper, ScaledStateWrapper

        with ab_common.quiet():
            env = gym.make("Platform-v0", apply_api_compatibility=True, disable_env_checker=True)
            env = ScaledStateWrapper(env)
            env = PlatformFlattenedActionWrapper(env)
            env = ScaledParameterisedActionWrapper(env)
        self.env = env
        self._seed: int | None = seed

    @property
    def inner(self) -> Any:
        """The unwrapped ``PlatformEnv`` (for setting states in ``record``); gym 0.26's
        ``EnvCompatibility`` is an ``Env``, not a wrapper, so ``unwrapped`` stops at it."""
        outer = self.env.unwrapped
        return getattr(outer, "env", outer)

    def reset(self) -> np.ndarray:
        kwargs = {} if self._seed is None else {"seed": self._seed}
        self._seed = None
        (state, _), _ = self.env.reset(**kwargs)
        return np.asarray(state, dtype=np.float32)

    def step(self, k: int, params: list[np.ndarray]) -> tuple[np.ndarray, float, bool, int]:
        (state, steps), reward, terminated, truncated, _ = self.env.step((k, params))
        return np.asarray(state, dtype=np.float32), float(reward), terminated or truncated, steps


class OursSide:
    """``Platform-v0`` through ``GymnasiumPAMDPEnv`` (noise off via the params)."""

    def __init__(self, seed: int, noise: bool = True) -> None:
        from pamdp_bench.envs.gymnasium_adapter import GymnasiumPAMDPEnv

        overrides = {} if noise else dict(
            player_noise_std=0.0, enemy_noise_std=0.0, hop_noise_std=0.0, leap_noise_std=0.0
        )
        self.env = GymnasiumPAMDPEnv("Platform-v0", **overrides)
        self._seed: int | None = seed

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        return obs

    def step(self, k: int, params: list[np.ndarray]) -> tuple[np.ndarray, float, bool, int]:
        obs, reward, terminated, truncated, info = self.env.step((k, tuple(params)))
        return obs, reward, terminated or truncated, int(info["substeps"])


def set_original_state(side: OriginalSide, start: dict[str, float]) -> Any:
    """Reset through the wrappers (fresh TimeLimit), then place the original's entities (raw
    units; the player's y / vy default to 40 / 0, on the ground); returns the unwrapped env."""
    side.reset()
    env = side.inner
    env.player.position = np.array((start["x"], start.get("y", 40.0)))
    env.player.velocity = np.array((start["vx"], start.get("vy", 0.0)))
    env.enemy1.position = np.array((start["e1x"], 40.0))
    env.enemy1.dx = start["e1dx"]
    env.enemy2.position = np.array((start["e2x"], 40.0))
    env.enemy2.dx = start["e2dx"]
    return env


def raw_original_state(env: Any) -> list[float]:
    """The unwrapped original's raw world state (x, y, vx, vy, e1x, e1dx, e2x, e2dx)."""
    return [float(env.player.position[0]), float(env.player.position[1]),
            float(env.player.velocity[0]), float(env.player.velocity[1]),
            float(env.enemy1.position[0]), float(env.enemy1.dx),
            float(env.enemy2.position[0]), float(env.enemy2.dx)]


def make_side(name: str, seed: int, noise: bool) -> Side:
    if name == "original":
        set_original_noise(noise)
        return OriginalSide(seed)
    if name == "ours":
        return OursSide(seed, noise)
    raise SystemExit(f"error: unknown side {name!r} (original, ours)")


def make_agent(seed: int) -> Any:
    """MP-DQN's ``PDQNAgent`` with run_platform_pdqn.py's settings and passthrough init.

    Both sides get the same spaces (those MP-DQN's wrapper stack presents), so the agent's
    construction, and with the same seed its initial networks, are identical.
    """
    import gym
    import torch
    from agents.pdqn import PDQNAgent

    torch.set_num_threads(1)
    obs_space = gym.spaces.Box(-np.ones(9), np.ones(9), dtype=np.float32)
    action_space = gym.spaces.Tuple(
        (gym.spaces.Discrete(3),)
        + tuple(gym.spaces.Box(-np.ones(1), np.ones(1), dtype=np.float32) for _ in range(3))
    )
    with ab_common.quiet():
        agent = PDQNAgent(
            obs_space,
            action_space,
            actor_kwargs={"hidden_layers": list(PDQN_LAYERS), "action_input_layer": 0},
            actor_param_kwargs={
                "hidden_layers": list(PDQN_LAYERS),
                "squashing_function": False,
                "output_layer_init_std": PDQN_OUTPUT_INIT_STD,
            },
            seed=seed,
            device="cpu",
            **PDQN_PLATFORM_KWARGS,
        )
        pairs = zip(INITIAL_PARAMS_RAW, PARAM_MAX_RAW, strict=True)
        bias = np.array([2.0 * p / hi - 1.0 for p, hi in pairs])
        agent.set_action_parameter_passthrough_weights(np.zeros((3, 9)), bias)
    return agent


def pad_params(k: int, act_param: np.ndarray) -> list[np.ndarray]:
    """run_platform_pdqn.py ``pad_action``: the chosen parameter, zeros elsewhere."""
    params = [np.zeros((1,), dtype=np.float32) for _ in range(3)]
    params[k][:] = act_param
    return params


def greedy_returns(agent: Any, env: Side, episodes: int) -> np.ndarray:
    """Greedy episodes (epsilon 0, no noise); the agent's random state is restored after."""
    saved = (agent.epsilon, agent.noise, agent.np_random.get_state())
    agent.epsilon, agent.noise = 0.0, None
    returns = []
    try:
        for _ in range(episodes):
            state, total, done, t = env.reset(), 0.0, False, 0
            while not done and t < MAX_EPISODE_STEPS:
                k, p, _ = agent.act(state)
                state, reward, done, _ = env.step(k, pad_params(k, p))
                total += reward
                t += 1
            returns.append(total)
    finally:
        agent.epsilon, agent.noise = saved[0], saved[1]
        agent.np_random.set_state(saved[2])
    return np.asarray(returns)


def learn(side: str, seed: int, steps: int, eval_every: int, eval_episodes: int,
          noise: bool, keep_agent: bool = False,
          before_step: Callable[[Side, int, list[np.ndarray]], None] | None = None,
          ) -> Iterator[dict[str, Any]]:
    """run_platform_pdqn.py's loop on one side; yields one dict per evaluation point (with
    the live agent under ``"agent"`` if ``keep_agent``). ``before_step(env, k, params)`` is
    called before every training step (the on-policy probe reads the state there)."""
    np.random.seed(seed)
    env = make_side(side, seed, noise)
    eval_env = make_side(side, seed + EVAL_SEED_OFFSET, noise)
    agent = make_agent(seed)
    total_steps, episodes, next_eval, t0 = 0, 0, eval_every, time.time()
    train_returns: list[float] = []

    def point() -> dict[str, Any]:
        r = greedy_returns(agent, eval_env, eval_episodes)
        return {
            "side": side, "seed": seed, "noise": noise, "env_steps": total_steps,
            "episodes": episodes, "greedy_return": float(r.mean()),
            "greedy_return_sem": float(r.std(ddof=1) / math.sqrt(len(r))),
            "greedy_success": float(np.mean(r >= 1.0 - 1e-6)),
            "train_return_last100": float(np.mean(train_returns[-100:])),
            "epsilon": float(agent.epsilon), "wall_s": round(time.time() - t0, 1),
        } | ({"agent": agent} if keep_agent else {})

    while total_steps < steps:
        state = env.reset()
        k, p, all_p = agent.act(state)
        agent.start_episode()
        ret = 0.0
        for _ in range(MAX_EPISODE_STEPS):
            params = pad_params(k, p)
            if before_step is not None:
                before_step(env, k, params)
            next_state, reward, terminal, substeps = env.step(k, params)
            next_k, next_p, next_all_p = agent.act(next_state)
            agent.step(state, (k, all_p), reward, next_state, (next_k, next_all_p), terminal,
                       substeps)
            k, p, all_p, state = next_k, next_p, next_all_p, next_state
            ret += reward
            total_steps += 1
            if terminal:
                break
        agent.end_episode()
        episodes += 1
        train_returns.append(ret)
        if total_steps >= next_eval:
            yield point()
            next_eval += eval_every


def swap(train_side: str, seed: int, steps: int, episodes: int) -> dict[str, Any]:
    """Train on ``train_side`` for ``steps`` env steps, then evaluate that one greedy policy
    on both sides (separate evaluation envs, seed + EVAL_SEED_OFFSET): if the envs agree, a
    fixed learned policy scores the same on both."""
    gen = learn(train_side, seed, steps, steps, 1, True, keep_agent=True)
    row = next(gen)
    agent = row.pop("agent")
    out: dict[str, Any] = {"train_side": train_side, "seed": seed, "env_steps": row["env_steps"]}
    for side in ("original", "ours"):
        r = greedy_returns(agent, make_side(side, seed + EVAL_SEED_OFFSET, True), episodes)
        out[side] = {"mean": float(r.mean()), "sem": float(r.std(ddof=1) / math.sqrt(len(r))),
                     "success": float(np.mean(r >= 1.0 - 1e-6))}
    return out


def trace(seed: int, steps: int, atol: float) -> dict[str, Any]:
    """Noise off: a learning agent acts on the original; each action is replayed on ours."""
    np.random.seed(seed)
    original, ours = make_side("original", seed, False), make_side("ours", seed, False)
    agent = make_agent(seed)
    worst = {"obs": 0.0, "reward": 0.0}
    mismatches: list[dict[str, Any]] = []
    n, episodes = 0, 0
    while n < steps:
        s_o, s_u = original.reset(), ours.reset()
        worst["obs"] = max(worst["obs"], float(np.abs(s_o - s_u).max()))
        k, p, all_p = agent.act(s_o)
        for _ in range(MAX_EPISODE_STEPS):
            params = pad_params(k, p)
            o1, r1, d1, n1 = original.step(k, params)
            o2, r2, d2, n2 = ours.step(k, params)
            dobs, drew = float(np.abs(o1 - o2).max()), abs(r1 - r2)
            worst["obs"], worst["reward"] = max(worst["obs"], dobs), max(worst["reward"], drew)
            if dobs > atol or drew > atol or d1 != d2 or n1 != n2:
                mismatches.append({"step": n, "episode": episodes, "k": int(k),
                                   "z": float(params[k][0]), "obs_diff": dobs, "reward_diff": drew,
                                   "done": [bool(d1), bool(d2)], "substeps": [n1, n2]})
            nk, np_, nall = agent.act(o1)
            agent.step(s_o, (k, all_p), r1, o1, (nk, nall), d1, n1)
            k, p, all_p, s_o = nk, np_, nall, o1
            n += 1
            if d1 or d2:
                break
        agent.end_episode()
        episodes += 1
    return {"seed": seed, "steps": n, "episodes": episodes, "max_abs_diff": worst,
            "mismatches": len(mismatches), "first_mismatches": mismatches[:10]}


# -------------------------------------------------------------------------------- CLI
def _done_keys(path: str) -> set[tuple[str, int, bool, int]]:
    return {(d["side"], d["seed"], d["noise"], d["env_steps"] // d["eval_every"])
            for d in ab_common.rows_written(path)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pamdp_bench.tools.platform_ab",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("learn", "trace", "record", "swap", "summarize",
                                           "probe", "probe_export"))
    ap.add_argument("--mpdqn", help="checkout of cycraig/MP-DQN@eec13eb (not for summarize)")
    ap.add_argument("--gym_platform", help="checkout of cycraig/gym-platform@e932987")
    ap.add_argument("--inputs", default="",
                    help="summarize: comma-separated learn outputs; probe_export: probe .npz")
    ap.add_argument("--export_seed", type=int, default=0,
                    help="probe_export: which steps are drawn (--samples per input)")
    ap.add_argument("--side", choices=("original", "ours"), default="ours")
    ap.add_argument("--seeds", default="1", help="comma-separated seeds")
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--eval_every", type=int, default=10_000)
    ap.add_argument("--eval_episodes", type=int, default=100)
    ap.add_argument("--noise", choices=("on", "off"), default="on")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--probe_samples", type=int, default=2,
                    help="probe: samples per side per learner step")
    ap.add_argument("--arrays", default="",
                    help="probe: also save the per-step arrays here (.npz; large)")
    ap.add_argument("--late_from", type=int, default=None,
                    help="summarize: also test the mean over the points from this step on")
    ap.add_argument("--out", required=True, help="learn: JSON lines (appended); else JSON")
    a = ap.parse_args(argv)
    if a.command == "probe_export":
        from pamdp_bench.tools import platform_ab_probe as probe

        paths = [p for p in a.inputs.split(",") if p]
        runs = [dict(np.load(p)) for p in paths]
        data = probe.conformance_record(runs, a.samples, a.export_seed,
                                        [os.path.basename(p) for p in paths])
        with open(a.out, "w") as f:
            json.dump(data, f, separators=(",", ":"))
        print(f"wrote {len(data['steps'])} steps to {a.out}")
        return 0
    if a.command == "summarize":
        from pamdp_bench.tools.platform_ab_stats import summarize

        rows = ab_common.read_rows(a.inputs)
        ab_common.write_report(a.out, summarize(rows, noise=a.noise == "on", late_from=a.late_from))
        return 0
    if not (a.mpdqn and a.gym_platform):
        ap.error("--mpdqn and --gym_platform are required for learn, swap, trace and record")
    add_original_paths(a.mpdqn, a.gym_platform)
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.command == "learn":
        noise = a.noise == "on"
        done = _done_keys(a.out)
        for seed in seeds:
            if (a.side, seed, noise, a.steps // a.eval_every) in done:
                print(f"skip {a.side} seed {seed}: complete in {a.out}")
                continue
            rows = []
            for row in learn(a.side, seed, a.steps, a.eval_every, a.eval_episodes, noise):
                row["eval_every"] = a.eval_every
                rows.append(row)
                print(json.dumps(row), flush=True)
            ab_common.append_rows(a.out, rows)
    elif a.command == "probe":
        from pamdp_bench.tools import platform_ab_probe as probe

        results = []
        for seed in seeds:
            data = probe.run(a.side, seed, a.steps, a.probe_samples, a.eval_every,
                             a.eval_episodes)
            if a.arrays:
                stem = a.arrays.removesuffix(".npz")
                np.savez_compressed(f"{stem}_{a.side}_{seed}.npz",
                                    **{k: v for k, v in data.items() if k != "evals"})
            results.append({"learner": a.side, "seed": seed, "steps": int(len(data["k"])),
                            "m": a.probe_samples, "evals": data["evals"],
                            "analysis": probe.analyze(data)})
            with open(a.out, "w") as f:  # rewritten after each seed: finished seeds persist
                json.dump(results, f, indent=1)
        print(probe.report(results))
    elif a.command == "swap":
        results = [swap(a.side, s, a.steps, a.eval_episodes) for s in seeds]
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
        print(json.dumps(results))
    elif a.command == "trace":
        results = [trace(s, a.steps, a.atol) for s in seeds]
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
        print(json.dumps([{k: v for k, v in r.items() if k != "first_mismatches"}
                          for r in results]))
    else:
        from pamdp_bench.tools.platform_ab_record import record

        data = record(a.samples, seeds[0])
        with open(a.out, "w") as f:
            json.dump(data, f, indent=1)
        print(f"wrote {len(data['platform_level_transitions'])} cases to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
