"""The env table: one ``EnvSpec`` per benchmark; ``make(id, **overrides)``, ``env_spec(id)``
and gymnax registration derive from it.

Ids are fixed strings (``Platform-v0`` ...) plus the family ``HardMove-n<N>-v0`` for any
``2 <= N <= 20``; the four published sizes are in the table, other sizes get their spec on
demand (``env_spec``). Overrides replace fields of the env's params (noise scales, caps,
views), so ``make("Platform-v0", max_steps_in_episode=25)`` gives DLPA's training truncation.
Env modules are imported lazily (``EnvSpec.env_class``) so that importing ``pamdp_bench``
stays cheap and env modules may import this one.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.abc
import importlib.util
import re
import sys
import types
from collections.abc import Mapping
from typing import Any

HARD_MOVE_SIZES = (4, 6, 8, 10)
HARD_MOVE_MIN_N = 2
HARD_MOVE_MAX_N = 20
_HARD_MOVE_RE = re.compile(r"^HardMove-n(\d+)-v0$")
_HARD_MOVE_GOLDEN_RE = re.compile(r"^hard_move_(\d+)$")


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Everything the suite keys on an env id (so no consumer has to parse ids).

    ``family`` groups envs that share settings: ``platform``, ``goal`` (Goal and Hard Goal),
    ``catch`` and ``move``; ``origin`` is the code base: ``gym`` (gym-platform / gym-goal) or
    ``mpe`` (HyAR's multi-agent particle envs, Catch Point and Hard Move).
    """

    id: str
    kind: str  # env class name in ``module`` (DLPA's per-env key): Platform, Goal, HardGoal, ...
    family: str  # platform | goal | catch | move
    origin: str  # gym | mpe
    display_name: str  # table label, e.g. "Hard Move (n=4)"
    golden_name: str  # golden file stem in ../shared/golden (may not exist for other n)
    episode_cap: int  # the spec's evaluation cap (DLPA caps, envs.md §8.1 / §9 item 5)
    module: str  # module of the env class
    hard_move_n: int | None = None  # Hard Move's number of actuators
    scripted: bool = False  # envs.md §8.2 has a scripted reference policy for it
    published: bool = True  # one of the eight published benchmarks (BENCHMARK_IDS)
    #: constructor keyword arguments (Hard Move: ``n``)
    env_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)
    #: default param overrides applied by ``make`` before the caller's (none today;
    #: ``gymnax.make`` returns the class defaults)
    param_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("env_kwargs", "param_overrides"):  # read-only views of private copies
            object.__setattr__(self, name, types.MappingProxyType(dict(getattr(self, name))))

    @property
    def group(self) -> str:
        """``platform`` | ``goal`` | ``mpe``: the groups MP-DQN / HyAR's Raw_RL configure."""
        return "mpe" if self.origin == "mpe" else self.family

    @property
    def env_class(self) -> type:
        """The env class (imported on first use)."""
        return getattr(importlib.import_module(self.module), self.kind)

    def build(self, **env_kwargs: Any) -> Any:
        """A new env instance; ``env_kwargs`` (e.g. ``dtype``) add to the spec's own."""
        return self.env_class(**{**self.env_kwargs, **env_kwargs})

    def default_params(self, env: Any) -> Any:
        """``env.default_params`` with the spec's ``param_overrides``."""
        params = env.default_params
        return params.replace(**self.param_overrides) if self.param_overrides else params


def hard_move_spec(n: int) -> EnvSpec:
    """The spec of ``HardMove-n<n>-v0`` for any supported ``n``."""
    if not HARD_MOVE_MIN_N <= n <= HARD_MOVE_MAX_N:
        raise ValueError(
            f"'HardMove-n{n}-v0': Hard Move needs {HARD_MOVE_MIN_N} <= n <= {HARD_MOVE_MAX_N} "
            f"actuators, got n={n}"
        )
    return EnvSpec(
        id=f"HardMove-n{n}-v0",
        kind="HardMove",
        family="move",
        origin="mpe",
        display_name=f"Hard Move (n={n})",
        golden_name=f"hard_move_{n}",
        episode_cap=25,
        module="pamdp_bench.envs.hard_move",
        hard_move_n=n,
        scripted=True,
        published=n in HARD_MOVE_SIZES,
        env_kwargs={"n": n},
    )


#: The eight published benchmarks, in the order the papers' tables use.
ENV_SPECS: tuple[EnvSpec, ...] = (
    EnvSpec("Platform-v0", "Platform", "platform", "gym", "Platform", "platform", 200,
            "pamdp_bench.envs.platform"),
    EnvSpec("Goal-v0", "Goal", "goal", "gym", "Goal", "goal", 100, "pamdp_bench.envs.goal",
            scripted=True),
    EnvSpec("HardGoal-v0", "HardGoal", "goal", "gym", "Hard Goal", "hard_goal", 100,
            "pamdp_bench.envs.goal", scripted=True),
    EnvSpec("CatchPoint-v0", "CatchPoint", "catch", "mpe", "Catch Point", "catch_point", 25,
            "pamdp_bench.envs.catch_point", scripted=True),
    *(hard_move_spec(n) for n in HARD_MOVE_SIZES),
)  # fmt: skip
_BY_ID: dict[str, EnvSpec] = {s.id: s for s in ENV_SPECS}

BENCHMARK_IDS: tuple[str, ...] = tuple(s.id for s in ENV_SPECS)

#: Golden-file benchmark names (``../shared/golden``) to env ids.
GOLDEN_BENCHMARKS: dict[str, str] = {s.golden_name: s.id for s in ENV_SPECS}


def registered_ids() -> list[str]:
    """Every id ``make`` accepts by name (the Hard Move family accepts any n up to 20)."""
    return list(BENCHMARK_IDS)


def env_spec(env_id: str) -> EnvSpec:
    """The spec of ``env_id``; unknown ids raise ``ValueError`` naming the close matches."""
    if not isinstance(env_id, str):
        raise TypeError(f"env id must be a string, got {type(env_id).__name__}")
    if env_id in _BY_ID:
        return _BY_ID[env_id]
    match = _HARD_MOVE_RE.match(env_id)
    if match is None:
        close = difflib.get_close_matches(env_id, registered_ids(), n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown env id {env_id!r}.{hint} Known ids: {', '.join(registered_ids())} "
            f"(and HardMove-n<N>-v0 for {HARD_MOVE_MIN_N} <= N <= {HARD_MOVE_MAX_N})."
        )
    return hard_move_spec(int(match.group(1)))


def resolve_episode_cap(env_id: str, cap: int | None) -> int:
    """The step cap episodes run under: ``cap``, or ``env_id``'s own for None (one rule for
    protocols, which write it into records, and tables, which read it back)."""
    return env_spec(env_id).episode_cap if cap is None else cap


def golden_spec(benchmark: str) -> EnvSpec:
    """The spec replaying a golden benchmark name (``hard_move_12`` works too)."""
    if benchmark in GOLDEN_BENCHMARKS:
        return _BY_ID[GOLDEN_BENCHMARKS[benchmark]]
    match = _HARD_MOVE_GOLDEN_RE.match(benchmark)
    if match is None:
        raise ValueError(
            f"golden benchmark {benchmark!r} has no env; known: {sorted(GOLDEN_BENCHMARKS)}"
        )
    return hard_move_spec(int(match.group(1)))


def make(
    env_id: str, *, env_kwargs: dict[str, Any] | None = None, **overrides: Any
) -> tuple[Any, Any]:
    """Build an environment by id; ``overrides`` replace fields of its default params.

    ``env_kwargs`` go to the env constructor (e.g. ``dtype=jnp.float64`` under x64).
    Returns ``(env, params)``. Unknown ids and unknown override names raise ``ValueError``
    naming the close matches / the valid fields.
    """
    spec = env_spec(env_id)
    env = spec.build(**(env_kwargs or {}))
    return env, _with_overrides(spec.default_params(env), overrides, f"{env_id}: ")


def _with_overrides(params: Any, overrides: Mapping[str, Any], where: str = "") -> Any:
    """``params.replace(**overrides)``; unknown names raise ``ValueError`` listing the fields."""
    if not overrides:
        return params
    fields = {f.name for f in dataclasses.fields(params)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{where}unknown parameter(s) {unknown}; valid: {sorted(fields)}")
    return params.replace(**overrides)


def env_and_params(
    env_id: str | None = None, *, env: Any = None, params: Any = None, **overrides: Any
) -> tuple[Any, Any]:
    """``(env, params)`` from exactly one of a registered id (``make``) or an env instance.

    The adapters' (gymnasium, brax) shared constructor logic: with an instance, ``params``
    default to its ``default_params`` and ``overrides`` replace fields of them.
    """
    if (env_id is None) == (env is None):
        raise ValueError("pass exactly one of env_id (a registered id) or env (an instance)")
    if env_id is not None:
        if params is not None:
            raise ValueError("params go with env=...; with env_id use keyword overrides")
        return make(env_id, **overrides)
    params = env.default_params if params is None else params
    return env, _with_overrides(params, overrides)


def register_with_gymnax() -> None:
    """Make the published ids available through ``gymnax.make`` too (idempotent)."""
    import gymnax

    for spec in ENV_SPECS:
        if spec.id not in gymnax.registered_envs:
            gymnax.register(spec.id, spec.build)


class _GymnaxImportHook(importlib.abc.MetaPathFinder):
    """Registers the ids right after ``gymnax`` is first imported, then removes itself.

    Importing gymnax imports all of its bundled envs and, through them, scipy, seaborn and
    matplotlib (about 2 s); ``import pamdp_bench`` (every CLI call) needs none of it, yet
    ``gymnax.make("Platform-v0")`` must work after it. The hook wraps the found loader's
    ``exec_module`` so registration runs once gymnax is fully initialised."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "gymnax":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module: types.ModuleType) -> None:
            exec_module(module)
            register_with_gymnax()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def register_with_gymnax_when_imported() -> None:
    """``register_with_gymnax`` now if gymnax is loaded, else as soon as it is imported."""
    if "gymnax" in sys.modules:
        register_with_gymnax()
    elif not any(isinstance(f, _GymnaxImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _GymnaxImportHook())


#: gymnasium namespace of the adapter's ids (``pamdp_bench/Platform-v0``) and its entry point.
GYMNASIUM_NAMESPACE = "pamdp_bench"
GYMNASIUM_ENTRY_POINT = "pamdp_bench.envs.gymnasium_adapter:GymnasiumPAMDPEnv"


def register_with_gymnasium(namespace: str = GYMNASIUM_NAMESPACE) -> list[str]:
    """Register ``<namespace>/<id>`` with gymnasium for every published id (idempotent) and
    return the gymnasium ids. The entry point is a string, so the adapter module is imported
    only when an env is made; ``import pamdp_bench`` runs this, so
    ``gymnasium.make("pamdp_bench/Platform-v0")`` works after it (gymnasium 1.x has no plugin
    discovery that could do it without the import). No ``max_episode_steps``: the env truncates
    itself."""
    import gymnasium

    ids = []
    for env_id in BENCHMARK_IDS:
        gym_id = f"{namespace}/{env_id}"
        if gym_id not in gymnasium.registry:
            gymnasium.register(id=gym_id, entry_point=GYMNASIUM_ENTRY_POINT,
                               kwargs={"env_id": env_id})
        ids.append(gym_id)
    return ids
