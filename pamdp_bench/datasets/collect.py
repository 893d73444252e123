"""Collect whole episodes of a policy from many envs at once (``vmap`` lanes in a ``lax.scan``).

Every lane plays episodes back to back. Each episode has a **seed**, and its keys are exactly
those of the gymnasium adapter's ``reset(seed=...)`` followed by ``step`` calls
(``envs.gymnasium_adapter``: ``key = seed_key(seed)``, ``key, reset_key = split(key)``, then
``key, step_key = split(key)`` per step). So any stored episode can be replayed in
``gymnasium.make("pamdp_bench/<id>", flat_params=True)`` from its seed and its actions, which
is how the dataset tests check that the data is what the env does. Lane ``b``'s ``j``-th
episode has seed ``salt * 2**32 + b + lanes * j`` (``salt`` is per dataset, so two datasets of
one env never share an episode).

The policy draws its own keys from a separate stream (``fold_in(policy_key, lane)`` then the
global step), so actions never reuse env randomness.

A dataset is the first whole episodes, in the order they **end** (ties: lane order), whose
lengths add up to at least the requested transitions: the selection is final as soon as the
episodes that ended so far cover the request, and collection stops there. Episodes still
running at that point are dropped. The count is thus slightly above the request; it is
reported exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

#: ``policy(obs, key) -> (k, z)`` on one observation (traceable).
Policy = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]

#: The per-transition arrays of a dataset (``minari_io.load_arrays``); in the agents' form
#: ``z_pad`` replaces the flat ``z`` (``agent_arrays``).
TRANSITION_KEYS = ("obs", "next_obs", "k", "z", "reward", "terminated", "truncated", "success",
                   "episode", "step")

#: Env steps per compiled block (one host round trip each).
BLOCK_STEPS = 64
MAX_LANES = 4096


def episode_seed_key(seed_hi: jax.Array, seed_lo: jax.Array) -> jax.Array:
    """The adapter's ``_seed_key`` for ``seed = hi * 2**32 + lo`` (traceable; ``hi`` < 2**32)."""
    key = jax.random.PRNGKey(seed_lo.astype(jnp.uint32))
    return jax.lax.cond(seed_hi != 0, lambda: jax.random.fold_in(key, seed_hi), lambda: key)


def lanes_for(num_transitions: int, episode_cap: int) -> int:
    """Lanes for a request: about four episode caps of steps per lane, at most ``MAX_LANES``
    (fewer lanes waste fewer steps on dropped episodes; more fill the hardware)."""
    return int(np.clip(num_transitions // (4 * episode_cap), 1, MAX_LANES))


def _start_episode(env: Any, params: Any, salt: int, lo: jax.Array) -> tuple:
    key = episode_seed_key(jnp.uint32(salt), lo)
    key, reset_key = jax.random.split(key)
    obs, state = env.reset_env(reset_key, params)
    return key, jnp.asarray(obs, jnp.float32), state


def make_block(env: Any, params: Any, policy: Policy, salt: int, lanes: int
               ) -> tuple[Callable[[], Any], Callable[[Any], tuple[Any, dict[str, jax.Array]]]]:
    """``(init, block)``: the lanes' first episodes, and ``BLOCK_STEPS`` steps of every lane
    (jitted) returning per-step arrays ``[BLOCK_STEPS, lanes]``."""
    lane_ids = jnp.arange(lanes, dtype=jnp.uint32)

    def init(policy_key: jax.Array) -> dict[str, Any]:
        key, obs, state = jax.vmap(lambda lo: _start_episode(env, params, salt, lo))(lane_ids)
        return {"env_key": key, "obs": obs, "state": state, "lo": lane_ids,
                "t": jnp.zeros(lanes, jnp.int32), "step": jnp.int32(0),
                "policy_keys": jax.vmap(lambda b: jax.random.fold_in(policy_key, b))(lane_ids)}

    def lane_step(env_key, obs, state, lo, t, pkey, step):
        k, z = policy(obs, jax.random.fold_in(pkey, step))
        env_key, step_key = jax.random.split(env_key)
        nobs, nstate, reward, term, info = env.step_env(step_key, state, (k, z), params)
        trunc = env.is_truncated(nstate, params)
        nobs = jnp.asarray(nobs, jnp.float32)
        rec = {"obs": obs, "k": jnp.asarray(k, jnp.int32), "z": jnp.asarray(z, jnp.float32),
               "reward": jnp.asarray(reward, jnp.float32), "next_obs": nobs,
               "terminated": term, "truncated": trunc, "success": info["success"],
               "seed_lo": lo, "t": t}
        done = term | trunc
        new_lo = lo + jnp.uint32(lanes)
        r_key, r_obs, r_state = _start_episode(env, params, salt, new_lo)
        pick = lambda a, b: jax.tree.map(lambda u, v: jnp.where(done, u, v), a, b)  # noqa: E731
        env_key, obs, state = pick((r_key, r_obs, r_state), (env_key, nobs, nstate))
        lo = jnp.where(done, new_lo, lo)
        t = jnp.where(done, 0, t + 1)
        return (env_key, obs, state, lo, t), rec

    def body(c: dict[str, Any], _: None) -> tuple[dict[str, Any], dict[str, jax.Array]]:
        (env_key, obs, state, lo, t), rec = jax.vmap(
            lane_step, in_axes=(0, 0, 0, 0, 0, 0, None))(
            c["env_key"], c["obs"], c["state"], c["lo"], c["t"], c["policy_keys"], c["step"])
        c = {**c, "env_key": env_key, "obs": obs, "state": state, "lo": lo, "t": t,
             "step": c["step"] + 1}
        return c, rec

    @jax.jit
    def block(c: dict[str, Any]) -> tuple[dict[str, Any], dict[str, jax.Array]]:
        return jax.lax.scan(body, c, None, length=BLOCK_STEPS)

    return jax.jit(init), block


def collect_episodes(env: Any, params: Any, policy: Policy, *, num_transitions: int,
                     salt: int, policy_key: jax.Array, lanes: int | None = None,
                     progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """The first whole episodes reaching ``num_transitions`` (module docstring), as flat
    per-transition arrays in episode order plus ``episode`` (0..E-1), ``seed`` (per
    transition, the episode's seed) and ``lanes`` (scalar, part of the recipe).

    ``progress(n)`` is called after every block with the transitions secured so far.
    """
    if num_transitions < 1:
        raise ValueError(f"num_transitions must be >= 1, got {num_transitions}")
    if not 0 < salt < 2**32:
        raise ValueError(f"salt must be in (0, 2**32), got {salt}")
    lanes = lanes or lanes_for(num_transitions, int(params.max_steps_in_episode))
    init, block = make_block(env, params, policy, salt, lanes)
    carry = init(policy_key)
    chunks: list[dict[str, np.ndarray]] = []
    ends: list[np.ndarray] = []  # (time index, lane, length) of finished episodes, end order
    secured = 0
    while True:
        carry, rec = block(carry)
        rec = {k: np.asarray(v) for k, v in rec.items()}
        t0 = len(chunks) * BLOCK_STEPS
        chunks.append(rec)
        done = rec["terminated"] | rec["truncated"]
        ti, li = np.nonzero(done)  # row-major: time first, then lane: the end order
        ends.append(np.stack([ti + t0, li, rec["t"][ti, li] + 1], axis=1))
        lengths = np.concatenate(ends)[:, 2]
        secured = int(lengths.sum())
        if progress is not None:
            progress(min(secured, num_transitions))
        if secured >= num_transitions:
            break
    fin = np.concatenate(ends)
    take = int(np.searchsorted(np.cumsum(fin[:, 2]), num_transitions)) + 1
    fin = fin[:take]
    full = {k: np.concatenate([c[k] for c in chunks], axis=0) for k in chunks[0]}
    lengths = fin[:, 2]
    episode = np.repeat(np.arange(take), lengths)
    offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    time_idx = np.repeat(fin[:, 0] - lengths + 1, lengths) + offset
    lane_idx = np.repeat(fin[:, 1], lengths)
    out = {k: v[time_idx, lane_idx] for k, v in full.items()}
    if not np.array_equal(out.pop("t"), offset):  # each episode's steps are contiguous
        raise AssertionError("collected episodes are not contiguous (collector bug)")
    seed_lo = out.pop("seed_lo").astype(np.int64)
    out["seed"] = np.int64(salt) * 2**32 + seed_lo
    out["episode"] = episode
    out["step"] = offset
    out["lanes"] = np.int64(lanes)
    return out


def random_policy(space: Any) -> Policy:
    """The uniform random hybrid policy (DLPA's ``rand_action``): the ``random`` datasets'."""
    return lambda obs, key: space.sample_rand_action(key)


def agent_arrays(space: Any, arrays: dict[str, Any], *, flat_z: bool = False
                 ) -> dict[str, jax.Array]:
    """``TRANSITION_KEYS`` of ``arrays`` as JAX arrays with ``z_pad`` (k's parameters at the
    front, zero padded) in place of the flat ``z``, which is kept only with ``flat_z``: the
    agents read ``z_pad``, and the flat rows are K-wide (Hard Move n=10: 1,024 floats each).
    ``z_pad`` is gathered on the host, so the flat array never reaches the device."""
    k = np.asarray(arrays["k"])
    out = {name: jnp.asarray(arrays[name]) for name in TRANSITION_KEYS
           if flat_z or name != "z"}
    out["z_pad"] = jnp.asarray(space.padded_params(k, np.asarray(arrays["z"], np.float32)))
    return out


def random_policy_arrays(env: Any, params: Any, transitions: int, *, seed: int = 0,
                         lanes: int | None = None) -> dict[str, jax.Array]:
    """Episodes of the random policy, in memory, in ``agent_arrays``' form: data for the
    offline agents' tests and speed benches with no Minari files (``seed`` picks both the
    episodes (``salt = seed + 1``) and the policy's keys)."""
    data = collect_episodes(env, params, random_policy(env.pamdp_space),
                            num_transitions=transitions, salt=seed + 1,
                            policy_key=jax.random.key(seed), lanes=lanes)
    return agent_arrays(env.pamdp_space, data)
