"""The offline PAMDP datasets: ids, kinds, sizes and the policy that generates each.

This module owns the facts of algorithms.md §6.3 as the suite implements them:

* **Kinds** (D4RL's names): ``random`` (the uniform hybrid policy, DLPA's ``rand_action``),
  ``expert``, ``medium``, ``medium-replay``. Default size 1,000,000 transitions (whole
  episodes, ``collect``); every dataset also has a ``-small`` variant of 10,000 for tests and
  CI, generated the same way with a different salt.
* **Ids**: ``pamdp/<env id>/<kind>[-small]-v0``, e.g. ``pamdp/CatchPoint-v0/expert-v0``.
* **Episode caps**: the env defaults (Platform 200, Goal / Hard Goal 100, Catch Point 25, Hard
  Move 25), so envs §8.1's random returns are the ``ref_min_score`` anchors.
* **Generating runs** (``SOURCES``): per env one training run of a suite baseline, seed 0,
  evaluated every ``eval_interval`` env steps on ``eval_episodes`` episodes (deterministic
  acting, the harness's evaluation keys). ``expert`` acts with the run's final state, or with
  the scripted reference (envs §8.2) where that is the better policy (``expert_from``);
  ``medium`` with the first evaluated state whose normalised score reaches 0.5 (0 = the
  random anchor, 1 = the expert's mean evaluation return); ``medium-replay`` is every
  transition the run collected up to that state, in order, warm-up included (HyAR's uncounted
  random episodes come first: ``warmup_recorded``; an agent that cannot record all it collects
  gives ``medium`` but no ``medium-replay``). Expert and medium act with
  ``act(..., deterministic=False)``: the agent's own stochastic action selection.

[choice] The generating run trains on the dataset's own env (env defaults), not under the
HyAR protocol's training settings, so the policy sees the observation view and episode cap the
data is stored with (HyAR's Catch Point agents see a 4-dim view; its Platform cap is 250). The
agent is a suite baseline with its HyAR-protocol config: HyAR's reading of P-DQN
(``agent_readings`` of ``experiments/hyar.toml``) where it learns the env in a short budget
(Platform, Catch Point, Hard Move n=4), HyAR-TD3 where it does not (Goal, Hard Goal, Hard
Move n=6, 8 and 10; HyAR Table 2 has the same split). [choice] Budgets are HyAR's for Goal and
Hard Goal (300k env steps) and cut below HyAR's elsewhere (60k-300k; HyAR trains Hard Move
and Catch Point for 1M), to at most about an hour of one CPU core; each is stated below and in
every dataset's metadata.
"""

from __future__ import annotations

import dataclasses
import re
import zlib

from pamdp_bench.registry import BENCHMARK_IDS

NAMESPACE = "pamdp"
VERSION = 0
KINDS: tuple[str, ...] = ("random", "expert", "medium", "medium-replay")
#: Kinds that need the env's generating run.
TRAINED_KINDS: tuple[str, ...] = ("expert", "medium", "medium-replay")
DEFAULT_TRANSITIONS = 1_000_000
SMALL_TRANSITIONS = 10_000
#: Normalised score (random 0, expert 1) that makes a state the ``medium`` policy.
MEDIUM_SCORE = 0.5


@dataclasses.dataclass(frozen=True)
class Source:
    """The training run that provides an env's expert / medium policies."""

    agent: str
    reading: str | None
    budget: int
    eval_interval: int
    eval_episodes: int = 100
    seed: int = 0
    #: "final" (the run's last state) or "scripted" (envs §8.2 reference policy)
    expert_from: str = "final"
    why: str = ""


_PDQN = dict(agent="pdqn", reading="hyar")
_HYAR_TD3 = dict(agent="hyar_td3", reading=None)
SOURCES: dict[str, Source] = {
    "Platform-v0": Source(**_PDQN, budget=60_000, eval_interval=5_000,
                          why="P-DQN reaches return 0.99 at 50k steps under the HyAR protocol "
                              "(results/runs/hyar_platform_v2)"),
    "CatchPoint-v0": Source(**_PDQN, budget=60_000, eval_interval=5_000,
                            expert_from="scripted",
                            why="scripted reference: success 0.96 vs P-DQN's 0.88-0.98 "
                                "after 250k steps (results/runs/hyar_catch_raw)"),
    "HardMove-n4-v0": Source(**_PDQN, budget=150_000, eval_interval=2_500,
                             expert_from="scripted",
                             why="scripted reference: success 0.84 vs P-DQN's 0.44 at 100k and "
                                 "0.66 after 260k steps (results/runs/hyar_move4)"),
    "HardMove-n6-v0": Source(**_HYAR_TD3, budget=100_000, eval_interval=2_500,
                             expert_from="scripted",
                             why="scripted reference: success 0.90; HyAR-TD3 is the medium "
                                 "source (P-DQN's 100k-step run peaked at a normalised 0.35; "
                                 "HyAR-TD3 reached success 0.75 at 50k steps on n=4, P-DQN "
                                 "0.62 at 210k: results/runs/hyar_move4)"),
    "HardMove-n8-v0": Source(**_HYAR_TD3, budget=150_000, eval_interval=2_500,
                             expert_from="scripted",
                             why="scripted reference: success 0.95; HyAR-TD3 is the medium "
                                 "source, as for n=6 (HyAR Table 2: P-DQN success 0.04 at "
                                 "n=8; the suite's P-DQN run never reached half the expert; "
                                 "HyAR-TD3's best in 100k steps was a normalised 0.47)"),
    "HardMove-n10-v0": Source(**_HYAR_TD3, budget=300_000, eval_interval=2_500,
                              expert_from="scripted",
                              why="scripted reference: success 0.95; HyAR-TD3 is the medium "
                                  "source, as for n=6 and n=8 (HyAR Table 2: P-DQN success 0.06 "
                                  "at n=10; the suite's 100k-step P-DQN run never reached half "
                                  "the expert)"),
    "Goal-v0": Source(**_HYAR_TD3, budget=300_000, eval_interval=5_000,
                      why="expert: the run's final state at HyAR's 300k budget, which beats the "
                          "scripted lure-then-shoot reference (return 12.37, success 0.35; "
                          "HyAR Table 2: HyAR-TD3 success 0.78); P-DQN's 60k-step run only "
                          "learned to shoot at once and miss (success 0.00)"),
    "HardGoal-v0": Source(**_HYAR_TD3, budget=300_000, eval_interval=5_000,
                          why="expert: the run's final state at HyAR's 300k budget, which beats "
                              "the scripted lure-then-shoot reference through Hard Goal's bands "
                              "(return 12.37, success 0.35; HyAR Table 2: HyAR-TD3 0.60, P-DQN "
                              "0.00)"),
}

_ID_RE = re.compile(rf"^{NAMESPACE}/(?P<env>[A-Za-z0-9-]+?)/(?P<kind>[a-z-]+?)"
                    rf"(?P<small>-small)?-v(?P<version>\d+)$")


@dataclasses.dataclass(frozen=True)
class DatasetRef:
    """One dataset: env, kind and size variant."""

    env_id: str
    kind: str
    small: bool = False

    def __post_init__(self) -> None:
        if self.env_id not in BENCHMARK_IDS:
            raise ValueError(f"unknown env {self.env_id!r}; datasets exist for "
                             f"{', '.join(BENCHMARK_IDS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown dataset kind {self.kind!r}; kinds: {', '.join(KINDS)}")

    @property
    def id(self) -> str:
        return f"{NAMESPACE}/{self.env_id}/{self.kind}{'-small' if self.small else ''}-v{VERSION}"

    @property
    def transitions(self) -> int:
        return SMALL_TRANSITIONS if self.small else DEFAULT_TRANSITIONS

    @property
    def salt(self) -> int:
        """Per-dataset high word of the episode seeds (``collect``): nonzero, < 2**31."""
        return (zlib.crc32(self.id.encode()) & 0x7FFFFFFF) or 1


def parse_id(dataset_id: str) -> DatasetRef:
    """``pamdp/<env>/<kind>[-small]-v0`` -> its ``DatasetRef`` (ValueError naming the form)."""
    m = _ID_RE.match(dataset_id)
    if not m:
        raise ValueError(f"not a pamdp_bench dataset id: {dataset_id!r} (the form is "
                         f"{NAMESPACE}/<env id>/<kind>[-small]-v{VERSION}, e.g. "
                         f"{NAMESPACE}/CatchPoint-v0/expert-v0)")
    if int(m["version"]) != VERSION:
        raise ValueError(f"{dataset_id}: version {m['version']} does not exist (only "
                         f"v{VERSION})")
    return DatasetRef(m["env"], m["kind"], bool(m["small"]))


def all_refs(envs: list[str] | None = None, kinds: list[str] | None = None,
             small: bool | None = None) -> list[DatasetRef]:
    """Every dataset of ``envs`` x ``kinds`` (default all), both sizes unless ``small``."""
    sizes = (False, True) if small is None else (small,)
    return [DatasetRef(e, k, s) for e in (envs or BENCHMARK_IDS) for k in (kinds or KINDS)
            for s in sizes]
