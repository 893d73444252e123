"""Evaluation protocols: declarative TOML files shipped in the package.

The files live in a checkout's ``experiments/``, which is installed as the package
``pamdp_bench.protocol_files``; ``load_protocol(name)`` reads them through
``importlib.resources``, so a plain (non-editable) install has them too. A path to any TOML
file works as well.

A protocol fixes the env set, the training budget (env steps counted toward it), the
evaluation schedule and episodes, the seeds, the episode caps (evaluation and training
truncation), warm-up accounting and the headline metric. Return and success rate are always
both recorded; ``headline`` only says which one a table leads with.

Top-level keys are defaults for every env; a table ``[env."<id>"]`` overrides any of them for
one env. Unknown keys, wrong types and impossible values fail with a message naming the file
and the field.

``env_overrides`` (a table) overrides fields of the env's default params for training and
evaluation alike, e.g. the observation view an original used (HyAR's Catch Point agents see
the 4 raw dims: ``env_overrides = {obs_view = "hyar"}``); unknown field names fail at load time.

``agents`` (inside an env's table: agent name -> fields) overrides the budget, the evaluation
schedule or the episode caps for one agent on that env, where the original ran that agent
differently (HyAR's H-PPO on Catch Point: 30-step episodes where its other agents have 25;
``[env."CatchPoint-v0".agents.hppo]``). ``for_env(env_id, agent)`` applies them.

``agent_readings`` (a top-level table, agent name -> reading name) says which config reading
of an agent runs under this protocol (``agents.reading_config``; e.g. HyAR's code settings of
P-DQN under the HyAR protocol: ``agent_readings = {pdqn = "hyar"}``). The facts of a reading
live in the agent's config module; the protocol only names it. Agents not listed run their
own defaults. Unknown agents and readings an agent does not offer fail at load time.

Offline protocols. A protocol with ``datasets`` (a list of dataset kinds, ``datasets.catalog``:
``expert``, ``medium``, ``medium-replay``, ``random``) and ``dataset_size`` (``"full"``, the
default, or ``"small"``) trains offline agents: each env x kind is one *task*
(``Protocol.tasks``), the ``EnvProtocol`` carries its dataset id, and ``budget`` /
``eval_interval`` count gradient steps instead of env steps (no env interaction happens while
training; evaluation uses the env as online).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from importlib import resources
from typing import Any

import tomllib

from pamdp_bench.registry import make, resolve_episode_cap

PROTOCOL_PACKAGE = "pamdp_bench.protocol_files"
HEADLINES = ("return", "success")


@dataclasses.dataclass(frozen=True)
class EnvProtocol:
    """A protocol resolved for one env: everything the runner needs."""

    protocol: str
    env_id: str
    seeds: int
    budget: int  # env steps counted toward the budget
    eval_interval: int  # env steps between evaluations (one always falls at the budget)
    eval_episodes: int
    eval_episode_cap: int | None  # None: the env's own cap
    train_episode_cap: int | None  # None: same as evaluation
    headline: str
    warmup_counted: bool
    #: env param overrides (sorted ``(name, value)`` pairs), applied before the caps
    env_overrides: tuple[tuple[str, Any], ...] = ()
    #: offline protocols: the dataset this task trains on (budget counts gradient steps)
    dataset: str | None = None

    @property
    def task(self) -> str:
        """What a row of a table is: the env id, or the dataset id of an offline task."""
        return self.dataset or self.env_id

    @property
    def effective_eval_cap(self) -> int:
        """The step cap evaluation episodes actually run under: the protocol's, else the
        env's own (what a record states, so a table need not re-read this file later)."""
        return resolve_episode_cap(self.env_id, self.eval_episode_cap)

    def eval_points(self) -> list[int]:
        """Env-step counts at which evaluations happen (always including the budget)."""
        points = list(range(self.eval_interval, self.budget + 1, self.eval_interval))
        if not points or points[-1] != self.budget:
            points.append(self.budget)
        return points

    def env_params(self, training: bool) -> tuple[Any, Any]:
        """``(env, params)`` with the caps of this protocol applied."""
        cap = self.eval_episode_cap
        if training and self.train_episode_cap is not None:
            cap = self.train_episode_cap
        overrides = dict(self.env_overrides)
        if cap is not None:
            overrides["max_steps_in_episode"] = cap
        return make(self.env_id, **overrides)


_FIELDS: dict[str, tuple[type, ...]] = {
    "seeds": (int,),
    "budget": (int,),
    "eval_interval": (int,),
    "eval_episodes": (int,),
    "eval_episode_cap": (int,),
    "train_episode_cap": (int,),
    "headline": (str,),
    "warmup_counted": (bool,),
    "env_overrides": (dict,),
}
#: What ``[env."<id>".agents.<name>]`` may set (the rest is the same for every agent).
_AGENT_FIELDS = {k: _FIELDS[k] for k in ("budget", "eval_interval", "eval_episodes",
                                         "eval_episode_cap", "train_episode_cap")}
_TOP_ONLY = {"name": (str,), "description": (str,), "envs": (list,), "env": (dict,),
             "agent_readings": (dict,), "datasets": (list,), "dataset_size": (str,)}
DATASET_SIZES = ("full", "small")


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A parsed protocol file."""

    name: str
    description: str
    envs: tuple[str, ...]
    defaults: dict[str, Any]
    per_env: dict[str, dict[str, Any]]
    path: str
    agent_readings: dict[str, str] = dataclasses.field(default_factory=dict)
    #: offline protocols: dataset kinds trained on for every env (empty: an online protocol)
    datasets: tuple[str, ...] = ()
    dataset_size: str = "full"

    @property
    def offline(self) -> bool:
        return bool(self.datasets)

    def tasks(self, env_ids: Sequence[str] | None = None,
              agent: str | None = None) -> list[EnvProtocol]:
        """One ``EnvProtocol`` per env (online) or per env x dataset kind (offline), for
        ``agent`` (its ``agents`` overrides; None: the protocol's own values)."""
        eps = [self.for_env(e, agent) for e in (env_ids or self.envs)]
        if not self.offline:
            return eps
        from pamdp_bench.datasets.catalog import DatasetRef

        return [dataclasses.replace(ep, dataset=DatasetRef(ep.env_id, kind,
                                                           self.dataset_size == "small").id)
                for ep in eps for kind in self.datasets]

    def reading_for(self, agent_name: str | None) -> str | None:
        """The config reading ``agent_name`` runs under this protocol (None: its defaults)."""
        return self.agent_readings.get(agent_name) if agent_name else None

    def fields(self, env_id: str, agent: str | None = None) -> dict[str, Any]:
        """The raw fields for ``env_id``: the top-level defaults, under the env's table, under
        ``agent``'s table there (a registered agent name; specs and labels do not match)."""
        table = self.per_env.get(env_id, {})
        mine = table.get("agents", {}).get(agent, {}) if agent else {}
        return {**self.defaults, **{k: v for k, v in table.items() if k != "agents"}, **mine}

    def for_env(self, env_id: str, agent: str | None = None) -> EnvProtocol:
        """The protocol resolved for ``env_id`` (and ``agent``'s overrides there, if any)."""
        if env_id not in self.envs:
            raise ValueError(f"protocol {self.name!r} does not include {env_id!r}; "
                             f"its envs: {', '.join(self.envs)}")
        f = self.fields(env_id, agent)
        return EnvProtocol(
            protocol=self.name,
            env_id=env_id,
            seeds=f["seeds"],
            budget=f["budget"],
            eval_interval=f["eval_interval"],
            eval_episodes=f["eval_episodes"],
            eval_episode_cap=f.get("eval_episode_cap"),
            train_episode_cap=f.get("train_episode_cap"),
            headline=f.get("headline", "return"),
            warmup_counted=f.get("warmup_counted", True),
            env_overrides=tuple(sorted(f.get("env_overrides", {}).items())),
        )


def _check_fields(where: str, table: dict[str, Any], allowed: dict[str, tuple[type, ...]]) -> None:
    for key, value in table.items():
        if key not in allowed:
            raise ValueError(f"{where}: unknown field {key!r}; allowed: {', '.join(allowed)}")
        types = allowed[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = "/".join(t.__name__ for t in types)
            raise ValueError(f"{where}: field {key!r} must be {want}, got {value!r}")
        if key in ("seeds", "budget", "eval_interval", "eval_episodes", "eval_episode_cap",
                   "train_episode_cap") and value < 1:
            raise ValueError(f"{where}: field {key!r} must be >= 1, got {value}")
        if key == "env_overrides" and "max_steps_in_episode" in value:
            raise ValueError(f"{where}: set the episode cap with 'eval_episode_cap' / "
                             f"'train_episode_cap', not in 'env_overrides'")
        if key == "headline" and value not in HEADLINES:
            raise ValueError(f"{where}: field 'headline' must be one of {HEADLINES}, got {value!r}")


def _registered_agent(where: str, name: str) -> type:
    """The agent class registered as ``name``: keys of ``agents`` / ``agent_readings`` tables
    are plain registered names (what the runner looks them up by), not specs or import paths,
    which would load and then never apply."""
    from pamdp_bench.agents import get_agent  # the registry imports baselines

    if any(c in name for c in "[]:=@"):
        raise ValueError(f"{where}: keys are registered agent names, got {name!r}")
    try:
        cls = get_agent(name)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{where}: unknown agent: {err}") from err
    if getattr(cls, "name", None) != name:
        raise ValueError(f"{where}: keys are registered agent names, got {name!r}")
    return cls


def _check_agent_fields(where: str, agents: Any) -> None:
    """``agents`` maps registered agent names to tables of ``_AGENT_FIELDS``."""
    if not isinstance(agents, dict):
        raise ValueError(f"{where}: must be a table of agent names, got {agents!r}")
    for agent, table in agents.items():
        _registered_agent(where, agent)
        if not isinstance(table, dict):
            raise ValueError(f"{where}.{agent}: must be a table of fields, got {table!r}")
        _check_fields(f"{where}.{agent}", table, _AGENT_FIELDS)


def _check_readings(path: str, readings: dict[str, Any]) -> None:
    """Every ``agent_readings`` entry names a known agent and a reading it offers."""
    if not readings:
        return
    from pamdp_bench.agents import check_reading  # the registry imports baselines

    for agent, reading in readings.items():
        if not isinstance(reading, str):
            raise ValueError(f"{path}: 'agent_readings' entry {agent!r} must be a reading name "
                             f"(str), got {reading!r}")
        cls = _registered_agent(f"{path}: 'agent_readings'", agent)
        try:
            check_reading(cls, reading)
        except ValueError as err:
            raise ValueError(f"{path}: 'agent_readings': {err}") from err


def protocol_path(name_or_path: str) -> str:
    """The file of a shipped protocol by name, or ``name_or_path`` if it is an existing file."""
    if os.path.isfile(name_or_path):
        return name_or_path
    shipped = resources.files(PROTOCOL_PACKAGE) / f"{name_or_path}.toml"
    if not shipped.is_file():
        raise ValueError(f"unknown protocol {name_or_path!r}; known: "
                         f"{', '.join(available_protocols())} (or give a path to a TOML file)")
    return str(shipped)


def load_protocol(name_or_path: str) -> Protocol:
    """Load a shipped protocol by name (or a TOML file by path) and validate every field."""
    path = protocol_path(name_or_path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML ({err})") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from err
    top = {k: v for k, v in raw.items() if k in _TOP_ONLY}
    defaults = {k: v for k, v in raw.items() if k not in _TOP_ONLY}
    _check_fields(path, top, _TOP_ONLY)
    _check_fields(path, defaults, _FIELDS)
    for required in ("name", "envs"):
        if required not in top:
            raise ValueError(f"{path}: missing field {required!r}")
    for required in ("seeds", "budget", "eval_interval", "eval_episodes"):
        if required not in defaults:
            raise ValueError(f"{path}: missing field {required!r}")
    envs = tuple(top["envs"])
    if not envs:
        raise ValueError(f"{path}: field 'envs' is empty; a protocol runs at least one env")
    twice = sorted({e for e in envs if envs.count(e) > 1})
    if twice:
        raise ValueError(f"{path}: field 'envs' lists {', '.join(map(str, twice))} more than "
                         "once (each env is one run of every seed)")
    for env_id in envs:
        if not isinstance(env_id, str):
            raise ValueError(f"{path}: field 'envs' must list env ids, got {env_id!r}")
        make(env_id)  # unknown ids fail here with close matches
    per_env = top.get("env", {})
    for env_id, table in per_env.items():
        if env_id not in envs:
            raise ValueError(f"{path}: [env.{env_id!r}] is not in 'envs'")
        _check_fields(f"{path} [env.{env_id!r}]",
                      {k: v for k, v in table.items() if k != "agents"}, _FIELDS)
        _check_agent_fields(f"{path} [env.{env_id!r}.agents]", table.get("agents", {}))
    readings = top.get("agent_readings", {})
    _check_readings(path, readings)
    kinds = tuple(top.get("datasets", ()))
    size = top.get("dataset_size", "full")
    if size not in DATASET_SIZES:
        raise ValueError(f"{path}: field 'dataset_size' must be one of {DATASET_SIZES}, got "
                         f"{size!r}")
    if "dataset_size" in top and not kinds:
        raise ValueError(f"{path}: 'dataset_size' without 'datasets' (an online protocol)")
    if kinds:
        from pamdp_bench.datasets.catalog import KINDS

        bad = [k for k in kinds if k not in KINDS]
        if bad or len(set(kinds)) != len(kinds):
            raise ValueError(f"{path}: field 'datasets' must list distinct dataset kinds of "
                             f"{', '.join(KINDS)}; got {list(kinds)}")
    proto = Protocol(
        name=top["name"],
        description=top.get("description", ""),
        envs=envs,
        defaults=defaults,
        per_env=per_env,
        path=path,
        agent_readings=dict(readings),
        datasets=kinds,
        dataset_size=size,
    )
    for env_id in envs:  # env_overrides must name fields of every env they apply to
        ep = proto.for_env(env_id)
        if not ep.env_overrides:
            continue  # the plain env was built above
        try:
            env, params = ep.env_params(training=False)
            env.observation_space(params)  # value checks of static fields (e.g. obs_view)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{path}: 'env_overrides' for {env_id!r}: {err}") from err
    return proto


def available_protocols() -> list[str]:
    """Names of the shipped protocols."""
    return sorted(p.name[:-5] for p in resources.files(PROTOCOL_PACKAGE).iterdir()
                  if p.name.endswith(".toml"))
