"""The generating runs of the expert / medium / medium-replay datasets (``catalog.SOURCES``).

``generate_source(env_id)`` trains the env's source agent from scratch on the dataset env (env
defaults) with ``train_recorded`` (the shared off-policy loop, so every transition the run
collects comes back with the state), one chunk per evaluation interval, and evaluates every
chunk's state on ``eval_episodes`` episodes with the harness's evaluation keys and deterministic
acting. It returns the states ``pick_policies`` can choose (``kept_points``: the last and each
point whose return beats all earlier ones), the evaluation records and the recorded stream, so
one training pass serves all three trained kinds.

With a store (``source_store``; ``datasets build`` uses one by default) every point is
checkpointed, a killed run resumes at its newest point, and the kept states stay on disk until
a dataset needs one.

Training is deterministic: a second pass on the same platform gives the same states, records
and stream bit for bit, which is how a dataset is rebuilt without shipping checkpoints. The
records of the pass that built the committed datasets are committed
(``results/datasets/sources/<env>.jsonl``) and a rebuild checks its own against them
(``--rewrite_sources`` records another platform's instead). An agent with an uncounted warm-up
(HyAR's random episodes) records it first (``warmup_recorded``): the stream starts with it
(§6.3: medium-replay is "warm-up included").

``pick_policies`` applies §6.3: expert = final state (or the scripted reference), medium = the
first evaluated state whose normalised score reaches ``MEDIUM_SCORE``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.agents import get_agent, reading_config
from pamdp_bench.analysis.anchors import RANDOM
from pamdp_bench.datasets.catalog import MEDIUM_SCORE, SOURCES, Source
from pamdp_bench.datasets.source_store import SourceStore, StoredStates
from pamdp_bench.harness.evaluate import agent_episodes, summarize_episodes
from pamdp_bench.harness.records import config_hash
from pamdp_bench.harness.seeding import eval_keys, init_key
from pamdp_bench.registry import make


class SourceMismatchError(RuntimeError):
    """A regenerated source run differs from its committed records."""


@dataclasses.dataclass
class SourceRun:
    """One generating run: its kept states, evaluations at every point, the collected stream."""

    env_id: str
    source: Source
    agent: Any
    config_hash: str
    #: env steps -> train state (no seed axis), ``kept_points`` only; read from the store on
    #: access when the run has one
    states: Mapping[int, Any]
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
                    log: Callable[[str], None] = print, store_root: str | None = None,
                    expected: list[dict[str, Any]] | None = None) -> SourceRun:
    """Train ``env_id``'s source agent, recording everything (module docstring). With
    ``store_root``, every evaluation point is checkpointed there (``SourceStore``) and a run
    stored earlier resumes from its newest point. ``expected``: committed records of this
    source (``committed_records``); the first evaluation that differs stops the run with
    ``SourceMismatchError`` (on another CPU training drifts from the first point, and the
    check at the end came after the whole budget: 50 min for Goal). The point is stored
    first, so ``--rewrite_sources`` resumes from it."""
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
    identity = {"env_id": env_id, "agent": source.agent, "config_hash": chash,
                "seed": source.seed, "eval_interval": source.eval_interval}
    store = None if store_root is None else SourceStore(store_root, identity)
    template = jax.eval_shape(agent.init, init_key(source.seed))
    evaluate = evaluator(agent, env_id)
    t0 = time.perf_counter()
    stored = None if store is None else store.resume(template)
    if stored is not None:
        if stored["step"] > source.budget:
            raise ValueError(f"{env_id}: the run stored in {store.directory} is at "
                             f"{stored['step']} env steps, past the budget {source.budget}; "
                             "remove it (or raise the budget) to build from this source")
        start, state, records = stored["step"], stored["state"], stored["records"]
        warmup, parts, states = stored["warmup"], stored["parts"], {}
        log(f"{env_id} source {source.agent}: resumed at {start} env steps from "
            f"{store.directory}")
    else:
        start, states, records, parts, warmup = 0, {}, [], [], 0
        state, rec = _initial_state(agent, source, unrecorded is None)
        if rec is not None:  # an uncounted warm-up (HyAR) is part of what the run collected
            rec = {k: np.asarray(v) for k, v in rec.items()}
            parts.append(rec)
            warmup = len(rec["reward"])
            if store is not None:
                store.save_part(None, rec)
            log(f"{env_id} source {source.agent}: {warmup} uncounted warm-up transitions "
                f"recorded ({time.perf_counter() - t0:.0f} s)")
    for point in range(start + source.eval_interval, source.budget + 1, source.eval_interval):
        state, metrics, rec = chunk(state)
        if rec is not None:
            parts.append({k: np.asarray(v) for k, v in rec.items()})
            if store is not None:
                store.save_part(point, parts[-1])
        ev = evaluate(state, source.seed, point, source.eval_episodes)
        records.append({"env_id": env_id, "agent": source.agent, "reading": source.reading,
                        "config_hash": chash, "seed": source.seed, "env_steps": point,
                        "eval_episodes": source.eval_episodes, **ev})
        keep = kept_points(records)
        if store is None:  # kept states in memory
            states = {p: s for p, s in states.items() if p in keep}
            states[point] = jax.device_get(state)
        else:  # on disk only (StoredStates reads them back)
            store.save(point, state, records, warmup, unrecorded is None)
            store.prune(keep)
        log(f"{env_id} source {source.agent}: {point}/{source.budget} env steps, return "
            f"{ev['return_mean']:.3f}, success {ev['success_rate']:.2f} "
            f"({time.perf_counter() - t0:.0f} s)")
        _check_expected(env_id, source, records, expected)
    if store is not None:
        _retrain_missing(env_id, source, agent, store, template, chunk, evaluate, records,
                         warmup, unrecorded is None, log)
        store.close()
        states = StoredStates(store_root, identity, template)
    stream = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else None
    return SourceRun(env_id, source, agent, chash, states, records, stream,
                     time.perf_counter() - t0, unrecorded, warmup)


#: What a source run that differs from its committed records means, and the way out.
_OTHER_PLATFORM = ("on another platform (CPU/GPU, jax version) training is not bitwise the "
                   "same: rebuild with --rewrite_sources to record this platform's run, and the "
                   "manifest's hashes will differ")


def _check_expected(env_id: str, source: Source, records: list[dict[str, Any]],
                    expected: list[dict[str, Any]] | None) -> None:
    """``SourceMismatchError`` if the newest record differs from the committed one at its
    point (nothing to check without committed records of this very source)."""
    if not expected or _run_identity(expected) != _run_identity(records):
        return
    new = records[-1]
    want = next((r for r in expected if r.get("env_steps") == new["env_steps"]), None)
    if want is not None and want != new:
        raise SourceMismatchError(
            f"{env_id}: the regenerated {source.agent} run differs from the committed "
            f"records at {new['env_steps']} env steps ({new} vs {want}); {_OTHER_PLATFORM}")


def _initial_state(agent: Any, source: Source, recorded: bool) -> tuple[Any, Any]:
    """A run's state at env step 0 and its recorded warm-up (None without one): after HyAR's
    uncounted warm-up when the run is recorded (an unrecorded ``train`` runs it itself)."""
    state = jax.jit(agent.init)(init_key(source.seed))
    if not recorded:
        return state, None
    return agent.warmup_recorded(state)


def _retrain_missing(env_id: str, source: Source, agent: Any, store: SourceStore,
                     template: Any, chunk: Callable[[Any], Any], evaluate: Callable[..., Any],
                     records: list[dict[str, Any]], warmup: int, recorded: bool,
                     log: Callable[[str], None]) -> None:
    """Re-train the kept states the store lacks (pruned by an older keep rule, or deleted)
    from the nearest earlier stored state, or from scratch. Training is deterministic, so
    every re-evaluated point must give its stored record again (``SourceMismatchError``
    otherwise: the code or the platform changed since the run was stored)."""
    stored = set(store.steps())
    by_step = {r["env_steps"]: i for i, r in enumerate(records)}
    for target in sorted(kept_points(records) - stored):
        base = max((s for s in stored if s < target), default=0)
        state = (store.load_state(base, template) if base
                 else _initial_state(agent, source, recorded)[0])
        for point in range(base + source.eval_interval, target + 1, source.eval_interval):
            state, _, _ = chunk(state)
            ev = evaluate(state, source.seed, point, source.eval_episodes)
            want = records[by_step[point]]
            if any(want.get(k) != v for k, v in ev.items()):
                raise SourceMismatchError(
                    f"{env_id}: re-training the stored run's state at {target} env steps from "
                    f"{base} gave another evaluation at {point} ({ev} vs {want}); the code "
                    f"or platform changed since the run was stored: remove {store.directory} "
                    "to train it again")
        store.save(target, state, records[:by_step[target] + 1], warmup, recorded)
        stored.add(target)
        log(f"{env_id} source {source.agent}: the kept state at {target} env steps was not "
            f"stored; re-trained from {base or 'scratch'}, its records match")


def medium_index(env_id: str, records: list[dict[str, Any]], expert_return: float
                 ) -> int | None:
    """Index of the first record whose normalised score reaches ``MEDIUM_SCORE``, or None."""
    return next((i for i, r in enumerate(records)
                 if normalized(env_id, r["return_mean"], expert_return) >= MEDIUM_SCORE), None)


def kept_points(records: list[dict[str, Any]]) -> set[int]:
    """The evaluation points whose states ``pick_policies`` can choose, whatever the expert:
    the last (a final-state expert) and every point whose return beats all earlier ones. The
    medium state is the first point at or above a threshold, so every earlier return is below
    it and its own is a new maximum: whichever expert return sets the threshold, the medium
    state is one of these. HyAR-TD3's states hold its replay buffer (160-330 MB each), so
    keeping all 60 points of a run would take 10-20 GB."""
    kept, best = {records[-1]["env_steps"]}, -np.inf
    for r in records:
        if r["return_mean"] > best:
            best = r["return_mean"]
            kept.add(r["env_steps"])
    return kept


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
    medium_i = medium_index(run.env_id, run.records, er)
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


def committed_records(directory: str, env_id: str) -> list[dict[str, Any]] | None:
    """The env's committed source records, or None."""
    path = records_path(directory, env_id)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_or_write_records(run: SourceRun, directory: str, rewrite: bool = False) -> str:
    """Compare the run's records with the committed ones (``SourceMismatchError`` on any
    difference), or write them if none are committed, if the committed ones are another
    source's (the catalog changed the env's agent, config, seed or eval interval), or with
    ``rewrite``; returns what happened."""
    path = records_path(directory, run.env_id)
    saved = None if rewrite else committed_records(directory, run.env_id)
    if saved is not None:
        old, new = _run_identity(saved), _run_identity(run.records)
        if old != new:
            _write_records(path, run.records)
            return (f"written to {path}, replacing another source's records "
                    f"({_describe(old)}; the catalog names {_describe(new)})")
        if saved != run.records:
            diff = next(((a, b) for a, b in zip(saved, run.records, strict=False) if a != b),
                        (len(saved), len(run.records)))
            raise SourceMismatchError(
                f"{run.env_id}: the regenerated {run.source.agent} run differs from {path} "
                f"(first difference: {diff}); {_OTHER_PLATFORM}")
        return f"matches {path}"
    replaced = os.path.exists(path)
    _write_records(path, run.records)
    return f"{'rewritten' if replaced else 'written'} to {path}"


#: What names a generating run in its records (the first record's env steps: the interval).
_IDENTITY_KEYS = ("agent", "reading", "config_hash", "seed", "env_steps")


def _run_identity(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: records[0].get(k) for k in _IDENTITY_KEYS} if records else {}


def _describe(identity: dict[str, Any]) -> str:
    return ", ".join(f"{k} {identity.get(k)}" for k in _IDENTITY_KEYS)


def _write_records(path: str, records: list[dict[str, Any]]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=True) + "\n")
    os.replace(tmp, path)
