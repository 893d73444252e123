"""Policy evaluation over whole episodes, vectorised: the random-policy table of the demo.

``random_policy_episodes`` runs N independent episodes as ``vmap`` lanes of a
``lax.while_loop`` that stops when every lane has ended (no auto-reset, so each lane is
exactly one episode). It also backs the noise-on conformance statistics.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.registry import make


def random_policy_episodes(
    env: Any, params: Any, key: jax.Array, num_episodes: int
) -> dict[str, np.ndarray]:
    """Run ``num_episodes`` uniform-random-policy episodes (DLPA ``rand_action``) in parallel.

    Each lane stops at its first ``terminated`` or ``truncated``; returns per-episode return,
    length, success and end flags, and per-episode sums of substeps (where the env has them).
    """
    space = env.pamdp_space

    def episode(key: jax.Array) -> dict[str, jax.Array]:
        reset_key, key = jax.random.split(key)
        _, state = env.reset_env(reset_key, params)
        zero = jnp.float32(0.0)
        carry = {
            "key": key,
            "state": state,
            "ret": zero,
            "len": jnp.int32(0),
            "success": jnp.bool_(False),
            "done": jnp.bool_(False),
            "terminated": jnp.bool_(False),
            "last_reward": zero,
            "sub_sum": zero,
            "sub_sq": zero,
        }

        def body(c: dict[str, Any]) -> dict[str, Any]:
            key, act_key, step_key = jax.random.split(c["key"], 3)
            action = space.sample(act_key)
            _, state, reward, terminated, info = env.step_env(step_key, c["state"], action, params)
            truncated = env.is_truncated(state, params)
            sub = info.get("substeps", jnp.int32(0)).astype(jnp.float32)
            return {
                "key": key,
                "state": state,
                "ret": c["ret"] + reward,
                "len": c["len"] + 1,
                "success": c["success"] | info["success"],
                "done": terminated | truncated,
                "terminated": terminated,
                "last_reward": reward,
                "sub_sum": c["sub_sum"] + sub,
                "sub_sq": c["sub_sq"] + sub * sub,
            }

        out = jax.lax.while_loop(lambda c: ~c["done"], body, carry)
        del out["key"], out["state"]
        return out

    keys = jax.random.split(key, num_episodes)
    result = jax.jit(jax.vmap(episode))(keys)
    return {k: np.asarray(v) for k, v in result.items()}



def evaluate_random(
    env_ids: Sequence[str], episodes: int, seed: int, log: Any = None
) -> list[dict[str, Any]]:
    """Random-policy score rows (return mean/std/sem, success rate, mean length) per env."""
    rows = []
    for i, env_id in enumerate(env_ids):
        env, params = make(env_id)
        t0 = time.perf_counter()
        out = random_policy_episodes(env, params, jax.random.fold_in(jax.random.key(seed), i),
                                     episodes)
        wall = time.perf_counter() - t0
        ret = out["ret"].astype(np.float64)
        row = {
            "env_id": env_id,
            "agent": "random",
            "episodes": episodes,
            "return_mean": float(ret.mean()),
            "return_std": float(ret.std(ddof=1)),
            "return_sem": float(ret.std(ddof=1) / np.sqrt(episodes)),
            "success_rate": float(out["success"].mean()),
            "length_mean": float(out["len"].mean()),
            "wall_seconds": wall,
        }
        rows.append(row)
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
