"""The two reference agents: ``random`` (the 0 anchor of normalised scores) and ``scripted``
(the spec's hand-written Catch Point and Hard Move policies). They do not learn: ``train`` only
advances the env-step budget. Moved unchanged from ``pamdp_bench.agents``."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from pamdp_bench.agents import register_agent
from pamdp_bench.registry import env_spec


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """Reference agents have nothing to tune."""


@struct.dataclass
class CounterState:
    """Reference agents only count the env steps they were given."""

    env_steps: jax.Array


class _ReferenceAgent:
    """Shared plumbing of agents that do not learn."""

    name: ClassVar[str] = ""

    def __init__(self, env: Any, env_params: Any, config: Any = None) -> None:
        self.env = env
        self.env_params = env_params
        self.space = env.pamdp_space

    @classmethod
    def default_config(cls, env_id: str) -> NoConfig:
        return NoConfig()

    def init(self, key: jax.Array) -> CounterState:
        return CounterState(env_steps=jnp.int32(0))

    def train(self, state: CounterState, num_env_steps: int) -> tuple[CounterState, dict]:
        # Nothing to learn: no env interaction is simulated, only the budget is advanced.
        new = CounterState(env_steps=state.env_steps + num_env_steps)
        return new, {"env_steps": new.env_steps}


@register_agent("random")
class RandomAgent(_ReferenceAgent):
    paper_url = "https://arxiv.org/abs/2404.03037"  # DLPA's rand_action
    """Uniform k and uniform parameters in [-1, 1] (DLPA's ``rand_action``): the 0 anchor."""

    def act(self, state: CounterState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        return self.space.sample_rand_action(key)


def _catch_point_policy(obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Spec §5.7: head to the target at full force; catch when the predicted next position
    is within radius sqrt(0.035) (the world integrates v*0.75 then p += v*0.1)."""
    vel, rel = obs[0:2], obs[2:4]
    next_rel = rel - vel * 0.75 * 0.1
    catch = jnp.sum(next_rel**2) <= 0.035
    # force = 2 (sin πz, cos πz): angle measured from +y, clockwise.
    z = jnp.arctan2(rel[0], rel[1]) / jnp.pi
    k = jnp.where(catch, 1, 0).astype(jnp.int32)
    return k, jnp.reshape(z, (1,)).astype(jnp.float32)


@register_agent("scripted")
class ScriptedAgent(_ReferenceAgent):
    """The spec's scripted reference policies (envs §8.2): Catch Point and Hard Move.

    Catch Point: head to the target at full force, catch when the predicted next position is
    inside radius sqrt(0.035). Hard Move: the (k, p = ±1) whose motion best aligns with the
    direction to the target. Other envs have no scripted policy in the spec; building this
    agent for them raises ``ValueError``.
    """

    def __init__(self, env: Any, env_params: Any, config: Any = None) -> None:
        super().__init__(env, env_params, config)
        spec = env_spec(env.name)
        if not spec.scripted:
            raise ValueError(f"no scripted policy for {spec.kind} (spec §8.2 has Catch Point "
                             "and Hard Move only)")
        kind = spec.kind
        self.kind = kind
        if kind == "HardMove":
            self.motions = jnp.asarray(env.motions_f64, jnp.float32)

    def act(self, state: CounterState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        if self.kind == "CatchPoint":
            return _catch_point_policy(obs)
        rel = obs[2:4]
        direction = rel / jnp.maximum(jnp.linalg.norm(rel), 1e-12)
        align = self.motions @ direction  # [K]: p = +1 uses +align, p = -1 uses -align
        best_pos, best_neg = jnp.argmax(align), jnp.argmin(align)
        use_pos = align[best_pos] >= -align[best_neg]
        k = jnp.where(use_pos, best_pos, best_neg).astype(jnp.int32)
        p = jnp.where(use_pos, 1.0, -1.0).astype(jnp.float32)
        _, z = self.space.from_padded((k, jnp.reshape(p, (1,))))
        return k, z
