"""Reference row: brax's own PPO trainer on the continuous relaxation of the hybrid action.

``python -m pamdp_bench.baselines.brax_ppo --env=Platform-v0 --seeds=3 --budget=200000
--out=DIR`` trains ``brax.training.agents.ppo.train`` per seed on
``pamdp_bench.envs.brax_adapter`` (one tanh-Gaussian vector ``a[K + P]``; ``k = argmax a[:K]``,
``z = a[K:]``), then evaluates the policy with the suite's conventions and appends result
records (``pamdp_bench.harness.records`` schema, agent ``brax_ppo``) to ``DIR/results.jsonl``,
readable by ``pamdp-bench table DIR``. Needs the ``brax`` extra. This is "what a brax user
would do", not a PAMDP algorithm: brax's networks, losses and training loop are used unchanged.

Protocol (``--protocol``, default ``hyar``, ``experiments/hyar.toml``): training and evaluation
envs get the protocol's episode caps (Platform: the env's own 200); each evaluation plays
``eval_episodes`` (Platform: 100) episodes of the *deterministic* policy (tanh of the Gaussian
mean, brax's ``deterministic=True``) on a separate env with fresh reset keys, the harness's keys
(``seeding.eval_keys(seed, env_steps, n)``) and the harness's episode loop
(``evaluate.policy_episodes``: each episode ends at its first terminated/truncated). Budget
counts every env step brax takes (``batch_size * num_minibatches * unroll_length`` per training
step); no warm-up. Evaluations happen at brax's ``num_evals - 1`` epoch ends (through
``policy_params_fn``; brax's own evaluator is off, ``run_evals=False``); the last one is at the
budget and has ``final=true``. The budget must be a multiple of
``(num_evals - 1) * batch_size * num_minibatches * unroll_length`` so that brax's step count
lands exactly on it (checked).

Hyperparameters (``BraxPPOConfig``; every value is also recorded in each record's
``train_metrics`` as ``hparams/<name>``). brax ``ppo.train`` defaults are kept except where
marked [choice]:

==========================  =========  ===========================================================
learning_rate               3e-4       [choice] brax default 1e-4; 3e-4 is the value brax's own
                                       example configs (and PPO papers) use
entropy_cost                1e-2       [choice] brax default 1e-4; brax's example configs use 1e-2
discounting                 0.99       [choice] brax default 0.9; 0.99 is the suite's/HyAR's gamma
unroll_length               10         brax default
batch_size                  32         brax default
num_minibatches             5          [choice] brax default 16; 5 makes 1,600 env steps per
                                       training step, a divisor of the HyAR budgets
num_updates_per_batch       4          [choice] brax default 2; brax's example configs use 4
num_envs                    32         [choice] brax default 1 (one env is not a brax setup)
gae_lambda                  0.95       brax default
clipping_epsilon            0.3        brax default
normalize_observations      True       [choice] brax default False; brax's example configs use True
reward_scaling              1.0        brax default
max_grad_norm               None       brax default
networks                    brax       ``make_ppo_networks`` defaults: policy 4x32, value 5x256,
                                       swish, tanh-Gaussian with scalar noise std
num_evals                   26         [choice] 25 evaluations, every 8,000 env steps at 200k
==========================  =========  ===========================================================

[choice] ``episode_length`` = the env's cap and the adapter's ``own_cap=False``
(``brax_adapter.training_env``): brax's EpisodeWrapper then flags the cap as a truncation, so PPO
bootstraps it (the suite convention); see the adapter's docstring for why the adapter's own cap
must be off under brax's wrappers. [choice] brax's ``seed`` argument is the seed index.
Records carry the harness's ``run_config_hash`` (records written before the restructure of
2026-12 used a variant without the key root and with an empty ``env_overrides``, so a re-run
into an old directory shows as its own ``brax_ppo@HASH`` row).
Resuming: seeds whose final record is already in ``DIR/results.jsonl`` are skipped; a seed
killed mid-run restarts from scratch (brax's trainer has no resumable state here); records whose
key (protocol, env, agent, seed, env steps) is already in the file are not appended again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from pamdp_bench.harness import records as results_lib
from pamdp_bench.harness.evaluate import policy_episodes, summarize_episodes
from pamdp_bench.protocols import EnvProtocol, load_protocol

AGENT_NAME = "brax_ppo"


@dataclasses.dataclass(frozen=True)
class BraxPPOConfig:
    """Arguments passed to ``brax.training.agents.ppo.train`` (module docstring table)."""

    # Field declarations look like the agents' configs (duplicates flags the shape); the
    # names and values are brax's own, so there is nothing to share.

    learning_rate: float = 3e-4
    entropy_cost: float = 1e-2
    discounting: float = 0.99
    unroll_length: int = 10
    batch_size: int = 32
    num_minibatches: int = 5
    num_updates_per_batch: int = 4
    num_envs: int = 32
    gae_lambda: float = 0.95
    clipping_epsilon: float = 0.3
    normalize_observations: bool = True
    reward_scaling: float = 1.0
    num_evals: int = 26
    sources: tuple[str, ...] = (
        "brax.training.agents.ppo.train defaults (unroll_length, batch_size, gae_lambda, "
        "clipping_epsilon, reward_scaling, networks)",
        "brax example PPO configs: learning_rate 3e-4, entropy_cost 1e-2, "
        "num_updates_per_batch 4, normalize_observations",
        "algorithms.md §7.1 HyAR gamma 0.99 (discounting)",
        "[choice] num_envs 32, num_minibatches 5, num_evals 26 (fit the HyAR budgets)",
    )

    @property
    def steps_per_training_step(self) -> int:
        return self.batch_size * self.num_minibatches * self.unroll_length

    def train_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``ppo.train`` (everything but ``sources``)."""
        kw = dataclasses.asdict(self)
        kw.pop("sources")
        return kw


def check_budget(budget: int, config: BraxPPOConfig) -> None:
    """Raise ``ValueError`` unless brax's step count will land exactly on ``budget``."""
    unit = config.steps_per_training_step * max(config.num_evals - 1, 1)
    if budget < 1 or budget % unit:
        raise ValueError(
            f"budget {budget} must be a positive multiple of (num_evals - 1) * batch_size * "
            f"num_minibatches * unroll_length = {unit}; e.g. {max(1, round(budget / unit)) * unit}"
        )
    if (config.batch_size * config.num_minibatches) % config.num_envs:
        raise ValueError("batch_size * num_minibatches must be a multiple of num_envs (brax)")


def _hparams(config: BraxPPOConfig, episode_length: int) -> dict[str, Any]:
    out = {f"hparams/{k}": v for k, v in config.train_kwargs().items()}
    out["hparams/episode_length"] = episode_length
    out["hparams/networks"] = "brax make_ppo_networks defaults (policy 4x32, value 5x256, swish)"
    out["hparams/action_relaxation"] = "a[K+P] in [-1,1]: k = argmax a[:K], z = a[K:]"
    return out


def make_evaluator(ep: EnvProtocol, make_policy: Any, num_actions: int) -> Any:
    """``evaluate(params, seed, env_steps) -> episode arrays``, jitted once per run."""
    from pamdp_bench.envs.brax_adapter import decode_action
    from pamdp_bench.harness.seeding import eval_keys

    env, params = ep.env_params(training=False)

    def run(policy_params: Any, keys: jax.Array) -> dict[str, jax.Array]:
        inference = make_policy(policy_params, deterministic=True)

        def policy(obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
            action, _ = inference(obs[None], key)
            return decode_action(action[0], num_actions)

        return policy_episodes(env, params, policy, keys)

    run_jit = jax.jit(run)

    def evaluate(policy_params: Any, seed: int, env_steps: int) -> dict[str, np.ndarray]:
        keys = eval_keys(seed, env_steps, ep.eval_episodes)
        return {k: np.asarray(v) for k, v in run_jit(policy_params, keys).items()}

    return evaluate


def train_seed(
    ep: EnvProtocol, seed: int, config: BraxPPOConfig, out_path: str | None,
    log: Any = print,
) -> list[dict[str, Any]]:
    """Train one seed with brax PPO; evaluate at every epoch end; append and return records."""
    from brax.training.agents.ppo import train as ppo

    from pamdp_bench.envs.brax_adapter import BraxPAMDPEnv, ensure_jax_compat

    ensure_jax_compat()  # brax's trainer calls jax.device_put_replicated (removed in jax 0.10)
    check_budget(ep.budget, config)
    train_env_obj, train_params = ep.env_params(training=True)
    env = BraxPAMDPEnv(env=train_env_obj, params=train_params, own_cap=False)
    episode_length = env.episode_cap
    chash = results_lib.run_config_hash(AGENT_NAME, config, ep)
    prov = results_lib.provenance()
    hparams = _hparams(config, episode_length)
    t0 = time.perf_counter()
    pending: dict[int, dict[str, float]] = {}
    records: list[dict[str, Any]] = []
    evaluator: Any = None

    def policy_params_fn(step: int, make_policy: Any, params: Any) -> None:
        nonlocal evaluator
        if step == 0:
            return
        if evaluator is None:
            evaluator = make_evaluator(ep, make_policy, env.num_actions)
        pending[step] = summarize_episodes(evaluator(params, seed, step))

    def progress_fn(step: int, metrics: dict[str, Any]) -> None:
        if step not in pending:
            return
        summary = pending.pop(step)
        train_metrics, _ = results_lib.scalar_metrics(metrics)
        rec = results_lib.build_record(
            ep, AGENT_NAME, seed, step, summary, chash, time.perf_counter() - t0,
            {**prov, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
            {**train_metrics, **hparams})
        records.append(rec)
        if out_path is not None:
            _append_new(out_path, [rec])
        log(f"{ep.env_id} seed {seed} @ {step} steps: return {summary['return_mean']:.3f} "
            f"success {summary['success_rate']:.2f} ({rec['wall_time_s']:.0f} s)")

    ppo.train(
        environment=env,
        num_timesteps=ep.budget,
        episode_length=episode_length,
        action_repeat=1,
        seed=int(seed),
        run_evals=False,
        progress_fn=progress_fn,
        policy_params_fn=policy_params_fn,
        **config.train_kwargs(),
    )
    return records


def _existing(path: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    if not os.path.exists(path):
        return {}
    return {results_lib.record_key(r): r for r in results_lib.iter_records(path)}


def _append_new(path: str, records: Sequence[dict[str, Any]]) -> None:
    """Append records whose key is not yet in the file (resumed seeds re-evaluate)."""
    have = _existing(path)
    results_lib.append_records(path, [r for r in records if results_lib.record_key(r) not in have])


def run(env_id: str, seeds: int, budget: int | None, out_dir: str, protocol: str = "hyar",
        config: BraxPPOConfig | None = None, log: Any = print) -> list[dict[str, Any]]:
    """Train ``seeds`` seeds (skipping those already final in ``out_dir``); return all records."""
    config = config or BraxPPOConfig()
    ep = load_protocol(protocol).for_env(env_id)
    ep = dataclasses.replace(ep, seeds=seeds, **({} if budget is None else {"budget": budget}))
    check_budget(ep.budget, config)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "results.jsonl")
    done = {
        r["seed"] for r in _existing(path).values()
        if r["final"] and r["env_id"] == env_id and r["agent"] == AGENT_NAME
        and r["protocol"] == ep.protocol and r["env_steps"] == ep.budget
    }
    t0 = time.perf_counter()
    for seed in range(seeds):
        if seed in done:
            log(f"{env_id} seed {seed}: already final in {path}, skipped")
            continue
        train_seed(ep, seed, config, path, log)
    log(f"wall time {time.perf_counter() - t0:.1f} s")
    return [r for r in _existing(path).values() if r["env_id"] == env_id
            and r["agent"] == AGENT_NAME]


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m pamdp_bench.baselines.brax_ppo",
                                description=__doc__.split("\n")[0])
    p.add_argument("--env", default="Platform-v0")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=None, help="default: the protocol's")
    p.add_argument("--out", required=True)
    p.add_argument("--protocol", default="hyar")
    args = p.parse_args(argv)
    try:
        recs = run(args.env, args.seeds, args.budget, args.out, args.protocol)
    except (ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finals = [r["return_mean"] for r in recs if r["final"]]
    if finals:
        print(json.dumps({"env": args.env, "final_return_mean": float(np.mean(finals)),
                          "final_return_std": float(np.std(finals, ddof=1)) if len(finals) > 1
                          else 0.0, "n": len(finals)}))
    return 0
