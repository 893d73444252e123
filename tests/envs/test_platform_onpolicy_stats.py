"""Noise-on Platform transitions at the states and actions of *learning* agents, against the
original env.

Two recorded files, each with per-step learner decisions (state, k, z) and the original env's
mean outcome over m noisy one-step samples from that state with that action
(``python -m pamdp_bench.tools.platform_ab probe``, then ``probe_export``):

- ``data/platform_onpolicy_stats.json``: 6,000 steps of two P-DQNs (``cycraig/MP-DQN``'s
  agent, seed 1, one learning on the original env and one on ours, 3,000 steps drawn from each
  30k-step run; m = 4), with five outcomes (terminal, success, reward, next x, substeps). Ours'
  learner sits at the first gap for the whole run, so its run-ups there are dense.
- ``data/platform_onpolicy_stats_goal.json``: 6,000 steps drawn from the 40k-step run of the
  original's seed 2 on the original env, which learns to reach the goal (all three platforms;
  m = 2), with the whole next state: also vx and both enemies' x, dx and dx squared, so the
  enemies' noise is checked where learners go too.

The hand-picked starts of ``test_platform_level_stats.py`` cannot cover where learners actually
go (run-ups at every speed, enemies anywhere on their random walk, the parameters a learner
picks, 2 % of them outside [-1, 1]); these do. Ours takes the same steps with 16 samples each
and the two are compared as the probe does: per (action, 25-unit x band) stratum, the mean over
steps of the per-step difference, in standard errors (the float32 port's resolution added in
quadrature). A 30 % error in the hop, leap, player or enemy noise moves some stratum by many
standard errors (the second test).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.envs.platform import Platform, PlatformParams
from pamdp_bench.tools import platform_ab_probe as probe

DATA = Path(__file__).parent / "data"
FIRST_GAP, GOAL = "platform_onpolicy_stats.json", "platform_onpolicy_stats_goal.json"
SAMPLES = 16
Z_MAX = 5.0


@partial(jax.jit, static_argnums=0)
def _ours(env: Platform, keys: jax.Array, states: jax.Array, ks: jax.Array, zs: jax.Array,
          params: PlatformParams) -> jax.Array:
    """[N, SAMPLES, len(probe.OUTCOMES)]: ``probe.ours_outcomes`` from each row's state."""

    def per_step(key: jax.Array, s: jax.Array, k: jax.Array, z: jax.Array) -> jax.Array:
        zz = jnp.zeros((3,), jnp.float32).at[k].set(z)
        one = partial(probe.ours_outcomes, env, params)
        return jax.vmap(one, in_axes=(0, None, None, None))(jax.random.split(key, SAMPLES),
                                                            s, k, zz)

    return jax.vmap(per_step)(keys, states, ks, zs)


def _compare(name: str, params: PlatformParams) -> dict:
    record = json.loads((DATA / name).read_text())
    assert set(record["outcomes"]) <= set(probe.OUTCOMES), record["outcomes"]
    data = probe.conformance_arrays(record)
    keys = jax.random.split(jax.random.key(20261206), len(data["k"]))
    ours = _ours(Platform(), keys, jnp.asarray(data["state"], jnp.float32),
                 jnp.asarray(data["k"], jnp.int32), jnp.asarray(data["z"], jnp.float32), params)
    columns = [probe.OUTCOMES.index(name) for name in record["outcomes"]]
    data["ours"] = np.asarray(ours, np.float64)[:, :, columns]
    return probe.analyze(data)


def _worst(result: dict) -> tuple[float, str]:
    return max((abs(s["z"]), f"{name}: {s['stratum']} ({s['original']:.4f} vs {s['ours']:.4f})")
               for name, o in result["outcomes"].items() for s in o["strata"])


@pytest.mark.parametrize("name", [FIRST_GAP, GOAL])
def test_learners_steps_agree_with_the_original(name: str) -> None:
    result = _compare(name, Platform().default_params)
    worst, where = _worst(result)
    assert worst < Z_MAX, where
    for name, o in result["outcomes"].items():
        # chi-square over the x-band strata: about df when the envs agree
        assert o["chi2"] < o["df"] + 5 * np.sqrt(2 * o["df"]) + 10, (name, o["chi2"], o["df"])
    all_terminal = result["outcomes"]["terminal"]["strata"][0]
    assert all_terminal["n"] == 6000 and 0.1 < all_terminal["original"] < 0.4


@pytest.mark.parametrize(("name", "change"), [
    (FIRST_GAP, dict(hop_noise_std=1.3)), (FIRST_GAP, dict(leap_noise_std=0.7)),
    (FIRST_GAP, dict(player_noise_std=0.5 * 0.05 * 1.3)),
    (GOAL, dict(enemy_noise_std=0.5 * 0.05 * 1.3)),  # only the goal file has enemy outcomes
])
def test_the_comparison_catches_a_30_percent_noise_error(name: str, change: dict) -> None:
    worst, _ = _worst(_compare(name, Platform().default_params.replace(**change)))
    assert worst > Z_MAX
