"""Brax adapter: any suite env as a ``brax.envs.Env`` with a continuous relaxation of (k, z).

Needs the optional extra: ``pip install 'pamdp-bench[brax]'``. Importing this module without
brax raises ``ImportError`` naming the extra; ``import pamdp_bench`` never imports it.

**Action relaxation** (the "what a brax user would do" encoding, not from a paper): brax agents
emit one flat vector in [-1, 1] (PPO's tanh-Gaussian). ``BraxPAMDPEnv`` takes
``a[K + P]``: ``k = argmax(a[:K])`` (ties -> lowest index) and ``z = a[K:]``, the suite's flat
parameter vector (action k reads its own slice, so the other actions' entries are ignored).
``decode_action`` / ``encode_action`` convert both ways; ``encode_action((k, z))`` is a vector
that decodes back to ``(k, z)``.

**State.** ``State.pipeline_state`` is the suite env's own state (brax's ``AutoResetWrapper``
restores it on reset, as it restores a physics state); the env's RNG key lives in
``State.info["rng"]`` and is split on every step (step noise) and reset. ``State.metrics``
holds ``success`` (0/1 per step), so brax's episode metrics sum it.

**Episode ends.** ``done = terminated OR truncated`` where ``truncated`` is the env's own step
cap (``params.max_steps_in_episode``) and ``info["truncation"]`` = truncated (``own_cap=True``,
the default: right for code that steps the adapter without brax's wrappers). The adapter never
auto-resets (brax envs do not; its wrappers do): stepping after ``done`` continues from the end
state.

**With brax's training wrappers** (``brax.envs.training.wrap``, what ``ppo.train`` uses) two
brax behaviours matter, and the adapter is built for them:

1. ``EpisodeWrapper(episode_length=L)`` *overwrites* ``info["truncation"]`` on every step with
   ``steps >= L and not done`` and sets ``done`` at ``steps >= L``. So if the adapter itself
   ended the episode at its cap (``done = 1``), the wrapper writes ``truncation = 0`` and PPO
   treats the cap as a terminal (no bootstrap). Hence for training use ``own_cap=False`` and
   ``episode_length = params.max_steps_in_episode`` (``training_env`` returns both): the
   adapter reports ``done = terminated`` only, and the EpisodeWrapper ends the episode at
   exactly the env's cap with ``truncation = 1 - terminated``, so PPO bootstraps a capped,
   non-terminal last step, the suite convention. With ``own_cap=True`` the cap step gets
   ``truncation = 0`` for any ``L`` >= the cap (tested for ``L`` = cap); an ``L`` below the cap
   cuts episodes short.
2. ``AutoResetWrapper`` resets a finished env to the *first* state that env ever had
   (``info["first_pipeline_state"]`` / ``info["first_obs"]``): every episode of one env slot
   would start identically. The suite's envs draw a fresh initial state per episode (Goal's
   y0, Catch Point's target, Hard Move's start; Platform's reset is deterministic), so when
   those info keys are present the adapter refreshes them on every step with a new initial
   state from its own RNG ([choice], ``fresh_resets=True``): under brax's wrappers every
   episode starts from a freshly sampled state, as with the suite's own auto-reset. This
   uses brax's info key names (stable across brax 0.9-0.13).

**jax 0.10 compatibility.** Every brax release up to 0.14.2 calls ``jax.device_put_replicated``
in its trainers (``ppo.train``, ``brax.training.pmap``), which jax 0.10 removed (the attribute
raises ``AttributeError``). ``ensure_jax_compat()`` puts it back (jax's own implementation, still
in ``jax._src.api``, else a stack-and-``device_put`` equivalent); call it before a brax trainer.
The env API itself does not need it.

``backend`` is ``"pamdp_bench"`` (not a brax physics pipeline; brax's wrappers do not read it).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

try:
    from brax.envs.base import Env as _BraxEnv
    from brax.envs.base import State
except ImportError as _err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "pamdp_bench.envs.brax_adapter needs brax, which is an optional extra: "
        "pip install 'pamdp-bench[brax]'"
    ) from _err

from pamdp_bench.registry import env_and_params

__all__ = [
    "BraxPAMDPEnv",
    "State",
    "decode_action",
    "encode_action",
    "ensure_jax_compat",
    "training_env",
]

_F32 = jnp.float32


def decode_action(action: jax.Array, num_actions: int) -> tuple[jax.Array, jax.Array]:
    """``a[K + P]`` -> ``(k, z)``: ``k = argmax(a[:K])`` (int32), ``z = a[K:]`` (float32)."""
    action = jnp.asarray(action, _F32)
    k = jnp.argmax(action[..., :num_actions], axis=-1).astype(jnp.int32)
    return k, action[..., num_actions:]


def encode_action(action: tuple[jax.Array, jax.Array], num_actions: int) -> jax.Array:
    """``(k, z)`` -> ``a[K + P]`` with one-hot logits (+1 at k, -1 elsewhere), then z."""
    k, z = action
    logits = jnp.where(jnp.arange(num_actions) == k, 1.0, -1.0).astype(_F32)
    return jnp.concatenate([logits, jnp.asarray(z, _F32)])


class BraxPAMDPEnv(_BraxEnv):
    """One suite env as a ``brax.envs.Env`` (see the module docstring for the semantics).

    Build it from an id (``BraxPAMDPEnv("Platform-v0", max_steps_in_episode=50)``) or from an
    instance (``BraxPAMDPEnv(env=env, params=params)``); keyword overrides replace param fields.
    """

    def __init__(
        self,
        env_id: str | None = None,
        *,
        env: Any | None = None,
        params: Any | None = None,
        own_cap: bool = True,
        fresh_resets: bool = True,
        **overrides: Any,
    ) -> None:
        env, params = env_and_params(env_id, env=env, params=params, **overrides)
        self.pamdp_env = env
        self.params = params
        self.own_cap = bool(own_cap)
        self.fresh_resets = bool(fresh_resets)
        space = env.pamdp_space
        self.num_actions = int(space.num_actions)
        self.total_param_dim = int(space.total_param_dim)

    # ------------------------------------------------------------------ brax Env API
    @property
    def observation_size(self) -> int:
        return int(self.pamdp_env.observation_space(self.params).shape[0])

    @property
    def action_size(self) -> int:
        return self.num_actions + self.total_param_dim

    @property
    def backend(self) -> str:
        return "pamdp_bench"

    @property
    def episode_cap(self) -> int:
        """The env's own step cap (pass it as brax's ``episode_length``)."""
        return int(self.params.max_steps_in_episode)

    def decode(self, action: jax.Array) -> tuple[jax.Array, jax.Array]:
        """This env's ``decode_action``."""
        return decode_action(action, self.num_actions)

    def reset(self, rng: jax.Array) -> State:
        """A fresh episode; ``rng`` becomes the env's key chain (kept in ``info["rng"]``)."""
        rng, reset_key = jax.random.split(rng)
        obs, env_state = self.pamdp_env.reset_env(reset_key, self.params)
        zero = jnp.zeros((), _F32)
        info = {"rng": rng, "truncation": zero, "terminated": zero, "invalid_action": zero}
        return State(
            pipeline_state=env_state,
            obs=jnp.asarray(obs, _F32),
            reward=zero,
            done=zero,
            metrics={"success": zero},
            info=info,
        )

    def step(self, state: State, action: jax.Array) -> State:
        """One agent step with the decoded ``(k, z)``; no auto-reset (brax's wrappers do it)."""
        rng, step_key, reset_key = jax.random.split(state.info["rng"], 3)
        k, z = self.decode(action)
        env, params = self.pamdp_env, self.params
        obs, env_state, reward, terminated, info = env.step_env(
            step_key, state.pipeline_state, (k, z), params
        )
        terminated = jnp.asarray(terminated, jnp.bool_)
        if self.own_cap:
            truncated = env.is_truncated(env_state, params) & ~terminated
        else:
            truncated = jnp.zeros((), jnp.bool_)
        new_info = {
            **state.info,
            "rng": rng,
            "truncation": truncated.astype(_F32),
            "terminated": terminated.astype(_F32),
            "invalid_action": jnp.asarray(info["invalid_action"], _F32),
        }
        if self.fresh_resets and "first_pipeline_state" in state.info:
            # brax's AutoResetWrapper restores these when done: make them a fresh start.
            obs0, env_state0 = env.reset_env(reset_key, params)
            new_info["first_pipeline_state"] = env_state0
            new_info["first_obs"] = jnp.asarray(obs0, _F32)
        return state.replace(
            pipeline_state=env_state,
            obs=jnp.asarray(obs, _F32),
            reward=jnp.asarray(reward, _F32),
            done=(terminated | truncated).astype(_F32),
            metrics={**state.metrics, "success": jnp.asarray(info["success"], _F32)},
            info=new_info,
        )


def _stacked_device_put(x: Any, devices: Any) -> Any:
    """``x`` with a leading axis of ``len(devices)`` copies, one per device."""
    devices = list(devices)

    def put(leaf: Any) -> Any:
        leaf = jnp.asarray(leaf)
        stacked = jnp.broadcast_to(leaf, (len(devices), *leaf.shape))
        if len(devices) == 1:
            return jax.device_put(stacked, devices[0])
        mesh = jax.sharding.Mesh(devices, ("d",))
        return jax.device_put(
            stacked, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("d"))
        )

    return jax.tree.map(put, x)


def ensure_jax_compat() -> None:
    """Restore ``jax.device_put_replicated`` (removed in jax 0.10, used by brax's trainers)."""
    try:
        jax.device_put_replicated  # noqa: B018 - the attribute access is the check
        return
    except AttributeError:
        pass
    try:
        from jax._src.api import device_put_replicated as impl
    except ImportError:  # pragma: no cover - depends on jax internals
        impl = _stacked_device_put
    jax.device_put_replicated = impl


def training_env(env_id: str, **overrides: Any) -> tuple[BraxPAMDPEnv, int]:
    """``(adapter, episode_length)`` for ``brax.envs.training.wrap`` / ``ppo.train``.

    The adapter has ``own_cap=False`` and ``episode_length`` is the env's cap, so brax's
    EpisodeWrapper ends episodes at the cap and flags them as truncations (module docstring).
    """
    env = BraxPAMDPEnv(env_id, own_cap=False, **overrides)
    return env, env.episode_cap

