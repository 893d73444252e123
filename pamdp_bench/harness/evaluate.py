"""Policy evaluation over whole episodes, vectorised.

``policy_episodes`` runs one episode per key as ``vmap`` lanes of a ``lax.while_loop`` that
stops when every lane has ended (``step_env`` without auto-reset plus ``is_truncated``, so each
lane is exactly one episode and a finished lane is never reset). A policy is any traceable
``policy(obs, key) -> (k, z)``:

* ``random_policy_episodes``: the uniform policy (DLPA's ``rand_action``), the random-policy
  table of the demo and the noise-on conformance statistics;
* ``agent_episodes``: an agent's ``act`` (deterministic for evaluation), ``vmap``ped over a
  leading seed axis of train states and episode keys; the runner's evaluation.

Recurrent acting: an agent with ``act_carry(state) -> carry`` (C-LAP filters a latent state
along the episode) acts through ``act_step(state, carry, obs, key, deterministic) -> (action,
carry)``; ``policy_episode`` threads the carry when given ``carry``.

``summarize_episodes`` turns per-episode outputs into the result-record metrics (return mean
and std, success rate, mean length): return and success rate always both.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.registry import make

#: ``policy(obs, key) -> (k, z)``: one action for one observation (traceable).
Policy = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


def policy_episode(env: Any, params: Any, policy: Policy, key: jax.Array,
                   carry: Any = None) -> dict[str, jax.Array]:
    """One episode of ``policy`` from a fresh reset (traceable; ``vmap`` it over keys).

    ``carry``: a recurrent policy's initial carry; the policy is then
    ``policy(obs, key, carry) -> (action, carry)``.

    The episode stops at its first ``terminated`` or ``truncated``. Returns the episode's
    return ``ret``, length ``len``, ``success`` (some step had ``info["success"]``), the end
    flags, the last reward, and the sum / sum of squares of ``info["substeps"]`` (0 where the
    env has none).
    """
    reset_key, key = jax.random.split(key)
    obs, state = env.reset_env(reset_key, params)
    zero = jnp.float32(0.0)
    loop = {
        "key": key,
        "obs": obs,
        "state": state,
        "ret": zero,
        "len": jnp.int32(0),
        "success": jnp.bool_(False),
        "done": jnp.bool_(False),
        "terminated": jnp.bool_(False),
        "last_reward": zero,
        "sub_sum": zero,
        "sub_sq": zero,
        "pcarry": carry,
    }

    def body(c: dict[str, Any]) -> dict[str, Any]:
        key, act_key, step_key = jax.random.split(c["key"], 3)
        if carry is None:
            action, pcarry = policy(c["obs"], act_key), None
        else:
            action, pcarry = policy(c["obs"], act_key, c["pcarry"])
        obs, state, reward, terminated, info = env.step_env(step_key, c["state"], action, params)
        truncated = env.is_truncated(state, params)
        sub = info.get("substeps", jnp.int32(0)).astype(jnp.float32)
        return {
            "key": key,
            "obs": obs,
            "state": state,
            "ret": c["ret"] + reward,
            "len": c["len"] + 1,
            "success": c["success"] | info["success"],
            "done": terminated | truncated,
            "terminated": terminated,
            "last_reward": reward,
            "sub_sum": c["sub_sum"] + sub,
            "sub_sq": c["sub_sq"] + sub * sub,
            "pcarry": pcarry,
        }

    out = jax.lax.while_loop(lambda c: ~c["done"], body, loop)
    del out["key"], out["obs"], out["state"], out["pcarry"]
    return out


def policy_episodes(
    env: Any, params: Any, policy: Policy, keys: jax.Array, carry: Any = None
) -> dict[str, jax.Array]:
    """``policy_episode`` for every key of ``keys[N]`` in parallel (traceable): arrays ``[N]``.

    ``carry``: a recurrent policy's initial carry, the same for every episode."""
    return jax.vmap(lambda k: policy_episode(env, params, policy, k, carry))(keys)


def random_policy_episodes(
    env: Any, params: Any, key: jax.Array, num_episodes: int
) -> dict[str, np.ndarray]:
    """Run ``num_episodes`` uniform-random-policy episodes (DLPA ``rand_action``) in parallel.

    Each lane stops at its first ``terminated`` or ``truncated``; returns per-episode return,
    length, success and end flags, and per-episode sums of substeps (where the env has them).
    """
    space = env.pamdp_space

    def policy(obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        return space.sample_rand_action(key)

    keys = jax.random.split(key, num_episodes)
    result = jax.jit(lambda ks: policy_episodes(env, params, policy, ks))(keys)
    return {k: np.asarray(v) for k, v in result.items()}


def agent_episodes(
    agent: Any, env: Any, params: Any, states: Any, keys: jax.Array,
    deterministic: bool = True,
) -> dict[str, jax.Array]:
    """Episodes of an agent's ``act`` for a seed axis of states (traceable; jit it).

    ``states`` is a train-state pytree with a leading seed axis ``[S]`` and ``keys`` holds
    ``[S, E]`` episode keys: seed ``s`` plays ``E`` episodes with its own state. Returns
    arrays ``[S, E]`` (see ``policy_episode``). ``env``/``params`` are the evaluation env
    (separate from the agent's training envs, with the evaluation episode cap).
    """

    def one_seed(state: Any, seed_keys: jax.Array) -> dict[str, jax.Array]:
        if hasattr(agent, "act_carry"):  # a recurrent agent (module docstring)
            def step(obs: jax.Array, key: jax.Array, carry: Any) -> tuple[Any, Any]:
                return agent.act_step(state, carry, obs, key, deterministic)

            return policy_episodes(env, params, step, seed_keys, agent.act_carry(state))

        def policy(obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
            return agent.act(state, obs, key, deterministic)

        return policy_episodes(env, params, policy, seed_keys)

    return jax.vmap(one_seed)(states, keys)


def summarize_episodes(out: dict[str, np.ndarray]) -> dict[str, float]:
    """Record metrics of one seed's episodes (``out`` arrays ``[E]``), computed in float64.

    ``return_std`` is the sample standard deviation over episodes (0 for a single episode).
    """
    ret = np.asarray(out["ret"], np.float64)
    n = ret.size
    return {
        "return_mean": float(ret.mean()),
        "return_std": float(ret.std(ddof=1)) if n > 1 else 0.0,
        "success_rate": float(np.asarray(out["success"], np.float64).mean()),
        "length_mean": float(np.asarray(out["len"], np.float64).mean()),
    }


def evaluate_agent(
    agent: str, env_ids: Sequence[str], episodes: int, seed: int, log: Any = None
) -> list[dict[str, Any]]:
    """Score rows of an agent's freshly initialised state (for the non-learning reference
    agents ``random`` and ``scripted``): return mean/std, success rate, mean length per env.

    Envs the agent cannot handle (``scripted`` has no Platform policy) are skipped with a log
    line. Learning agents are evaluated by ``pamdp-bench train`` instead.
    """
    from pamdp_bench.agents import get_agent

    agent_cls = get_agent(agent)
    rows = []
    for i, env_id in enumerate(env_ids):
        env, params = make(env_id)
        try:
            agent_obj = agent_cls(env, params, agent_cls.default_config(env_id))
        except ValueError as err:
            if log is not None:
                log(f"{env_id}: skipped ({err})")
            continue
        key = jax.random.fold_in(jax.random.key(seed), i)
        t0 = time.perf_counter()
        state = jax.tree.map(lambda x: x[None], agent_obj.init(key))
        keys = jax.random.split(jax.random.fold_in(key, 1), episodes)[None]
        run = jax.jit(functools.partial(agent_episodes, agent_obj, env, params))
        out = {k: np.asarray(v)[0] for k, v in run(state, keys).items()}
        wall = time.perf_counter() - t0
        rows.append({"env_id": env_id, "agent": agent_cls.name, "episodes": episodes,
                     "wall_seconds": wall, **summarize_episodes(out)})
        if log is not None:
            log(f"{env_id}: {episodes} episodes in {wall:.1f} s (incl. compile)")
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown score table: return mean ± std (n), success rate, mean episode length."""
    lines = [
        "| env | agent | return mean ± std (n) | success rate | mean length |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['env_id']} | {r['agent']} | {r['return_mean']:.3f} ± {r['return_std']:.3f}"
            f" ({r['episodes']}) | {r['success_rate']:.3f} | {r['length_mean']:.2f} |"
        )
    return "\n".join(lines)
