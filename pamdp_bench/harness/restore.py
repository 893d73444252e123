"""Load a trained agent back from a run directory (``pamdp-bench eval RUN_DIR``, ``render
--run``).

A run keeps orbax checkpoints under ``RUN_DIR/checkpoints/<env id>`` (one directory per
process of a multi-process run, ``process-I-of-N``), each with the metadata the runner wrote:
agent spec, protocol, seeds, config hash and the hash's inputs (the agent config and the
resolved protocol). ``load_trained`` rebuilds the agent from those: the spec's agent with the
protocol's config reading and the spec's overrides, checked field by field against the stored
config (so code whose defaults changed since the run is refused, naming the fields), and the
evaluation env from the stored protocol fields. Evaluating a restored state with the harness's
keys of its step reproduces the run's own record at that step.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.agents import (
    apply_overrides,
    get_agent,
    parse_agent_spec,
    reading_config,
)
from pamdp_bench.harness import checkpoints as ckpt_lib
from pamdp_bench.harness.evaluate import agent_episodes, summarize_episodes
from pamdp_bench.harness.progress import quiet_orbax
from pamdp_bench.harness.records import config_dict, hash_input_differences
from pamdp_bench.harness.seeding import eval_keys, init_key
from pamdp_bench.protocols import EnvProtocol, load_protocol
from pamdp_bench.testing import dataset_avals


class RestoreError(ValueError):
    """A run directory that cannot be loaded (the message says why)."""


@dataclasses.dataclass
class TrainedRun:
    """One env of a run, restored at one checkpoint: the agent, its protocol, the states of
    every seed (leading seed axis) and the checkpoint's metadata."""

    agent: Any
    ep: EnvProtocol
    seeds: list[int]
    step: int
    states: Any
    meta: dict[str, Any]

    def state_of(self, seed: int) -> Any:
        """The train state of one seed (no seed axis), as jax arrays: a restored checkpoint
        holds numpy arrays, and a jitted policy that closes over the state and indexes a weight
        by its traced discrete action (DLPA's per-k rows) cannot index a numpy array."""
        if seed not in self.seeds:
            raise RestoreError(f"seed {seed} is not in this run (seeds {self.seeds})")
        i = self.seeds.index(seed)
        return jax.tree.map(lambda x: jnp.asarray(x[i]), self.states)

    def evaluate(self, episodes: int | None = None) -> list[dict[str, Any]]:
        """Deterministic evaluation of every seed with the harness's keys of this step (the
        protocol's episodes by default): one summary row per seed."""
        n = episodes or self.ep.eval_episodes
        env, params = self.ep.env_params(training=False)
        keys = jnp.stack([eval_keys(s, self.step, n) for s in self.seeds])
        out = jax.jit(lambda s, k: agent_episodes(self.agent, env, params, s, k, True))(
            self.states, keys)
        out = {k: np.asarray(v) for k, v in out.items()}
        return [{"seed": s, "episodes": n,
                 **summarize_episodes({k: v[i] for k, v in out.items()})}
                for i, s in enumerate(self.seeds)]

    def recorded(self, seed: int) -> dict[str, Any] | None:
        """The run's own record of ``seed`` at this step (from the checkpoint metadata)."""
        return next((r for r in self.meta.get("records", []) if r["seed"] == seed), None)


def _dataset_task(env_id: str, name: str) -> str | None:
    """The dataset id of an offline run's ``checkpoints/<env>/<name>`` directory, else None."""
    from pamdp_bench.datasets.catalog import NAMESPACE, parse_id

    try:
        return parse_id(f"{NAMESPACE}/{env_id}/{name}").id
    except ValueError:
        return None


def checkpoint_dirs(run_dir: str) -> dict[str, list[str]]:
    """``{task: [checkpoint directories]}`` of a run (one per process); a task is the env id,
    or for offline runs (``checkpoints/<env>/<kind>``) the dataset id."""
    if not os.path.isdir(run_dir):
        raise RestoreError(f"{run_dir}: no such run directory")
    root = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(root):
        raise RestoreError(f"{run_dir} has no checkpoints/ directory: it is not a run written "
                           "by `pamdp-bench train` (or its checkpoints were deleted)")
    out = {}
    for env_id in sorted(os.listdir(root)):
        d = os.path.join(root, env_id)
        if not os.path.isdir(d):
            continue
        tasks = {t: os.path.join(d, name) for name in sorted(os.listdir(d))
                 if (t := _dataset_task(env_id, name)) is not None}
        for task, td in (tasks or {env_id: d}).items():
            procs = sorted(os.path.join(td, p) for p in os.listdir(td)
                           if p.startswith("process-"))
            out[task] = procs or [td]
    if not out:
        raise RestoreError(f"{run_dir}: checkpoints/ holds no env directories")
    return out


def _template(agent: Any, seeds: list[int]) -> Any:
    keys = jax.vmap(init_key)(jnp.asarray(seeds))
    if getattr(agent, "offline", False):  # the state's shapes do not depend on the data's size
        data = dataset_avals(agent.env, agent.env_params)
        return jax.eval_shape(jax.vmap(agent.init, in_axes=(0, None)), keys, data)
    return jax.eval_shape(jax.vmap(agent.init), keys)


def _agent_for(meta: dict[str, Any], where: str) -> tuple[Any, EnvProtocol]:
    """Rebuild the agent and its resolved protocol from checkpoint metadata."""
    inputs = meta.get("hash_inputs")
    if not inputs:
        raise RestoreError(f"{where}: the checkpoint predates stored hash inputs; it cannot be "
                           "rebuilt safely (re-run with the current code)")
    proto = dict(inputs["protocol"])
    proto["env_overrides"] = tuple(tuple(p) for p in proto.get("env_overrides", ()))
    ep = EnvProtocol(**proto, seeds=len(meta["seeds"]), budget=int(meta.get("step", 0) or 1))
    base, overrides = parse_agent_spec(meta["agent"])
    cls = get_agent(base)
    try:
        reading = load_protocol(ep.protocol).reading_for(getattr(cls, "name", None))
    except (ValueError, OSError):
        reading = None  # a protocol file that is not shipped: its reading is not known
    cfg = apply_overrides(reading_config(cls, ep.env_id, reading), overrides, meta["agent"])
    # (stored as JSON: the runner wrote json.loads(json.dumps(inputs, default=str)))
    diff = hash_input_differences(inputs["agent_config"],
                                  json.loads(json.dumps(config_dict(cfg), default=str)))
    if diff:
        raise RestoreError(f"{where}: the agent config this code builds for {meta['agent']} "
                           f"differs from the run's: {'; '.join(diff[:5])}")
    env, params = ep.env_params(training=True)
    return cls(env, params, cfg), ep


def load_trained(run_dir: str, env_id: str, step: int | None = None) -> TrainedRun:
    """Restore task ``env_id`` (an env id, or an offline run's dataset id) of a run at
    ``step`` (default: the newest checkpoint)."""
    dirs = checkpoint_dirs(run_dir)
    if env_id not in dirs:
        raise RestoreError(f"{run_dir} has no checkpoints for {env_id} (it has "
                           f"{', '.join(dirs)})")
    parts = []
    with quiet_orbax():
        for d in dirs[env_id]:
            ck = ckpt_lib.RunCheckpointer(d, process_local=len(dirs[env_id]) > 1)
            try:
                steps = ck.all_steps()
                if not steps:
                    raise RestoreError(f"{d}: no checkpoints")
                pick = steps[-1] if step is None else step
                if pick not in steps:
                    raise RestoreError(f"{d}: no checkpoint at {pick} env steps (kept: "
                                       f"{', '.join(map(str, steps))}; a run keeps its last "
                                       "two)")
                meta = ck.read_meta(pick)
                agent, ep = _agent_for({**meta, "step": pick}, d)
                states, meta = ck.restore(pick, _template(agent, list(meta["seeds"])))
            finally:
                ck.close()
            parts.append((agent, ep, list(meta["seeds"]), pick, states, meta))
    agent, ep, _, pick, _, meta = parts[0]
    seeds = [s for p in parts for s in p[2]]
    states = parts[0][4] if len(parts) == 1 else jax.tree.map(
        lambda *xs: jnp.concatenate(xs), *[p[4] for p in parts])
    meta = {**meta, "records": [r for p in parts for r in p[5].get("records", [])]}
    return TrainedRun(agent, dataclasses.replace(ep, seeds=len(seeds)), seeds, pick,
                      states, meta)
