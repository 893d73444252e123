"""The generating runs of the expert / medium / medium-replay datasets (``catalog.SOURCES``).

``generate_source(env_id)`` trains the env's source agent from scratch on the dataset env
(env defaults) with ``train_recorded`` (the shared off-policy loop, so every transition the run
collects comes back with the state), one chunk per evaluation interval, and evaluates every
chunk's state on ``eval_episodes`` episodes with the harness's evaluation keys and
deterministic acting. It returns the states at every evaluation point (host memory: the P-DQN
family's are a few MB), the evaluation records and the recorded stream, so one training pass
serves all three trained kinds. Training is deterministic: a second pass on the same platform
gives the same states, records and stream bit for bit, which is how a dataset is rebuilt
without shipping checkpoints; the records of the pass that built the committed datasets are
committed (``results/datasets/sources/<env>.jsonl``) and a rebuild checks its own against them. An
agent with an uncounted warm-up (HyAR's random episodes) records it first
(``warmup_recorded``): the stream starts with it (§6.3: medium-replay is "warm-up included").

``pick_policies`` applies §6.3: expert = final state (or the scripted reference), medium = the
first evaluated state whose normalised score reaches ``MEDIUM_SCORE``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.agents import get_agent, reading_config
from pamdp_bench.analysis.anchors import RANDOM
from pamdp_bench.datasets.catalog import MEDIUM_SCORE, SOURCES, Source
from pamdp_bench.harness.evaluate import agent_episodes, summarize_episodes
from pamdp_bench.harness.records import config_hash
from pamdp_bench.harness.seeding import eval_keys, init_key
from pamdp_bench.registry import make


class SourceMismatchError(RuntimeError):
    """A regenerated source run differs from its committed records."""


@dataclasses.dataclass
class SourceRun:
    """One generating run: states and evaluations at every point, and the collected stream."""

    env_id: str
    source: Source
    agent: Any
    config_hash: str
    states: dict[int, Any]  # env steps -> train state (no seed axis)
    records: list[dict[str, Any]]  # one per evaluation point
    stream: dict[str, np.ndarray] | None  # every collected transition, in order
    wall_s: float
    #: why ``stream`` is None (the agent cannot record all it collects), else None
    unrecorded: str | None = None
    #: leading transitions of ``stream`` from an uncounted warm-up (HyAR's random episodes)
    warmup_transitions: int = 0

    def record_at(self, step: int) -> dict[str, Any]:
        return next(r for r in self.records if r["env_steps"] == step)


def source_agent(env_id: str, source: Source | None = None) -> tuple[Any, Any, str]:
    """(agent built on the dataset env, its config, the config's hash)."""
    source = source or SOURCES[env_id]
    cls = get_agent(source.agent)
    cfg = reading_config(cls, env_id, source.reading)
    env, params = make(env_id)
    return cls(env, params, cfg), cfg, config_hash(cfg)


def evaluator(agent: Any, env_id: str) -> Callable[[Any, int, int, int], dict[str, float]]:
    """``evaluate(state, seed, point, episodes)``: deterministic evaluation of one state with
    the harness keys of ``(seed, point)``, compiled once for the agent (not per call)."""
    env, params = make(env_id)
    run = jax.jit(lambda s, k: agent_episodes(agent, env, params, s, k, True))

    def evaluate(state: Any, seed: int, point: int, episodes: int) -> dict[str, float]:
        out = run(jax.tree.map(lambda x: x[None], state), eval_keys(seed, point, episodes)[None])
        return summarize_episodes({k: np.asarray(v)[0] for k, v in out.items()})

    return evaluate


def generate_source(env_id: str, source: Source | None = None,
                    log: Callable[[str], None] = print) -> SourceRun:
    """Train ``env_id``'s source agent, recording everything (module docstring)."""
    source = source or SOURCES[env_id]
    agent, _, chash = source_agent(env_id, source)
    if source.budget % source.eval_interval:
        raise ValueError(f"{env_id}: budget {source.budget} is not a multiple of the eval "
                         f"interval {source.eval_interval}")
    unrecorded = getattr(agent, "unrecorded_steps", lambda: "it has no train_recorded")()
    if unrecorded is None:
        chunk = jax.jit(lambda s: agent.train_recorded(s, source.eval_interval))
    else:  # expert and medium need only the states; medium-replay will say why it is missing
        log(f"{env_id}: the {source.agent} run is not recorded ({unrecorded}): no "
            "medium-replay from it")
        chunk = jax.jit(lambda s: (*agent.train(s, source.eval_interval), None))
    state = jax.jit(agent.init)(init_key(source.seed))
    evaluate = evaluator(agent, env_id)
    states, records, parts = {}, [], []
    t0 = time.perf_counter()
    warmup = 0
    if unrecorded is None:  # an uncounted warm-up (HyAR) is part of what the run collected
        state, rec = agent.warmup_recorded(state)
        if rec is not None:
            parts.append(rec)
            warmup = len(rec["reward"])
            log(f"{env_id} source {source.agent}: {warmup} uncounted warm-up transitions "
                f"recorded ({time.perf_counter() - t0:.0f} s)")
    for point in range(source.eval_interval, source.budget + 1, source.eval_interval):
        state, metrics, rec = chunk(state)
        if rec is not None:
            parts.append({k: np.asarray(v) for k, v in rec.items()})
        states[point] = jax.device_get(state)
        ev = evaluate(state, source.seed, point, source.eval_episodes)
        records.append({"env_id": env_id, "agent": source.agent, "reading": source.reading,
                        "config_hash": chash, "seed": source.seed, "env_steps": point,
                        "eval_episodes": source.eval_episodes, **ev})
        log(f"{env_id} source {source.agent}: {point}/{source.budget} env steps, return "
            f"{ev['return_mean']:.3f}, success {ev['success_rate']:.2f} "
            f"({time.perf_counter() - t0:.0f} s)")
    stream = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else None
    return SourceRun(env_id, source, agent, chash, states, records, stream,
                     time.perf_counter() - t0, unrecorded, warmup)


def scripted_expert_record(env_id: str, source: Source) -> dict[str, Any]:
    """The scripted reference evaluated like the run's states (same keys and episodes)."""
    cls = get_agent("scripted")
    env, params = make(env_id)
    agent = cls(env, params, None)
    ev = evaluator(agent, env_id)(agent.init(jax.random.key(0)), source.seed, source.budget,
                                  source.eval_episodes)
    return {"env_id": env_id, "agent": "scripted", "env_steps": None,
            "eval_episodes": source.eval_episodes, **ev}


def normalized(env_id: str, ret: float, expert_return: float) -> float:
    """§6.3's score: 0 = envs §8.1 random return, 1 = the expert's mean return."""
    low = RANDOM[env_id].return_mean
    return (ret - low) / (expert_return - low)


def pick_policies(run: SourceRun) -> dict[str, Any]:
    """Expert and medium choices of a run: steps, records, normalised scores. ``medium`` is
    None (and ``medium_error`` says why) when no evaluated state reaches ``MEDIUM_SCORE``: the
    expert and random datasets do not depend on it."""
    src = run.source
    if src.expert_from == "scripted":
        expert = scripted_expert_record(run.env_id, src)
    elif src.expert_from == "final":
        expert = run.records[-1]
    else:
        raise ValueError(f"{run.env_id}: expert_from must be 'final' or 'scripted', got "
                         f"{src.expert_from!r}")
    er = expert["return_mean"]
    scores = [normalized(run.env_id, r["return_mean"], er) for r in run.records]
    medium_i = next((i for i, s in enumerate(scores) if s >= MEDIUM_SCORE), None)
    error = None
    if medium_i is None:
        error = (f"{run.env_id}: no evaluated state of the {src.agent} run reaches a normalised "
                 f"score of {MEDIUM_SCORE} (best {max(scores):.2f}); raise its budget in "
                 "datasets/catalog.py")
    return {"expert": expert, "scores": scores, "medium_error": error,
            "medium": None if medium_i is None else run.records[medium_i],
            "medium_score": None if medium_i is None else scores[medium_i]}


def agent_policy(agent: Any, state: Any) -> Callable[[jax.Array, jax.Array], Any]:
    """``policy(obs, key)`` acting with ``state`` and the agent's own exploration-free
    stochastic selection (``deterministic=False``)."""
    state = jax.tree.map(jnp.asarray, state)
    return lambda obs, key: agent.act(state, obs, key, False)


# ------------------------------------------------------------------ committed records
def records_path(directory: str, env_id: str) -> str:
    return os.path.join(directory, f"{env_id}.jsonl")


def check_or_write_records(run: SourceRun, directory: str) -> str:
    """Compare the run's records with the committed ones (``SourceMismatchError`` on any
    difference), or write them if none are committed; returns what happened."""
    path = records_path(directory, run.env_id)
    if os.path.exists(path):
        with open(path) as f:
            saved = [json.loads(line) for line in f if line.strip()]
        if saved != run.records:
            diff = next(((a, b) for a, b in zip(saved, run.records, strict=False) if a != b),
                        (len(saved), len(run.records)))
            raise SourceMismatchError(
                f"{run.env_id}: the regenerated {run.source.agent} run differs from {path} "
                f"(first difference: {diff}); on another platform (CPU/GPU, jax version) "
                "training is not bitwise the same: rebuild with --rewrite_sources to record "
                "this platform's run, and the manifest's hashes will differ")
        return f"matches {path}"
    os.makedirs(directory, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for r in run.records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return f"written to {path}"
