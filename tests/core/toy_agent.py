"""A tiny learning agent for the runner tests: it really steps its env and its state changes.

Epsilon-greedy over the discrete actions with a running estimate of each action's immediate
reward, and one learned parameter vector that moves toward perturbations that beat the
estimate. It learns almost nothing useful, but every chunk of training changes its state (and
so its evaluation), which is what kill-and-resume and sharding tests need. Uncounted warm-up
steps (random actions before training) exercise the ``warmup_steps`` record field.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from pamdp_bench.agents import register_agent


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    epsilon: float = 0.3
    lr: float = 0.05
    param_noise: float = 0.5
    warmup_steps: int = 12


@struct.dataclass
class ToyState:
    key: jax.Array
    env_state: Any
    obs: jax.Array
    q: jax.Array  # float32[K]: running estimate of each action's reward
    z: jax.Array  # float32[P]: learned parameters (all actions side by side)
    env_steps: jax.Array
    warmup_steps: jax.Array
    episodes: jax.Array


@register_agent("toy")
class ToyAgent:
    """See the module docstring."""

    name: ClassVar[str] = "toy"
    #: num_env_steps -> how often ``train`` was traced (jit-once checks).
    train_traces: ClassVar[collections.Counter] = collections.Counter()

    def __init__(self, env: Any, env_params: Any, config: ToyConfig | None = None) -> None:
        self.env = env
        self.env_params = env_params
        self.config = config or ToyConfig()
        self.space = env.pamdp_space
        offsets = jnp.asarray(self.space.param_offsets, jnp.int32)
        dims = jnp.asarray(self.space.param_dims, jnp.int32)
        idx = jnp.arange(self.space.total_param_dim)
        # mask[k, i]: parameter i belongs to action k.
        self.masks = (idx[None] >= offsets[:, None]) & (idx[None] < (offsets + dims)[:, None])

    @classmethod
    def default_config(cls, env_id: str) -> ToyConfig:
        return ToyConfig()

    def _step(self, state: ToyState, explore: bool) -> tuple[ToyState, jax.Array]:
        cfg = self.config
        key, k_key, e_key, z_key, step_key = jax.random.split(state.key, 5)
        greedy = jnp.argmax(state.q).astype(jnp.int32)
        rand_k = jax.random.randint(k_key, (), 0, self.space.num_actions, dtype=jnp.int32)
        eps = 1.0 if explore else cfg.epsilon
        k = jnp.where(jax.random.uniform(e_key) < eps, rand_k, greedy)
        noise = cfg.param_noise * jax.random.normal(z_key, state.z.shape, jnp.float32)
        z = jnp.clip(state.z + noise, -1.0, 1.0)
        obs, env_state, reward, terminated, truncated, _ = self.env.step(
            step_key, state.env_state, (k, z), self.env_params
        )
        advantage = reward - state.q[k]
        q = state.q.at[k].add(cfg.lr * advantage)
        better = (advantage > 0) & self.masks[k]
        new_z = jnp.where(better, state.z + cfg.lr * (z - state.z), state.z)
        new = state.replace(
            key=key, env_state=env_state, obs=obs, q=q, z=new_z,
            episodes=state.episodes + (terminated | truncated).astype(jnp.int32),
        )
        return new, reward

    def init(self, key: jax.Array) -> ToyState:
        reset_key, key = jax.random.split(key)
        obs, env_state = self.env.reset(reset_key, self.env_params)
        state = ToyState(
            key=key, env_state=env_state, obs=obs,
            q=jnp.zeros((self.space.num_actions,), jnp.float32),
            z=jnp.zeros((self.space.total_param_dim,), jnp.float32),
            env_steps=jnp.int32(0), warmup_steps=jnp.int32(self.config.warmup_steps),
            episodes=jnp.int32(0),
        )
        state, _ = jax.lax.scan(lambda s, _: self._step(s, explore=True), state, None,
                                length=self.config.warmup_steps)
        return state

    def train(self, state: ToyState, num_env_steps: int) -> tuple[ToyState, dict[str, jax.Array]]:
        ToyAgent.train_traces[num_env_steps] += 1
        def step(carry: tuple[ToyState, jax.Array], _: None) -> tuple[Any, None]:
            s, total = carry
            s, reward = self._step(s, explore=False)
            return (s, total + reward), None

        # A sequential sum, not jnp.mean over the scan output: XLA may order a vectorised
        # reduction differently for different seed-batch sizes (last-ulp differences), and
        # the tests compare a seed run alone with the same seed in a batch bit for bit.
        (state, total), _ = jax.lax.scan(step, (state, jnp.float32(0.0)), None,
                                         length=num_env_steps)
        state = state.replace(env_steps=state.env_steps + num_env_steps)
        metrics = {
            "reward_mean": total / num_env_steps,
            "q_max": jnp.max(state.q),
            "episodes": state.episodes,
            "env_steps": state.env_steps,
            "warmup_steps": state.warmup_steps,
        }
        return state, metrics

    def act(self, state: ToyState, obs: jax.Array, key: jax.Array,
            deterministic: bool) -> tuple[jax.Array, jax.Array]:
        k = jnp.argmax(state.q).astype(jnp.int32)
        if deterministic:
            return k, state.z
        noise = self.config.param_noise * jax.random.normal(key, state.z.shape, jnp.float32)
        return k, jnp.clip(state.z + noise, -1.0, 1.0)
