"""Shared by the baseline tests: a one-step parameterized bandit with a known best (k, z), a
jitted init + train of a registered agent (also as a reusable compiled run, so a module's
learning and determinism tests compile an agent's train step once), the greedy action's
bandit reward, and a bitwise comparison of agent states (PRNG keys included)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.spaces import ParameterizedActionSpace


@struct.dataclass
class BanditState:
    time: jax.Array


@struct.dataclass
class BanditParams:
    max_steps_in_episode: int = 1


class Bandit(PAMDPEnvironment[BanditState, BanditParams]):
    """One step, constant observation. Action 0 (1 param): reward ``0.5 - (z - 0.5)^2``;
    action 1 (2 params): reward ``1 - ||z - (-0.4, 0.3)||^2``. Best: k=1, z=(-0.4, 0.3)."""

    obs_dim = 2
    TARGET = (-0.4, 0.3)

    @property
    def default_params(self) -> BanditParams:
        return BanditParams()

    @property
    def pamdp_space(self) -> ParameterizedActionSpace:
        return ParameterizedActionSpace(2, (1, 2))

    def reset_env(self, key: jax.Array, params: BanditParams) -> tuple[jax.Array, BanditState]:
        return jnp.array([1.0, -1.0], jnp.float32), BanditState(time=jnp.int32(0))

    def transition(self, key, state, k, z, params):  # noqa: ANN001, ANN201
        r0 = 0.5 - (z[0] - 0.5) ** 2
        r1 = 1.0 - jnp.sum((z[:2] - jnp.asarray(self.TARGET)) ** 2)
        reward = jnp.where(k == 0, r0, r1).astype(jnp.float32)
        obs = jnp.array([1.0, -1.0], jnp.float32)
        info = {"success": reward > 0.99}
        return obs, BanditState(time=state.time + 1), reward, jnp.bool_(True), info


def tree_arrays(tree: Any) -> list[np.ndarray]:
    """The leaves of ``tree`` as numpy arrays (typed PRNG keys as their key data)."""
    return [np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key)
                       else x) for x in jax.tree.leaves(tree)]


def assert_trees_bitwise_equal(a: Any, b: Any) -> None:
    """Every leaf of ``a`` equals ``b``'s exactly."""
    for u, v in zip(tree_arrays(a), tree_arrays(b), strict=True):
        np.testing.assert_array_equal(u, v)


def train_agent(name: str, env: Any, cfg: Any, steps: int, key: int = 0) -> tuple[Any, Any]:
    """Build agent ``name`` on ``env`` with ``cfg``; ``(agent, (state, metrics))`` after one
    jitted ``train(init(key), steps)``."""
    from pamdp_bench.agents import get_agent

    agent = get_agent(name)(env, env.default_params, cfg)
    state = jax.jit(agent.init)(jax.random.key(key))
    return agent, jax.jit(agent.train, static_argnums=1)(state, steps)


class CompiledRun:
    """Agent ``name`` on ``env`` with ``cfg``: ``run(key)`` is ``train(init(key), steps)`` with
    the same two jitted functions as ``train_agent``, compiled once and shared by every call.

    ``run`` caches its result per key (the learning and determinism tests of a module read the
    same run); ``run(key, fresh=True)`` recomputes it with the same compiled functions, which is
    what a bitwise determinism check compares against."""

    def __init__(self, name: str, env: Any, cfg: Any, steps: int) -> None:
        from pamdp_bench.agents import get_agent

        self.env, self.steps = env, steps
        self.agent = get_agent(name)(env, env.default_params, cfg)
        self._init = jax.jit(self.agent.init)
        self._train = jax.jit(self.agent.train, static_argnums=1)
        self._results: dict[int, Any] = {}

    def run(self, key: int = 0, fresh: bool = False) -> tuple[Any, Any]:
        """``(state, metrics)`` after ``steps`` training steps from ``init(key)``."""
        if fresh or key not in self._results:
            out = self._train(self._init(jax.random.key(key)), self.steps)
            if fresh:
                return out
            self._results[key] = out
        return self._results[key]


def greedy_bandit_action(agent: Any, state: Any, env: Bandit) -> tuple[Any, Any, float]:
    """The agent's deterministic ``(k, z)`` on the bandit and its reward (best 1 at k=1,
    z=(-0.4, 0.3); action 0 gives at most 0.5)."""
    k, z = agent.act(state, jnp.array([1.0, -1.0], jnp.float32), jax.random.key(0), True)
    assert bool(env.pamdp_space.contains((k, z)))
    _, env_state = env.reset_env(jax.random.key(0), env.default_params)
    reward = env.step_env(jax.random.key(0), env_state, (k, z), env.default_params)[2]
    return k, z, float(reward)
