"""The agent protocol, the agent registry, presets and agent specs.

An agent is a class constructed for one env (``Agent(env, env_params, config)``) that
implements three pure functions over an explicit pytree state:

``init(key) -> TrainState``
    Everything a run needs (networks, optimiser state, replay buffer, env states, RNG).
``train(state, num_env_steps) -> (state, metrics)``
    Advance training by exactly ``num_env_steps`` env steps counted toward the budget
    (``num_env_steps`` is static). Jittable, no host I/O; ``metrics`` is a flat dict of
    scalars. Uncounted warm-up steps, if any, are reported as ``metrics["warmup_steps"]``
    (the cumulative count).
``act(state, obs, key, deterministic) -> (k, z)``
    One action for one observation; the harness ``vmap``s it over evaluation envs and seeds.

plus ``default_config(env_id)`` (a classmethod returning a frozen dataclass with the
published defaults for that env). The harness owns seeding (``vmap`` over seeds), chunking,
evaluation, checkpoints and result files.

Config readings. Where two originals ran one algorithm with different settings (P-DQN in
MP-DQN's and in HyAR's code), an agent may offer named *readings*: ``CONFIG_READINGS`` lists
them and ``default_config(env_id, reading=name)`` returns that reading's defaults
(``reading=None``: the agent's own defaults). A protocol names the reading each agent runs
under it (``protocols``: ``agent_readings``); ``reading_config`` is the one call that resolves
it, so the agent's config module stays the one owner of each original's facts.

Agents register under a name with ``@register_agent("name")``; third-party packages expose
them through the entry-point group ``pamdp_bench.agents`` (``name = "pkg.module:Class"``),
and ``get_agent("pkg.module:Class")`` also works for any importable class.

Variants. An *agent spec* ``name[field=value,...]`` (e.g. ``dlpa[mppi_variant=shared]``)
names the agent with config fields overridden (values parsed as JSON, else taken as strings).
The canonical spec (fields sorted) is what records carry in their ``agent`` field, so an
ablation's variants are separate rows of a table and a record says how to re-run it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from collections.abc import Callable
from importlib import metadata
from typing import Any, ClassVar, Protocol, runtime_checkable

import jax

ENTRY_POINT_GROUP = "pamdp_bench.agents"


@runtime_checkable
class Agent(Protocol):
    """What the harness calls (see the module docstring)."""

    name: ClassVar[str]

    @classmethod
    def default_config(cls, env_id: str) -> Any: ...  # (env_id, reading=...) with readings

    def init(self, key: jax.Array) -> Any: ...

    def train(self, state: Any, num_env_steps: int) -> tuple[Any, dict[str, jax.Array]]: ...

    def act(
        self, state: Any, obs: jax.Array, key: jax.Array, deterministic: bool
    ) -> tuple[jax.Array, jax.Array]: ...


_AGENTS: dict[str, type] = {}


def register_agent(name: str) -> Callable[[type], type]:
    """Class decorator: make an agent available to the harness as ``name``."""

    def deco(cls: type) -> type:
        missing = [m for m in ("default_config", "init", "train", "act") if not hasattr(cls, m)]
        if missing:
            raise TypeError(f"agent {cls.__name__} lacks {missing}")
        if name in _AGENTS and _AGENTS[name] is not cls:
            raise ValueError(f"agent name {name!r} is already registered")
        cls.name = name
        _AGENTS[name] = cls
        return cls

    return deco


def register_preset(name: str, base: type, config_fn: Callable[..., Any], *,
                    paper_url: str | None = None, doc: str | None = None,
                    readings: tuple[str, ...] = ()) -> type:
    """Register ``name`` as agent ``base`` whose per-env defaults are ``config_fn(env_id)``.

    A preset is a variant of an agent that is only a config (``mpdqn`` = P-DQN with
    ``multipass=True``): the algorithm reads the variant from its config, never from class
    attributes, so ``pdqn[multipass=true]`` and ``mpdqn`` run the same code. Returns the
    registered class (a thin subclass of ``base`` that overrides ``default_config`` only).
    ``readings``: the preset's config readings (``config_fn(env_id, reading=...)``).
    """

    def default_config(cls: type, env_id: str, reading: str | None = None) -> Any:
        return config_fn(env_id) if reading is None else config_fn(env_id, reading=reading)

    attrs: dict[str, Any] = {
        "default_config": classmethod(default_config),
        "CONFIG_READINGS": tuple(readings),
        "__doc__": doc or base.__doc__,
        "__module__": base.__module__,
        "__qualname__": f"{base.__qualname__}[{name}]",
    }
    if paper_url is not None:
        attrs["paper_url"] = paper_url
    return register_agent(name)(type(f"{base.__name__}_{name}", (base,), attrs))


def _load_entry_points() -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _AGENTS:
            cls = ep.load()
            register_agent(ep.name)(cls)


def _load_builtin() -> None:
    # Baseline packages register themselves on import.
    importlib.import_module("pamdp_bench.baselines")


def available_agents() -> list[str]:
    """Names of every registered agent (built-in and entry points)."""
    _load_builtin()
    _load_entry_points()
    return sorted(_AGENTS)


_SPEC = re.compile(r"^(?P<name>[^\[\]=]+?)(?:\[(?P<fields>.*)\])?$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets or quotes (JSON values may hold commas)."""
    parts, depth, quote, cur = [], 0, False, []
    for ch in text:
        if ch == '"':
            quote = not quote
        elif not quote and ch in "[{(":
            depth += 1
        elif not quote and ch in "]})":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_agent_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"dlpa[horizon=5,one_step_loss=true]"`` -> ``("dlpa", {"horizon": 5, ...})``."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"malformed agent spec {spec!r}; expected NAME or "
                         "NAME[field=value,...]")
    overrides: dict[str, Any] = {}
    for item in _split_top_level(m.group("fields") or ""):
        field, sep, raw = item.partition("=")
        field = field.strip()
        if not sep or not field:
            raise ValueError(f"agent spec {spec!r}: {item!r} is not field=value")
        if field in overrides:
            raise ValueError(f"agent spec {spec!r}: field {field!r} given twice")
        try:
            overrides[field] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[field] = raw.strip()
    return m.group("name").strip(), overrides


def agent_spec(name: str, overrides: dict[str, Any]) -> str:
    """The canonical spec: ``name`` alone, or ``name[...]`` with fields sorted, JSON values."""
    if not overrides:
        return name
    fields = ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}"
                      for k, v in sorted(overrides.items()))
    return f"{name}[{fields}]"


def apply_overrides(config: Any, overrides: dict[str, Any], agent: str = "agent") -> Any:
    """``config`` (a dataclass) with ``overrides`` replaced; types checked against the defaults.

    Raises ``ValueError`` naming an unknown field (with the known ones) or a value of the wrong
    type; the config's own validation (``__post_init__``) runs on the result.
    """
    if not overrides:
        return config
    if not dataclasses.is_dataclass(config):
        raise ValueError(f"{agent}'s config is not a dataclass; it takes no overrides")
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    current = {old: new for new, old in getattr(type(config), "LEGACY_FIELD_NAMES", {}).items()}
    changes = {}
    for name, value in overrides.items():
        name = current.get(name, name)  # a field's earlier name still works
        if name in changes:
            raise ValueError(f"{agent} config field {name!r} given twice (under its current "
                             "and its earlier name)")
        if name not in fields:
            raise ValueError(f"{agent} has no config field {name!r}; fields: "
                             f"{', '.join(sorted(fields))}")
        default = fields[name]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif isinstance(default, tuple):
            ok = isinstance(value, list)
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value) if ok else value
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:  # None or another type: accept what JSON gave
            ok = True
        if not ok:
            raise ValueError(f"{agent} config field {name!r} expects a "
                             f"{type(default).__name__} (default {default!r}), got {value!r}")
        problem = field_range_problem(name, value)
        if problem:
            raise ValueError(f"{agent} config field {name!r}: {problem}, got {value!r} "
                             f"(default {default!r})")
        changes[name] = value
    return dataclasses.replace(config, **changes)


#: Range rules of the suite's shared config field names (DESIGN: one name per concept across
#: agents), checked on every override: (name pattern, check, what it must be).
_RANGES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    (r"(.*_)?batch_size|.*_batch", lambda v: v >= 1, "must be >= 1"),
    (r"(.*_)?buffer_(size|episodes)", lambda v: v >= 1, "must be >= 1"),
    (r"(.*_)?hidden(_.*)?", lambda v: v >= 1, "must be >= 1 (every layer)"),
    (r"lr|lr_.*|.*_lr", lambda v: v > 0, "must be > 0"),
    (r"gamma", lambda v: 0 < v <= 1, "must be in (0, 1]"),
    (r"tau(_.*)?|per_alpha|per_beta", lambda v: 0 <= v <= 1, "must be in [0, 1]"),
    (r"num_(updates|samples|elites|bins)|iterations|policy_delay|train_every|target_every"
     r"|m_greedy|m_target|episode_length", lambda v: v >= 1, "must be >= 1"),
)


def field_range_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for a config field called ``name`` under the shared
    names' range rules (None if nothing, or if no rule covers the name)."""
    for pattern, ok, what in _RANGES:
        if not re.fullmatch(pattern, name):
            continue
        items = value if isinstance(value, tuple) else (value,)
        numbers = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers and not all(ok(v) for v in numbers):
            return what
    return None


def hash_named(config: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """``overrides`` with each field under the name the config hash uses (the config class's
    ``LEGACY_FIELD_NAMES``), the form agent specs are recorded in: a variant keeps its label,
    and so its table row, when a field is renamed; both names are accepted as input."""
    legacy = getattr(type(config), "LEGACY_FIELD_NAMES", {})
    return {legacy.get(k, k): v for k, v in overrides.items()}


def record_label(name: str, config: Any, overrides: dict[str, Any]) -> str:
    """The agent label a run's records carry: ``name`` with ``overrides`` under the names the
    config hash uses (``hash_named``; ``config`` None: as given). The runner writes it and the
    leaderboard checks an entry's label against it, so both must come from here."""
    return agent_spec(name, hash_named(config, overrides))


def get_agent(name: str) -> type:
    """An agent class by registered name, ``module:Class`` import path, or agent spec
    (``name[field=value,...]``: the overrides are ignored here, see ``agent_config``)."""
    name = parse_agent_spec(name)[0]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot import agent {name!r}: {err}") from err
        if not getattr(cls, "name", None):
            register_agent(attr.lower())(cls)
        return cls
    names = available_agents()
    if name not in _AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {', '.join(names)} "
                         "(or give module:Class)")
    return _AGENTS[name]


def config_readings(cls: type) -> tuple[str, ...]:
    """The named config readings an agent class offers (``CONFIG_READINGS``; none by default)."""
    return tuple(getattr(cls, "CONFIG_READINGS", ()))


def check_reading(cls: type, reading: str) -> None:
    """Raise ``ValueError`` unless agent class ``cls`` offers config ``reading``."""
    known = config_readings(cls)
    if reading not in known:
        raise ValueError(f"agent {getattr(cls, 'name', cls.__name__)!r} has no config reading "
                         f"{reading!r}; its readings: {', '.join(known) or 'none'}")


def reading_config(cls: type, env_id: str, reading: str | None = None) -> Any:
    """``cls``'s defaults for ``env_id`` under config ``reading`` (None: its own defaults).

    Raises ``ValueError`` if the agent does not offer ``reading``."""
    if reading is None:
        return cls.default_config(env_id)
    check_reading(cls, reading)
    return cls.default_config(env_id, reading=reading)


def agent_config(spec: str, env_id: str, reading: str | None = None) -> Any:
    """The config an agent spec means for ``env_id``: defaults (of config ``reading``, if
    given) with the spec's overrides."""
    name, overrides = parse_agent_spec(spec)
    return apply_overrides(reading_config(get_agent(name), env_id, reading), overrides, name)


def supports(agent: str | type, env_id: str) -> bool:
    """Whether ``agent`` can be built for ``env_id`` (agents raise ``ValueError`` if not)."""
    from pamdp_bench.registry import make

    cls = get_agent(agent) if isinstance(agent, str) else agent
    env, params = make(env_id)
    try:
        cfg = agent_config(agent, env_id) if isinstance(agent, str) else cls.default_config(env_id)
        cls(env, params, cfg)
    except ValueError:
        return False
    return True
