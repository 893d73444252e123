"""Versioned environment ids, ``make(id, **overrides)`` and gymnax registration.

Ids are fixed strings (``Platform-v0`` ...) plus the family ``HardMove-n<N>-v0`` for any
``2 <= N <= 20``; the four published sizes are listed explicitly. Overrides replace fields of
the env's params (noise scales, caps, views), so ``make("Platform-v0", max_steps_in_episode=25)``
gives DLPA's training truncation. Env modules are imported lazily so that importing
``pamdp_bench`` stays cheap.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections.abc import Callable
from typing import Any

import gymnax

_FIXED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "Platform-v0": ("pamdp_bench.envs.platform", "Platform", {}),
    "Goal-v0": ("pamdp_bench.envs.goal", "Goal", {}),
    "HardGoal-v0": ("pamdp_bench.envs.goal", "HardGoal", {}),
    "CatchPoint-v0": ("pamdp_bench.envs.catch_point", "CatchPoint", {}),
}
HARD_MOVE_SIZES = (4, 6, 8, 10)
HARD_MOVE_MAX_N = 20
_HARD_MOVE_RE = re.compile(r"^HardMove-n(\d+)-v0$")

#: The eight published benchmarks, in the order the papers' tables use.
BENCHMARK_IDS: tuple[str, ...] = (
    "Platform-v0",
    "Goal-v0",
    "HardGoal-v0",
    "CatchPoint-v0",
    *(f"HardMove-n{n}-v0" for n in HARD_MOVE_SIZES),
)

#: Golden-file benchmark names (``../shared/golden``) to env ids.
GOLDEN_BENCHMARKS: dict[str, str] = {
    "platform": "Platform-v0",
    "goal": "Goal-v0",
    "hard_goal": "HardGoal-v0",
    "catch_point": "CatchPoint-v0",
    **{f"hard_move_{n}": f"HardMove-n{n}-v0" for n in HARD_MOVE_SIZES},
}


def registered_ids() -> list[str]:
    """Every id ``make`` accepts by name (the Hard Move family accepts any n up to 20)."""
    return list(BENCHMARK_IDS)


def _factory(env_id: str) -> Callable[[], Any]:
    if env_id in _FIXED:
        module, cls, kwargs = _FIXED[env_id]
    else:
        match = _HARD_MOVE_RE.match(env_id)
        if match is None:
            close = difflib.get_close_matches(env_id, registered_ids(), n=3, cutoff=0.4)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(
                f"unknown env id {env_id!r}.{hint} Known ids: {', '.join(registered_ids())} "
                f"(and HardMove-n<N>-v0 for 2 <= N <= {HARD_MOVE_MAX_N})."
            )
        n = int(match.group(1))
        if not 2 <= n <= HARD_MOVE_MAX_N:
            raise ValueError(
                f"{env_id!r}: Hard Move needs 2 <= n <= {HARD_MOVE_MAX_N} actuators, got n={n}"
            )
        module, cls, kwargs = "pamdp_bench.envs.hard_move", "HardMove", {"n": n}

    def build(**extra: Any) -> Any:
        env_cls = getattr(importlib.import_module(module), cls)
        return env_cls(**{**kwargs, **extra})

    return build


def make(
    env_id: str, *, env_kwargs: dict[str, Any] | None = None, **overrides: Any
) -> tuple[Any, Any]:
    """Build an environment by id; ``overrides`` replace fields of its default params.

    ``env_kwargs`` go to the env constructor (e.g. ``dtype=jnp.float64`` under x64).
    Returns ``(env, params)``. Unknown ids and unknown override names raise ``ValueError``
    naming the close matches / the valid fields.
    """
    if not isinstance(env_id, str):
        raise TypeError(f"env id must be a string, got {type(env_id).__name__}")
    env = _factory(env_id)(**(env_kwargs or {}))
    params = env.default_params
    if overrides:
        fields = {f.name for f in dataclasses.fields(params)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ValueError(
                f"{env_id}: unknown parameter(s) {unknown}; valid: {sorted(fields)}"
            )
        params = params.replace(**overrides)
    return env, params


def register_with_gymnax() -> None:
    """Make the published ids available through ``gymnax.make`` too (idempotent)."""
    for env_id in BENCHMARK_IDS:
        if env_id not in gymnax.registered_envs:
            gymnax.register(env_id, _factory(env_id))
