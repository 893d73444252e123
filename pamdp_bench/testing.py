"""Checks for third-party authors: does an env or an agent keep the suite's contracts?

``check_env(env, params)`` and ``check_agent(agent, env_id)`` are the checks the suite's own
tests run on every built-in env and agent; ``pamdp-bench submit`` runs ``check_agent`` on
every env of the protocol before it spends any compute. Both raise ``ContractError`` naming
the broken contract, and both are cheap: ``check_agent`` only traces (``jax.eval_shape``), it
compiles nothing, so it takes seconds even for agents whose compilation takes minutes.

The contracts (``pamdp_bench.agents`` and ``envs.base`` describe them):

* env: ``reset`` and ``step`` states have identical structure, shapes and dtypes (a step
  never re-traces a scan); observations have the observation space's shape and are finite;
  reward, terminated and truncated are scalars; ``info["final_observation"]`` exists (auto
  reset); a jitted rollout is deterministic under a fixed key.
* agent: ``train`` returns a state with exactly the avals (structure, shapes, dtypes, weak
  types) of the state it was given, so the harness's later chunks and resumed runs reuse the
  first compilation; its metrics are scalars; ``act`` returns ``(k: int32[], z: float32[P])``
  for one observation, deterministic or not; a recurrent agent's ``act_step`` returns the same
  action and a carry with the avals of ``act_carry``'s.
* offline agent (``offline = True``): the same, with ``init(key, data)`` and ``train(state, n,
  data)`` traced on a dataset of the loader's shapes (``dataset_avals``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.agents import agent_config, get_agent, parse_agent_spec
from pamdp_bench.registry import make


class ContractError(AssertionError):
    """An env or agent that breaks one of the suite's contracts (the message says which)."""


def avals(tree: Any) -> list[Any]:
    """Tree structure, then (shape, dtype, weak type) per leaf: what decides a re-trace."""
    leaves, treedef = jax.tree.flatten(tree)
    return [str(treedef)] + [(x.shape, str(x.dtype), bool(getattr(x, "weak_type", False)))
                             for x in leaves]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ContractError(message)


def random_rollout(env: Any, params: Any, steps: int) -> Any:
    """A jitted ``key -> float32[steps, obs_dim + 1]``: a uniformly random rollout (auto-reset
    included), each row the observation and the reward of one step."""
    space = env.action_space(params)

    def rollout(k: jax.Array) -> jax.Array:
        rk, k = jax.random.split(k)
        obs, state = env.reset(rk, params)

        def body(state: Any, kk: jax.Array) -> tuple[Any, jax.Array]:
            ak, sk = jax.random.split(kk)
            obs, state, r, *_ = env.step(sk, state, space.sample(ak), params)
            return state, jnp.concatenate([obs, jnp.reshape(r, (1,)).astype(obs.dtype)])

        return jax.lax.scan(body, state, jax.random.split(k, steps))[1]

    return jax.jit(rollout)


def check_env(env: Any, params: Any = None, steps: int = 50, key: int = 0) -> None:
    """Check an env's contracts with a jitted random rollout of ``steps`` steps."""
    params = env.default_params if params is None else params
    name = type(env).__name__
    obs_shape = tuple(env.observation_space(params).shape)
    space = env.action_space(params)

    obs0, state0 = jax.eval_shape(env.reset, jax.random.key(0), params)
    _require(tuple(obs0.shape) == obs_shape,
             f"{name}: reset observation has shape {obs0.shape}, the space says {obs_shape}")
    action = jax.eval_shape(space.sample, jax.random.key(0))
    out = jax.eval_shape(env.step, jax.random.key(0), state0, action, params)
    _require(len(out) == 6, f"{name}: step must return (obs, state, reward, terminated, "
                            f"truncated, info), got {len(out)} values")
    obs1, state1, reward, terminated, truncated, info = out
    _require(avals(state1) == avals(state0),
             f"{name}: the state after step differs in structure/shape/dtype from the reset "
             "state (a lax.scan over steps would re-trace or fail)")
    _require(tuple(obs1.shape) == obs_shape, f"{name}: step observation has shape {obs1.shape}")
    for what, x in (("reward", reward), ("terminated", terminated), ("truncated", truncated)):
        _require(tuple(x.shape) == (), f"{name}: {what} must be a scalar, got shape {x.shape}")
    _require("final_observation" in info,
             f"{name}: info lacks 'final_observation' (auto-reset envs report the pre-reset "
             "observation there)")

    f = random_rollout(env, params, steps)
    a, b = np.asarray(f(jax.random.key(key))), np.asarray(f(jax.random.key(key)))
    _require(np.array_equal(a, b), f"{name}: a rollout is not deterministic under a fixed key")
    _require(bool(np.all(np.isfinite(a))), f"{name}: non-finite observation or reward")


def dataset_avals(env: Any, params: Any, transitions: int = 256) -> dict[str, Any]:
    """Shapes and dtypes of a dataset as ``datasets.minari_io.load_arrays`` returns it (and
    the harness passes it to offline agents: no flat ``z``)."""
    space = env.pamdp_space
    obs = env.observation_space(params).shape
    f32, i32 = jnp.float32, jnp.int32

    def a(shape: tuple[int, ...], dtype: Any) -> jax.ShapeDtypeStruct:
        return jax.ShapeDtypeStruct((transitions, *shape), dtype)

    return {"obs": a(obs, f32), "next_obs": a(obs, f32), "k": a((), i32),
            "z_pad": a((space.max_param_dim,), f32),
            "reward": a((), f32), "terminated": a((), jnp.bool_), "truncated": a((), jnp.bool_),
            "success": a((), jnp.bool_), "episode": a((), i32), "step": a((), i32)}


def check_agent(agent: str | type, env_id: str, *, config: Any = None, chunk: int = 7,
                env_params: tuple[Any, Any] | None = None) -> None:
    """Check an agent's contracts on ``env_id`` by tracing only (nothing is compiled).

    ``agent`` is a registered name, ``module:Class``, an agent spec ``name[field=value]`` or a
    class; ``config`` replaces the spec's config; ``env_params`` an ``(env, params)`` pair to
    use instead of ``make(env_id)`` (e.g. a protocol's training env).
    """
    if isinstance(agent, str):
        cls = get_agent(agent)
        cfg = config if config is not None else agent_config(agent, env_id)
        label = parse_agent_spec(agent)[0]
    else:
        cls, label = agent, getattr(agent, "name", None) or agent.__name__
        cfg = config if config is not None else cls.default_config(env_id)
    env, params = env_params if env_params is not None else make(env_id)
    obj = cls(env, params, cfg)
    where = f"{label} on {env_id}"

    if getattr(cls, "offline", False):
        data = dataset_avals(env, params)
        state = jax.eval_shape(obj.init, jax.random.key(0), data)
        train = lambda s: jax.eval_shape(lambda x, d: obj.train(x, chunk, d), s, data)  # noqa: E731
    else:
        state = jax.eval_shape(obj.init, jax.random.key(0))
        train = lambda s: jax.eval_shape(lambda x: obj.train(x, chunk), s)  # noqa: E731
    out, metrics = train(state)
    _require(avals(out) == avals(state),
             f"{where}: train returns a state whose structure/shapes/dtypes/weak types differ "
             "from its input, so every chunk would re-trace (check dtypes of counters and "
             "python scalars stored in the state)")
    again, _ = train(out)
    _require(avals(again) == avals(out), f"{where}: a second train chunk changes the avals")
    _require(isinstance(metrics, dict), f"{where}: train metrics must be a dict")
    for name, value in metrics.items():
        _require(tuple(value.shape) == (), f"{where}: metric {name!r} is not a scalar "
                                           f"(shape {value.shape})")

    obs = jax.ShapeDtypeStruct(env.observation_space(params).shape, jnp.float32)
    num_params = env.pamdp_space.total_param_dim
    for deterministic in (True, False):
        k, z = jax.eval_shape(lambda s, o, kk, d=deterministic: obj.act(s, o, kk, d),
                              out, obs, jax.random.key(0))
        _require(tuple(k.shape) == () and jnp.issubdtype(k.dtype, jnp.integer),
                 f"{where}: act must return an integer scalar k, got {k.dtype}{k.shape}")
        _require(tuple(z.shape) == (num_params,) and z.dtype == jnp.float32,
                 f"{where}: act must return z as float32[{num_params}] (every action's "
                 f"parameters side by side), got {z.dtype}{z.shape}")
    if hasattr(obj, "act_carry"):
        carry = jax.eval_shape(obj.act_carry, out)
        for deterministic in (True, False):
            (k2, z2), carry2 = jax.eval_shape(
                lambda s, c, o, kk, d=deterministic: obj.act_step(s, c, o, kk, d),
                out, carry, obs, jax.random.key(0))
            _require(avals(carry2) == avals(carry),
                     f"{where}: act_step returns a carry whose avals differ from act_carry's")
            _require(avals((k2, z2)) == avals((k, z)),
                     f"{where}: act_step's action differs in shape/dtype from act's")


__all__ = ["ContractError", "avals", "check_agent", "check_env", "dataset_avals",
           "random_rollout"]
