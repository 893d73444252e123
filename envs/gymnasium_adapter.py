"""Gymnasium adapter: run the JAX PAMDP environments from PyTorch (or any numpy) code.

``GymnasiumPAMDPEnv`` presents one environment with gymnasium's single-env API and the action
format of the original gym envs (gym-platform, gym-goal): ``(k, (p_0, ..., p_{K-1}))`` with
space ``Tuple(Discrete(K), Tuple(Box(-1, 1, (d_k,)) for each k))``, a ``Box`` of shape ``(0,)``
for a parameterless action. Only ``p_k`` is used, as in the originals; the others must still
have the right shapes. Parameters are on the agent side ([-1, 1], spec Decisions item 3);
finite values outside [-1, 1] are accepted and handled as the originals handle them (see
``base.PAMDPEnvironment``).

Semantics:

* ``reset(seed=...)`` seeds a JAX key chain; ``reset()`` without a seed continues it, so a run
  is reproducible from its first seed. Seeds below 2**32 give the same initial state as
  ``env.reset(jax.random.split(jax.random.PRNGKey(seed))[1], params)`` in pure JAX.
* ``step`` has **no auto-reset** (gymnasium semantics): after ``terminated`` or ``truncated``
  the caller must ``reset``; stepping again raises ``RuntimeError``. Truncation is the env's
  own step cap (``params.max_steps_in_episode``), so no gymnasium ``TimeLimit`` is needed.
* actions are validated on the host before anything runs, with errors naming the problem
  (structure, ``k`` out of range, parameter shape, dtype, non-finite values); a rejected action
  leaves the episode untouched.
* ``reset``/``step`` are jitted once per env instance, and adapters built from the same id share
  one instance, so N adapters (a gymnasium vector env) compile once; params are traced
  arguments, so changing their values does not recompile either.
* ``render_mode="rgb_array"``: ``render()`` returns ``uint8[H, W, 3]`` (``envs/rendering.py``).

Gymnasium ids: ``import pamdp_bench`` registers ``pamdp_bench/<id>`` for every published id
(``pamdp_bench/Platform-v0`` ...; ``registry.register_with_gymnasium``), so
``gymnasium.make("pamdp_bench/Platform-v0")`` works after it; without that import,
``gymnasium.make("pamdp_bench:pamdp_bench/Platform-v0")`` has gymnasium import it first.
Keyword arguments of ``gymnasium.make`` other than ``render_mode`` are param overrides, as in
``pamdp_bench.make``.

For Hard Move with many actuators the Tuple-of-Boxes space has 2^n entries; ``flat_params=True``
uses ``Tuple(Discrete(K), Box(-1, 1, (P,)))`` with the flat parameter vector instead.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from pamdp_bench.envs.host_transfer import WordLayout, pack_words
from pamdp_bench.registry import env_and_params


def _seed_key(seed: int) -> jax.Array:
    """A JAX key from a non-negative int of any size (``PRNGKey`` keeps only 32 bits)."""
    key = jax.random.PRNGKey(seed & 0xFFFFFFFF)
    rest = seed >> 32
    while rest:
        key = jax.random.fold_in(key, rest & 0xFFFFFFFF)
        rest >>= 32
    return key


@partial(jax.jit, static_argnums=0)
def _reset_jit(env: Any, key: jax.Array, params: Any) -> tuple[jax.Array, jax.Array, Any]:
    """The chain's ``key, reset_key = split(key)`` and ``reset_env``, compiled once per env
    instance (shared by every adapter over it): ``(next key, obs, state)``."""
    key, reset_key = jax.random.split(key)
    obs, state = env.reset_env(reset_key, params)
    return key, jnp.asarray(obs, jnp.float32), state


@partial(jax.jit, static_argnums=0)
def _step_tree(
    env: Any, key: jax.Array, state: Any, k: jax.Array, z: jax.Array, params: Any
) -> tuple[jax.Array, Any, tuple[jax.Array, jax.Array, jax.Array, jax.Array, dict[str, Any]]]:
    """The chain's ``key, step_key = split(key)``, ``step_env`` and the step-cap truncation,
    without auto-reset: ``(next key, state, (obs, reward, terminated, truncated, info))``. The
    key split happens here (on the host it was an op-by-op dispatch of its own)."""
    key, step_key = jax.random.split(key)
    obs, state, reward, terminated, info = env.step_env(step_key, state, (k, z), params)
    truncated = env.is_truncated(state, params)
    out = (jnp.asarray(obs, jnp.float32), jnp.asarray(reward, jnp.float32),
           jnp.asarray(terminated, jnp.bool_), jnp.asarray(truncated, jnp.bool_), info)
    return key, state, out


class _ParamsTuple(spaces.Tuple):
    """``Tuple(Box(low, high, (d_k,)) for each k)`` that stays fast for large K (Hard Move
    n=16: 65,536 boxes took 3.5 s to build, 4-9 s per ``sample()`` and 1.7 s per ``seed()``):
    one ``Box`` instance per distinct size, ``sample`` draws every parameter in one call and
    splits it, ``seed`` seeds one generator. Same distribution as the plain ``Tuple``."""

    def __init__(self, dims: tuple[int, ...], low: np.float32, high: np.float32) -> None:
        boxes = {d: spaces.Box(low, high, (d,), np.float32) for d in sorted(set(dims))}
        super().__init__(tuple(boxes[d] for d in dims))
        self._low, self._high = low, high
        self._splits = np.cumsum(dims)[:-1]
        self._total = int(sum(dims))

    def sample(self, mask: Any = None, probability: Any = None) -> tuple[np.ndarray, ...]:
        if mask is not None or probability is not None:
            return super().sample(mask=mask, probability=probability)
        flat = self.np_random.uniform(self._low, self._high, self._total).astype(np.float32)
        return tuple(np.split(flat, self._splits))

    def seed(self, seed: Any = None) -> list[int]:
        return spaces.Space.seed(self, seed)


#: One env instance per id, so adapters built from the same id (vector envs, check_env's
#: re-creations) share compiled functions. Env objects are stateless; params are not cached.
_ENV_CACHE: dict[str, Any] = {}


class GymnasiumPAMDPEnv(gymnasium.Env):
    """A gymnasium ``Env`` over one pamdp_bench environment.

    Build it from an id (``GymnasiumPAMDPEnv("Goal-v0", max_steps_in_episode=25)``) or from an
    env instance (``GymnasiumPAMDPEnv(env=env, params=params)``); keyword overrides replace
    fields of the params either way.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 5}

    def __init__(
        self,
        env_id: str | None = None,
        *,
        env: Any | None = None,
        params: Any | None = None,
        render_mode: str | None = None,
        flat_params: bool = False,
        **overrides: Any,
    ) -> None:
        env, params = env_and_params(env_id, env=env, params=params, **overrides)
        if env_id is not None:
            env = _ENV_CACHE.setdefault(env_id, env)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.env_id = env_id if env_id is not None else type(env).__name__
        self.pamdp_env = env
        self._params = params
        self.render_mode = render_mode
        self.flat_params = bool(flat_params)

        space = env.pamdp_space
        self._pamdp_space = space
        self._num_actions = space.num_actions
        self._param_dims = space.param_dims
        self._total = space.total_param_dim
        low, high = np.float32(space.low), np.float32(space.high)
        if self.flat_params:
            param_space: spaces.Space = spaces.Box(low, high, (self._total,), np.float32)
        else:
            param_space = _ParamsTuple(self._param_dims, low, high)
        self.action_space = spaces.Tuple((spaces.Discrete(self._num_actions), param_space))
        #: The parameters' env units (``PAMDPEnvironment.raw_param_bounds``), shaped like the
        #: action's parameter space, or None where the env has none (agents on [-1, 1]).
        self.raw_param_space: spaces.Space | None = None
        raw = env.raw_param_bounds()
        if raw is not None:
            rlow, rhigh = raw
            self.raw_param_space = (
                spaces.Box(rlow, rhigh, (self._total,), np.float32) if self.flat_params else
                spaces.Tuple(tuple(spaces.Box(rlow[sl], rhigh[sl], (rlow[sl].size,), np.float32)
                                   for sl in space.param_slices)))
        obs_dim = int(env.observation_space(params).shape[0])
        self.observation_space = spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)

        self._key: jax.Array | None = None
        self._state: Any = None
        self._done = False
        self._episode_return = 0.0
        self._last_k: int | None = None
        self._layout: WordLayout | None = None  # of the packed step outputs, at the 1st step

    # ------------------------------------------------------------------ accessors
    @property
    def params(self) -> Any:
        """The env params in use (read-only; build a new adapter to change them)."""
        return self._params

    @property
    def state(self) -> Any:
        """The current JAX env state (None before the first ``reset``)."""
        return self._state

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_params_entry(value: Any, dim: int, what: str) -> np.ndarray:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{what} must be a numeric array: {err}") from None
        if arr.dtype == object:
            raise TypeError(f"{what} must be a numeric array, got {type(value).__name__}")
        if arr.shape != (dim,):
            raise ValueError(f"{what} must have shape ({dim},), got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{what} must be floating point, got dtype {arr.dtype}")
        with np.errstate(over="ignore"):
            arr32 = arr.astype(np.float32)
        if not np.all(np.isfinite(arr32)):
            bad = np.flatnonzero(~np.isfinite(arr32)).tolist()
            raise ValueError(
                f"{what} has non-finite values at {bad} (NaN/inf, or beyond float32 range): "
                f"{arr.tolist()}"
            )
        return arr32

    def validate_action(self, action: Any) -> tuple[int, np.ndarray]:
        """Check ``action`` against the action space; return ``(k, flat float32 z)``.

        Raises ``TypeError``/``ValueError`` naming the problem. Finite parameters outside
        [-1, 1] are allowed (the env handles them as the originals do).
        """
        k_count, dims = self._num_actions, self._param_dims
        shape_hint = (
            f"(k, z) with z float32[{self._total}]"
            if self.flat_params
            else f"(k, (p_0, ..., p_{k_count - 1})) with p_j float32[d_j], d = {list(dims)}"
        )
        if not isinstance(action, (tuple, list)) or len(action) != 2:
            raise TypeError(f"action must be a pair {shape_hint}; got {type(action).__name__}")
        k_raw, p_raw = action
        k_arr = np.asarray(k_raw)
        if k_arr.shape != ():
            raise ValueError(f"discrete action k must be a scalar, got shape {k_arr.shape}")
        if k_arr.dtype == np.bool_ or not np.issubdtype(k_arr.dtype, np.integer):
            raise TypeError(f"discrete action k must be an integer, got dtype {k_arr.dtype}")
        k = int(k_arr)
        if not 0 <= k < k_count:
            raise ValueError(f"discrete action k={k} is out of range [0, {k_count})")
        if self.flat_params:
            z = self._check_params_entry(p_raw, self._total, "parameter vector z")
            return k, z
        if not isinstance(p_raw, (tuple, list)):
            raise TypeError(
                f"parameters must be a tuple of {k_count} arrays, one per discrete action "
                f"(action format {shape_hint}); got {type(p_raw).__name__}"
            )
        if len(p_raw) != k_count:
            raise ValueError(
                f"parameters must hold {k_count} arrays (one per discrete action), got {len(p_raw)}"
            )
        fast = self._fast_concat(p_raw)
        if fast is not None:
            return k, fast
        # Slow path: per-entry checks, raising an error that names the faulty entry.
        parts = [
            self._check_params_entry(p, d, f"parameters of action {j}")
            for j, (p, d) in enumerate(zip(p_raw, dims, strict=True))
        ]
        z = np.concatenate(parts) if parts else np.zeros((0,), np.float32)
        return k, z.astype(np.float32)

    def _fast_concat(self, p_raw: tuple | list) -> np.ndarray | None:
        """Flat z when every entry is a well-formed float ndarray (the common case), else None.

        Hard Move n=10 has 1024 entries; checking them one by one costs milliseconds per step.
        """
        if not all(type(p) is np.ndarray and p.ndim == 1 for p in p_raw):
            return None
        if tuple(p.shape[0] for p in p_raw) != self._param_dims:
            return None
        if not all(p.dtype.kind == "f" for p in p_raw):
            return None
        with np.errstate(over="ignore"):
            z = np.concatenate(p_raw).astype(np.float32) if p_raw else np.zeros((0,), np.float32)
        if not np.isfinite(z).all():
            return None
        return z

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``seed`` restarts the key chain, ``None`` continues it."""
        super().reset(seed=seed)
        if options:
            raise ValueError(f"reset options are not supported, got keys {sorted(options)}")
        if seed is not None:
            self._key = _seed_key(int(seed))
        elif self._key is None:
            self._key = _seed_key(int(self.np_random.integers(0, 2**32)))
        self._key, obs, state = _reset_jit(self.pamdp_env, self._key, self._params)
        self._state = state
        self._done = False
        self._episode_return = 0.0
        self._last_k = None
        return np.array(obs, np.float32), {}  # writable copies: torch warns on read-only arrays

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One agent step (no auto-reset). Raises on an invalid action or a finished episode."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError(
                "the episode has ended (terminated or truncated); call reset() before step()"
            )
        k, z = self.validate_action(action)
        args = (self.pamdp_env, self._key, self._state, np.int32(k), z, self._params)
        new_key, state, words = _step_jit(*args)
        if self._layout is None:
            self._layout = _step_layout(*args)
        obs_np, reward, terminated, truncated, info = self._layout.unpack(np.asarray(words))
        reward_f = float(reward)
        term, trunc = bool(terminated), bool(truncated)
        info_np = jax.tree.map(lambda x: x.item() if x.ndim == 0 else x, info)
        # Commit only once everything above succeeded.
        self._key = new_key
        self._state = state
        self._done = term or trunc
        self._episode_return += reward_f
        self._last_k = k
        return obs_np, reward_f, term, trunc, info_np

    def render(self) -> np.ndarray | None:
        """``uint8[H, W, 3]`` of the current state in ``rgb_array`` mode; None otherwise."""
        if self.render_mode is None:
            return None
        if self._state is None:
            raise RuntimeError("call reset() before render()")
        from pamdp_bench.envs.rendering import render_frame

        status = "" if self._last_k is None else f"k={self._last_k}"
        if self._done:
            status += ", episode over"
        return render_frame(
            self.pamdp_env,
            self._state,
            self._params,
            episode_return=self._episode_return,
            title=self.env_id,
            status=status,
        )

    def close(self) -> None:
        """Nothing to release (safe to call repeatedly)."""
        self._state = None
        self._done = False


@partial(jax.jit, static_argnums=0)
def _vector_reset(env: Any, keys: jax.Array, params: Any) -> tuple[jax.Array, jax.Array, Any]:
    """``_reset_jit`` over a batch of key chains."""
    return jax.vmap(lambda k: _reset_jit.__wrapped__(env, k, params))(keys)


@partial(jax.jit, static_argnums=0)
def _vector_step_tree(env: Any, keys: jax.Array, states: Any, k: jax.Array, z: jax.Array,
                      params: Any) -> tuple[jax.Array, Any, Any]:
    """One step of every env, then a reset (``key, reset_key = split(key)``) of those that
    ended: the single adapter's ``step`` followed by ``reset()``, batched."""

    def one(key: jax.Array, state: Any, k1: jax.Array, z1: jax.Array) -> Any:
        key, state, (obs, reward, term, trunc, info) = _step_tree.__wrapped__(
            env, key, state, k1, z1, params)
        done = term | trunc
        r_key, r_obs, r_state = _reset_jit.__wrapped__(env, key, params)
        keep = lambda a, b: jax.tree.map(lambda u, v: jnp.where(done, u, v), a, b)  # noqa: E731
        key, next_obs, state = keep((r_key, r_obs, r_state), (key, obs, state))
        return key, state, (next_obs, reward, term, trunc, obs, info)

    return jax.vmap(one)(keys, states, k, z)


def _packed(tree_fn: Any) -> tuple[Any, Any]:
    """A jitted ``tree_fn(env, ...) -> (key, state, host-bound tree)`` as ``(packed, layout)``:
    ``packed`` returns the host-bound tree packed into one vector, so it reaches the host in one
    copy (``host_transfer``), and ``layout(env, ...)`` says where each leaf sits (shapes only;
    nothing runs). ``tree_fn`` is called inside ``packed``'s trace as a jitted function, so
    ``tree_fn.eval_shape`` finds that trace in jax's cache: the env's step is traced once."""

    @partial(jax.jit, static_argnums=0)
    def packed(env: Any, *args: Any) -> tuple[jax.Array, Any, jax.Array]:
        key, state, out = tree_fn(env, *args)
        return key, state, pack_words(out)

    def layout(env: Any, *args: Any) -> WordLayout:
        return WordLayout.of(tree_fn.eval_shape(env, *args)[2])

    return packed, layout


_step_jit, _step_layout = _packed(_step_tree)
_vector_step, _vector_step_layout = _packed(_vector_step_tree)


class PAMDPVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` copies of one env stepped together: one jitted, ``vmap``ped call per step,
    with gymnasium's same-step auto-reset (an env that ends is reset in the same ``step``; its
    last observation is ``infos["final_obs"][i]``, masked by ``infos["_final_obs"]``).

    Actions are batched flat-parameter pairs ``(k[N], z[N, P])``. Env ``i``'s key chain
    starts at ``reset(seed=seed + i)`` of the single adapter and continues as its ``reset()``
    does, so env ``i`` plays exactly the episodes of a ``GymnasiumPAMDPEnv`` seeded ``seed + i``
    and reset without a seed after each episode. ``infos`` carry the step's ``success`` and
    ``invalid_action`` (with all-True masks).
    """

    metadata = {"autoreset_mode": gymnasium.vector.AutoresetMode.SAME_STEP}

    def __init__(self, env_id: str | None = None, num_envs: int = 1, *, env: Any = None,
                 params: Any = None, **overrides: Any) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        single = GymnasiumPAMDPEnv(env_id, env=env, params=params, flat_params=True,
                                   **overrides)
        self.num_envs = num_envs
        self.pamdp_env, self._params = single.pamdp_env, single.params
        self.single_action_space = single.action_space
        self.single_observation_space = single.observation_space
        self.action_space = gymnasium.vector.utils.batch_space(self.single_action_space,
                                                               num_envs)
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, num_envs)
        self._keys: jax.Array | None = None
        self._states: Any = None
        self._total = single.pamdp_env.pamdp_space.total_param_dim
        self._layout: WordLayout | None = None  # of the packed step outputs, at the 1st step

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env; ``seed`` starts env ``i``'s chain at ``seed + i``."""
        if options:
            raise ValueError(f"reset options are not supported, got keys {sorted(options)}")
        if seed is None and self._keys is not None:
            keys = self._keys  # continue the chains
        else:
            if seed is None:
                seed = int(np.random.default_rng().integers(0, 2**32))
            keys = jnp.stack([_seed_key(int(seed) + i) for i in range(self.num_envs)])
        self._keys, obs, self._states = _vector_reset(self.pamdp_env, keys, self._params)
        return np.array(obs, np.float32), {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        if self._states is None:
            raise RuntimeError("call reset() before step()")
        if not isinstance(actions, (tuple, list)) or len(actions) != 2:
            raise TypeError(f"actions must be a pair (k[{self.num_envs}], "
                            f"z[{self.num_envs}, {self._total}])")
        k = np.asarray(actions[0])
        z = np.asarray(actions[1], np.float32)
        if k.shape != (self.num_envs,) or not np.issubdtype(k.dtype, np.integer):
            raise ValueError(f"k must be integers of shape ({self.num_envs},), got "
                             f"{k.dtype} {k.shape}")
        if z.shape != (self.num_envs, self._total):
            raise ValueError(f"z must have shape ({self.num_envs}, {self._total}), got "
                             f"{z.shape}")
        args = (self.pamdp_env, self._keys, self._states, k.astype(np.int32), z, self._params)
        keys, states, words = _vector_step(*args)
        if self._layout is None:
            self._layout = _vector_step_layout(*args)
        obs, reward, term, trunc, last_obs, info = self._layout.unpack(np.asarray(words))
        self._keys, self._states = keys, states
        done = np.asarray(term | trunc)
        final = np.full(self.num_envs, None, dtype=object)
        for i in np.flatnonzero(done):
            final[i] = last_obs[i]
        infos: dict[str, Any] = {"final_obs": final, "_final_obs": done}
        for name in ("success", "invalid_action"):
            infos[name] = np.asarray(info[name])
            infos[f"_{name}"] = np.ones(self.num_envs, bool)
        return obs, reward, term, trunc, infos
