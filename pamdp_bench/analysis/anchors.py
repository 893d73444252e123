"""Normalization anchors and published numbers, as data with their sources.

Everything a score table compares against lives here, in one place:

* ``RANDOM``: the random-policy returns of envs.md §8.1 (measured by running the original code
  with DLPA's ``rand_action`` and the DLPA evaluation caps). They are the 0 anchor.
* ``SCRIPTED`` / ``CEILING``: the scripted reference policies and maximum returns of envs.md §8.2.
* ``PUBLISHED``: the published numbers of algorithms.md §3.1 / §7 / §9 (DLPA Table 1, HyAR
  Table 2, MP-DQN headline numbers, FLEXplore's ablation), each with its unit, protocol and source
  tag, keyed by the suite's agent names.

Normalized score (return-based), per run::

    normalized = (return - random) / (upper - random)      # random policy -> 0, upper -> 1

**Upper-anchor rule** (``UPPER_RULE``, computed by ``upper_anchor`` from the data below, so the
documentation and the code cannot disagree): the largest of

  (a) the env's return ceiling where every successful episode earns exactly that return
      (Platform 1.0 = level completed; Goal / Hard Goal 50 = goal scored);
  (b) the scripted reference's mean return (envs.md §8.2; Catch Point, Hard Move);
  (c) the best published mean *return* whose unit is stated (DLPA Table 1; HyAR Table 2's and
      MP-DQN's Platform column), whatever its protocol.

Catch Point and Hard Move have no fixed ceiling (a success earns 20 minus the squared distances
along the approach), so (b) and (c) decide there.

**Random anchor rule**: envs.md §8.1 is valid for the DLPA evaluation caps (``SPEC_CAP``:
Platform 200, Goal / Hard Goal 100, Catch Point 25, Hard Move 25). For a protocol whose
evaluation cap differs (HyAR's Hard Move, 30 steps) the random anchor is the mean evaluation
return of this suite's ``random`` agent under that protocol (all its records for the env, weighted
by evaluation episodes), when such records are given; otherwise the anchor is missing and the
normalized score is reported as n/a. The upper anchor does not depend on the cap (it is a scale;
for the 30-step Hard Move it is the 25-step value, marked as such).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from pamdp_bench.protocols import Protocol, available_protocols, load_protocol
from pamdp_bench.registry import BENCHMARK_IDS, ENV_SPECS, env_spec, resolve_episode_cap

ENV_NAMES: dict[str, str] = {s.id: s.display_name for s in ENV_SPECS}
ENV_ORDER: tuple[str, ...] = BENCHMARK_IDS

#: Evaluation caps under which envs.md §8.1 / §8.2 were measured (the DLPA caps).
SPEC_CAP: dict[str, int] = {s.id: s.episode_cap for s in ENV_SPECS}

SRC_RANDOM = ("envs.md §8.1: DLPA rand_action on the original code, DLPA evaluation caps, "
              "2000 episodes (300 for n >= 8)")
SRC_SCRIPTED = "envs.md §8.2: scripted reference policies on the original code, DLPA caps"
SRC_DLPA = "algorithms.md §3.1/§9: DLPA Table 1, via a third-party reproduction README [2nd]"
SRC_HYAR = "algorithms.md §7.1/§9: HyAR submission Table 2 [paper-text], 5 runs"
SRC_MPDQN = "algorithms.md §9: MP-DQN headline numbers, paperswithcode entry [2nd]"
SRC_FLEX = "algorithms.md §4.3/§9: FLEXplore Table II ablation, third-party summary [2nd]"


def display_name(env_id: str) -> str:
    return ENV_NAMES.get(env_id, env_id)


def env_sort_key(env_id: str) -> tuple[int, str]:
    return (ENV_ORDER.index(env_id) if env_id in ENV_ORDER else len(ENV_ORDER), env_id)


# ----------------------------------------------------------------------------- reference data
@dataclasses.dataclass(frozen=True)
class Reference:
    """A measured reference policy (random or scripted) for one env."""

    env_id: str
    return_mean: float | None
    return_std: float | None
    success: float | None
    cap: int
    source: str
    note: str = ""


#: envs.md §8.1 (mean return, std, success rate). Platform's success was not recorded ("—").
RANDOM: dict[str, Reference] = {
    e: Reference(e, m, s, p, SPEC_CAP[e], SRC_RANDOM, note)
    for e, m, s, p, note in [
        ("Platform-v0", 0.154, 0.105, None, "success not recorded"),
        ("Goal-v0", -8.12, 1.95, 0.000, "P(goal) about 0.0005-0.0007 over 20k episodes"),
        ("HardGoal-v0", -7.46, 1.28, 0.000, ""),
        ("CatchPoint-v0", -28.07, 25.6, 0.043, ""),
        ("HardMove-n4-v0", -33.37, 28.9, 0.040, ""),
        ("HardMove-n6-v0", -33.38, 28.8, 0.037, ""),
        ("HardMove-n8-v0", -31.60, 28.6, 0.050, "300 episodes"),
        ("HardMove-n10-v0", -31.59, 28.9, 0.050, "300 episodes"),
    ]
}

#: envs.md §8.2: scripted references with a recorded mean return.
SCRIPTED: dict[str, Reference] = {
    e: Reference(e, m, s, p, SPEC_CAP[e], SRC_SCRIPTED, note)
    for e, m, s, p, note in [
        ("CatchPoint-v0", 8.63, 14.1, 0.964,
         "head to the target at full force, catch when the predicted next position is in range"),
        ("HardMove-n4-v0", 4.70, None, 0.844, "greedy best-aligned (k, +-1)"),
        ("HardMove-n6-v0", 7.11, None, 0.924, "greedy best-aligned (k, +-1)"),
        ("HardMove-n8-v0", 7.67, None, 0.938, "greedy best-aligned (k, +-1)"),
        ("HardMove-n10-v0", 9.53, None, 0.963, "greedy best-aligned (k, +-1)"),
    ]
}
#: envs.md §8.2 references without a mean return (shown in ANCHORS.md, not used numerically).
SCRIPTED_NOTES: dict[str, str] = {
    "Platform-v0": "2-step lookahead search on the true simulator reaches exactly 1.0 in 3 of 5 "
                   "episodes (9-11 steps)",
    "Goal-v0": "scripted lure-then-shoot: P(goal) about 0.10, return not recorded",
    "HardGoal-v0": "none measured",
}

#: Return ceilings that every successful episode earns (envs.md §8.2, §2.6, §3.8).
CEILING: dict[str, tuple[float, str]] = {
    "Platform-v0": (1.0, "max return 1.0 = level completed (envs.md §2.6, §8.2)"),
    "Goal-v0": (50.0, "max return 50 = goal scored (envs.md §3.8, §8.2)"),
    "HardGoal-v0": (50.0, "max return 50 = goal scored (envs.md §4, §8.2)"),
}


# ----------------------------------------------------------------------------- published numbers
@dataclasses.dataclass(frozen=True)
class Published:
    """One published number. ``protocol`` is the suite protocol it belongs to (None: neither)."""

    env_id: str
    agent: str  # the suite's agent name
    method: str  # as printed in the paper
    metric: str  # "return" or "success"
    mean: float
    std: float | None
    protocol: str | None
    source: str
    short: str  # short source label for tables
    unit_stated: bool = True
    note: str = ""
    decimals: int = 2  # as printed in the source

    def label(self) -> str:
        d = self.decimals
        std = "" if self.std is None else f" ± {self.std:.{d}f}"
        unit = "return" if self.metric == "return" else "succ"
        return f"{unit} {self.mean:.{d}f}{std}"


_HYAR_COLUMNS = ("hppo", "paddpg", "pdqn", "hhqn", "hyar_ddpg", "patd3", "pdqn_td3", "hhqn_td3",
                 "hyar_td3")
_HYAR_METHODS = ("HPPO", "PADDPG", "PDQN", "HHQN", "HyAR-DDPG", "PATD3", "PDQN-TD3", "HHQN-TD3",
                 "HyAR-TD3")
#: HyAR Table 2 as printed (algorithms.md §7.1), rows in the paper's order.
_HYAR_TABLE = {
    "Goal-v0": "0.0±0.0 0.05±0.10 0.70±0.07 0.0±0.0 0.53±0.02 0.0±0.0 0.71±0.10 0.0±0.0 0.78±0.03",
    "HardGoal-v0":
        "0.0±0.0 0.0±0.0 0.0±0.0 0.0±0.0 0.30±0.08 0.44±0.05 0.06±0.07 0.01±0.01 0.60±0.07",
    "Platform-v0":
        "0.80±0.02 0.36±0.06 0.93±0.05 0.46±0.25 0.87±0.06 0.94±0.10 0.93±0.03 0.62±0.23 0.98±0.01",
    "CatchPoint-v0":
        "0.69±0.09 0.82±0.06 0.77±0.07 0.31±0.06 0.89±0.01 0.82±0.10 0.89±0.07 0.27±0.05 0.90±0.03",
    "HardMove-n4-v0":
        "0.09±0.02 0.03±0.01 0.69±0.07 0.39±0.14 0.91±0.03 0.66±0.13 0.85±0.10 0.52±0.17 0.93±0.02",
    "HardMove-n6-v0":
        "0.05±0.01 0.04±0.01 0.41±0.05 0.32±0.17 0.91±0.04 0.04±0.02 0.74±0.08 0.29±0.13 0.92±0.04",
    "HardMove-n8-v0":
        "0.04±0.01 0.06±0.03 0.04±0.01 0.05±0.02 0.85±0.06 0.06±0.02 0.05±0.01 0.05±0.02 0.89±0.03",
    "HardMove-n10-v0":
        "0.05±0.01 0.04±0.01 0.06±0.02 0.04±0.01 0.82±0.06 0.07±0.02 0.05±0.02 0.05±0.02 0.75±0.05",
}
#: DLPA Table 1 (algorithms.md §3.1): raw return.
_DLPA_ROW = {
    "Platform-v0": (0.92, 0.05), "Goal-v0": (28.75, 6.91), "HardGoal-v0": (28.38, 2.88),
    "CatchPoint-v0": (7.56, 4.86), "HardMove-n4-v0": (6.29, 5.74),
    "HardMove-n6-v0": (8.48, 5.45), "HardMove-n8-v0": (7.80, 6.27),
    "HardMove-n10-v0": (6.35, 9.97),
}


_RANDOM_K = ("HyAR's released P-DQN (agents/pdqn.py, pdqn_hard_goal.py) picks k uniformly at "
             "random in training and evaluation (rnd < 1.0); the suite's P-DQN is epsilon-greedy")
_RUN_ON = ("HyAR's H-PPO script resets at the 30-step cap without closing its GAE path, which "
           "runs on into the next episode (the suite's hyar reading does the same)")
#: What HyAR's released code (ece9562) says about a Table 2 cell (issue 19's review).
_HYAR_NOTES = {
    ("Platform-v0", "pdqn"): _RANDOM_K + ", so this number is not from the released agent",
    ("Goal-v0", "pdqn"): _RANDOM_K + ", so this number is not from the released agent; "
                         "200k env steps (the other Goal rows 300k)",
    ("HardGoal-v0", "pdqn"): _RANDOM_K + "; 0.0 is what that random-k agent scores",
    ("Goal-v0", "hppo"): "200k env steps (the other Goal rows 300k)",
    ("HardGoal-v0", "hppo"): "the released main_hard_goal_hppo.py stops at its first evaluation "
                             "(action_parameter_sizes undefined): not the published run",
    ("CatchPoint-v0", "hppo"): "30-step episodes (the other Catch Point rows 25); " + _RUN_ON,
    **{(f"HardMove-n{n}-v0", "hppo"): _RUN_ON + "; without it the suite's H-PPO learns Hard "
       "Move (results/runs/hyar_table2/README.md)" for n in (4, 6, 8, 10)},
}


def _pm(cell: str) -> tuple[float, float]:
    mean, std = cell.split("±")
    return float(mean), float(std)


def _build_published() -> tuple[Published, ...]:
    out: list[Published] = []
    for env_id, (m, s) in _DLPA_ROW.items():
        out.append(Published(env_id, "dlpa", "DLPA", "return", m, s, "dlpa", SRC_DLPA,
                             "DLPA T1 [2nd]", note="budget and seeds [MISSING]"))
    for env_id, row in _HYAR_TABLE.items():
        cells = row.split()
        assert len(cells) == len(_HYAR_COLUMNS), env_id
        # HyAR reports Platform by return and every other env by success rate
        metric = "return" if env_spec(env_id).family == "platform" else "success"
        for agent, method, cell in zip(_HYAR_COLUMNS, _HYAR_METHODS, cells, strict=True):
            m, s = _pm(cell)
            out.append(Published(env_id, agent, method, metric, m, s, "hyar", SRC_HYAR,
                                 "HyAR T2", note=_HYAR_NOTES.get((env_id, agent), "")))
    out.append(Published("Platform-v0", "mpdqn", "MP-DQN", "return", 0.987, None, None,
                         SRC_MPDQN, "MP-DQN [2nd]",
                         decimals=3, note="MP-DQN's protocol: 20,000 training episodes, "
                                          "1,000 greedy evaluation episodes"))
    out.append(Published("Goal-v0", "mpdqn", "MP-DQN", "success", 0.789, None, None, SRC_MPDQN,
                         "MP-DQN [2nd]", decimals=3, note="P(goal); MP-DQN's protocol"))
    out.append(Published("CatchPoint-v0", "flexplore", "FLEXplore", "return", 8.12, 2.32, None,
                         SRC_FLEX, "FLEXplore T2 [2nd]", unit_stated=False,
                         note="unit not stated (DLPA-style scale); protocol unknown"))
    # the same Table II's smoothing-from-the-first-step variant: the row of that config
    out.append(Published("CatchPoint-v0", 'flexplore[smoothing="always"]',
                         "FLEXplore-AlwaysSmoothing", "return", -10.29, 5.17, None, SRC_FLEX,
                         "FLEXplore T2 [2nd]", unit_stated=False,
                         note="unit not stated (DLPA-style scale); protocol and FGSM eps "
                              "unknown"))
    return tuple(out)


PUBLISHED: tuple[Published, ...] = _build_published()
#: Suite agent name -> method name in the papers.
PUBLISHED_AGENTS: dict[str, str] = {p.agent: p.method for p in PUBLISHED}


def published_for(env_id: str, agent: str) -> list[Published]:
    """Published numbers for one (env, agent), in source order (``agent@HASH`` config variants,
    see ``scoring.label_config_variants``, get their agent's numbers)."""
    agent = agent.split("@")[0]
    return [p for p in PUBLISHED if p.env_id == env_id and p.agent == agent]


# ----------------------------------------------------------------------------- anchors
UPPER_RULE = (
    "upper = max of (a) the return ceiling every successful episode earns (Platform 1.0, "
    "Goal / Hard Goal 50), (b) the scripted reference's mean return (envs.md §8.2), (c) the best "
    "published mean return with a stated unit (DLPA Table 1; HyAR / MP-DQN Platform), any protocol"
)
RANDOM_RULE = (
    "random = envs.md §8.1 (original code, DLPA evaluation caps); where a protocol's evaluation "
    "cap differs (HyAR's Hard Move: 30), the mean evaluation return of this suite's `random` agent "
    "under that protocol, else n/a"
)
NORMALIZATION = "normalized = (return − random) / (upper − random): random policy → 0, upper → 1"


def upper_candidates(env_id: str) -> list[tuple[float, str]]:
    """Every value the upper-anchor rule considers for ``env_id`` (value, where from)."""
    out: list[tuple[float, str]] = []
    if env_id in CEILING:
        out.append(CEILING[env_id])
    if env_id in SCRIPTED and SCRIPTED[env_id].return_mean is not None:
        out.append((SCRIPTED[env_id].return_mean, "scripted reference (envs.md §8.2)"))
    pubs = [p for p in PUBLISHED if p.env_id == env_id and p.metric == "return" and p.unit_stated]
    if pubs:
        best = max(pubs, key=lambda p: p.mean)
        out.append((best.mean, f"best published return: {best.method} ({best.short})"))
    return out


def upper_anchor(env_id: str) -> tuple[float, str] | None:
    """The upper anchor of ``env_id`` under ``UPPER_RULE`` (value, where from), or None."""
    cands = upper_candidates(env_id)
    if not cands:
        return None
    return max(cands, key=lambda c: c[0])


@functools.cache
def shipped_protocol(protocol: str) -> Protocol | None:
    """The validated shipped protocol of that name, or None if the package has none (records
    of an ad-hoc protocol can still be tabulated; ``Anchor.note`` says the caps are assumed)."""
    if protocol not in available_protocols():
        return None
    return load_protocol(protocol)


def protocol_field(protocol: str, env_id: str, field: str, default: Any = None,
                   agent: str | None = None) -> Any:
    """A protocol field for one env: the ``[env."<id>"]`` table over the top-level default,
    under ``agent``'s own overrides there (``[env."<id>".agents.<agent>]``) if given."""
    proto = shipped_protocol(protocol)
    if proto is None:
        return default
    return proto.fields(env_id, base_agent(agent) if agent else None).get(field, default)


def base_agent(label: str) -> str:
    """The registered agent name of a table label (``pdqn@8ad5e1b4``, ``paddpg[...]``)."""
    return re.match(r"[^@\[]*", label).group(0)


def eval_cap(protocol: str, env_id: str, agent: str | None = None) -> int | None:
    """The evaluation episode cap a protocol file sets for an env (None: the env's own cap,
    also for a protocol without a file, which ``Anchor.note`` then states); ``agent``: that
    agent's cap there, where the protocol gives it its own."""
    cap = protocol_field(protocol, env_id, "eval_episode_cap", None, agent)
    return cap if isinstance(cap, int) and not isinstance(cap, bool) else None


def _protocol_envs(protocol: str) -> tuple[str, ...]:
    proto = shipped_protocol(protocol)
    return proto.envs if proto is not None else ENV_ORDER


def protocol_known(protocol: str) -> bool:
    return shipped_protocol(protocol) is not None


@dataclasses.dataclass(frozen=True)
class Anchor:
    """The resolved anchors for one (protocol, env). ``random``/``upper`` None = missing."""

    protocol: str
    env_id: str
    cap: int | None  # evaluation cap of the protocol, or of the agent where it has its own
    #                  (None: the env default)
    random: float | None
    random_source: str
    upper: float | None
    upper_source: str
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.random is not None and self.upper is not None and self.upper > self.random

    def normalize(self, value: Any) -> Any:
        """(value - random) / (upper - random); NaN where an anchor is missing."""
        v = np.asarray(value, dtype=np.float64)
        if not self.ok:
            return np.full_like(v, np.nan) if v.ndim else float("nan")
        out = (v - self.random) / (self.upper - self.random)
        return out if v.ndim else float(out)


def effective_cap(env_id: str, cap: int | None) -> int | None:
    """``registry.resolve_episode_cap``, but None (not an error) for an id the registry does
    not know: an anchors file may name tasks (datasets) that are not envs."""
    try:
        return resolve_episode_cap(env_id, cap)
    except ValueError:
        return None


def random_from_records(records: Iterable[Mapping[str, Any]], protocol: str, env_id: str,
                        agent: str = "random", cap: int | None = None
                        ) -> tuple[float, int, int] | None:
    """Mean evaluation return of ``agent`` for (protocol, env) over all its records, weighted by
    evaluation episodes: (mean, seeds, episodes), or None without records. ``cap``: only
    records measured at that evaluation cap (a record without ``eval_episode_cap``, written
    before records stated it, counts as measured at the protocol's)."""
    total, weight, seeds = 0.0, 0, set()
    for r in records:
        if (r["protocol"] == protocol and r["env_id"] == env_id and r["agent"] == agent
                and (cap is None or r.get("eval_episode_cap", cap) == cap)):
            total += float(r["return_mean"]) * r["eval_episodes"]
            weight += r["eval_episodes"]
            seeds.add(r["seed"])
    if weight == 0:
        return None
    return total / weight, len(seeds), weight


def resolve_anchor(protocol: str, env_id: str,
                   records: Iterable[Mapping[str, Any]] = (),
                   cap: int | None | str = "auto", agent: str | None = None) -> Anchor:
    """Anchors for one (protocol, env) under ``RANDOM_RULE`` and ``UPPER_RULE``.

    ``cap="auto"`` reads the protocol file; pass an int (or None) to override. ``agent``: the
    anchors at that agent's cap, where the protocol gives it its own (e.g. HyAR's H-PPO on
    Catch Point, 30): envs.md §8.1 if that cap is the spec's, else n/a, since the suite's
    ``random`` agent runs at the protocol's cap (``RANDOM_RULE``'s text, which every committed
    table quotes, leaves this case out; the anchor's source says it).
    """
    if cap == "auto":
        cap = eval_cap(protocol, env_id, agent)
    protocol_cap = effective_cap(env_id, eval_cap(protocol, env_id))
    own_cap = agent is not None and effective_cap(env_id, cap) != protocol_cap
    notes = []
    if not protocol_known(protocol) and cap is None:
        notes.append(f"protocol {protocol!r} has no file in experiments/; env default caps assumed")
    up = upper_anchor(env_id)
    upper, upper_src = (None, "no upper anchor for this env") if up is None else up
    spec_cap = SPEC_CAP.get(env_id)
    if env_id not in RANDOM:
        random, random_src = None, "no random anchor for this env (not in envs.md §8.1)"
    elif cap is None or cap == spec_cap:
        random, random_src = RANDOM[env_id].return_mean, "envs.md §8.1"
    else:
        found = None if own_cap else random_from_records(records, protocol, env_id,
                                                            cap=protocol_cap)
        if own_cap:  # the suite's `random` agent ran at the protocol's cap, not this one
            random = None
            random_src = (f"n/a: {base_agent(agent)}'s evaluation cap {cap} (its own in this "
                          f"protocol) != {spec_cap} of envs.md §8.1, and the `random` agent runs "
                          "at the protocol's cap")
        elif found is None:
            random = None
            random_src = (f"n/a: evaluation cap {cap} != {spec_cap} of envs.md §8.1, and no "
                          f"`random` agent records for {protocol}/{env_id}")
        else:
            random = found[0]
            random_src = (f"suite `random` agent under {protocol} (cap {cap}): {found[1]} seeds, "
                          f"{found[2]} episodes")
            notes.append(f"random anchor {random:.3f} from the {random_src}")
        if upper is not None:
            notes.append(f"upper anchor measured/published at cap {spec_cap}, used for cap {cap}")
    return Anchor(protocol, env_id, cap, random, random_src, upper, upper_src, "; ".join(notes))


# ----------------------------------------------------------------------------- ANCHORS.md
def _f(x: float | None, measured: bool = False) -> str:
    """Spec constants as printed (``g``); measured values with 3 (|x| < 10) or 2 decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if not measured:
        return f"{x:g}"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.2f}"


def anchors_markdown(records: Iterable[Mapping[str, Any]] = (),
                     protocols: Iterable[str] = ()) -> str:
    """The one anchor table (plus the published numbers), as markdown.

    ``records`` (optional) add, per (protocol, env) seen in them, the resolved anchors and the
    suite's own `random` / `scripted` agents' measured returns beside the spec's values.
    """
    records = list(records)
    lines = [
        "# Normalization anchors and published numbers",
        "",
        "Generated by `pamdp_bench.analysis.anchors.anchors_markdown` "
        "(data: `pamdp_bench/analysis/anchors.py`).",
        "",
        f"- **Normalization**: {NORMALIZATION}; computed on each run's final evaluation return.",
        f"- **Upper anchor rule**: {UPPER_RULE}.",
        f"- **Random anchor rule**: {RANDOM_RULE}.",
        "",
        "## Anchors per env (DLPA evaluation caps)",
        "",
        "| env | eval cap | random return (§8.1) | random success | scripted return (§8.2) "
        "| scripted success | return ceiling | best published return | **upper** | upper from |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for env_id in ENV_ORDER:
        rnd, scr = RANDOM[env_id], SCRIPTED.get(env_id)
        ceiling = CEILING.get(env_id)
        pubs = [p for p in PUBLISHED if p.env_id == env_id and p.metric == "return"
                and p.unit_stated]
        best = max(pubs, key=lambda p: p.mean) if pubs else None
        up = upper_anchor(env_id)
        lines.append(
            f"| {display_name(env_id)} | {SPEC_CAP[env_id]} | {_f(rnd.return_mean)} ± "
            f"{_f(rnd.return_std)} | {_f(rnd.success)} | "
            f"{_f(scr.return_mean) if scr else SCRIPTED_NOTES.get(env_id, '—')} | "
            f"{_f(scr.success) if scr else '—'} | {_f(ceiling[0]) if ceiling else '—'} | "
            f"{f'{best.label()} ({best.method}, {best.short})' if best else '—'} | "
            f"**{_f(up[0]) if up else '—'}** | {up[1] if up else '—'} |"
        )
    lines += [
        "",
        "Sources: random = " + SRC_RANDOM + "; scripted / ceilings = " + SRC_SCRIPTED + ".",
        "HyAR Table 2 reports success rates outside Platform, so only its Platform column is a "
        "return. FLEXplore's Catch Point 8.12 ± 2.32 has no stated unit and is not used.",
        "",
        "**Not measured in the spec**: Hard Move under HyAR's 30-step evaluation cap (envs.md "
        "§8.1). For that cap the random anchor comes from this suite's `random` agent records "
        "(see below), and the upper anchor is the 25-step value above.",
    ]
    pairs = sorted({(r["protocol"], r["env_id"]) for r in records}
                   | {(p, e) for p in protocols
                      for e in _protocol_envs(p)},
                   key=lambda pe: (pe[0], env_sort_key(pe[1])))
    if pairs:
        lines += [
            "",
            "## Anchors as resolved for the given records",
            "",
            "| protocol | env | eval cap | random | random from | upper | suite `random` "
            "return | suite `scripted` return | note |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for protocol, env_id in pairs:
            a = resolve_anchor(protocol, env_id, records)
            ours = random_from_records(records, protocol, env_id)
            scr = random_from_records(records, protocol, env_id, agent="scripted")
            lines.append(
                f"| {protocol} | {display_name(env_id)} | {a.cap or SPEC_CAP.get(env_id, '—')} | "
                f"{_f(a.random, a.random_source != 'envs.md §8.1')} | {a.random_source} | "
                f"{_f(a.upper)} | {_f(ours[0], True) + f' (n={ours[1]})' if ours else '—'} | "
                f"{_f(scr[0], True) + f' (n={scr[1]})' if scr else '—'} | {a.note or ''} |"
            )
    lines += ["", "## Published numbers (algorithms.md §3.1, §7, §9)", "",
              "Units: `return` = raw episode return, `succ` = success rate. Protocol = the suite "
              "protocol the number belongs to (algorithms.md §2.4).", "",
              "| env | method (agent) | value | protocol | source | note |",
              "|---|---|---|---|---|---|"]
    for p in sorted(PUBLISHED, key=lambda p: (env_sort_key(p.env_id), p.source, p.agent)):
        lines.append(f"| {display_name(p.env_id)} | {p.method} (`{p.agent}`) | {p.label()} | "
                     f"{p.protocol or 'neither'} | {p.short} | {p.note} |")
    lines += ["", "Full sources: " + "; ".join([SRC_DLPA, SRC_HYAR, SRC_MPDQN, SRC_FLEX]) + "."]
    return "\n".join(lines) + "\n"


def write_anchors_md(path: str, records: Iterable[Mapping[str, Any]] = (),
                     protocols: Iterable[str] = ()) -> str:
    """Write ``anchors_markdown`` to ``path`` (directories created); returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(anchors_markdown(records, protocols))
    return path


if __name__ == "__main__":  # python -m pamdp_bench.analysis.anchors [OUT]: the static ANCHORS.md
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join("results", "ANCHORS.md")
    print(write_anchors_md(target, protocols=available_protocols()))
