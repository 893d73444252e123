"""Behaviour cloning (``bc``): it recovers a known hybrid policy, and its loss scores only the
chosen action's parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.baselines.bc import BC, BCConfig
from pamdp_bench.baselines.common import hybrid_head
from pamdp_bench.registry import make


def _dataset(env, params, n=4_096, seed=0):
    """A known policy on Platform's observation space: k = 0 if obs[0] > 0.5 else 2, k's
    first parameter = the clipped obs[1]; the other actions' parameters are noise."""
    space = env.pamdp_space
    rng = np.random.default_rng(seed)
    obs = rng.uniform(0, 1, (n, env.observation_space(params).shape[0])).astype(np.float32)
    k = np.where(obs[:, 0] > 0.5, 0, 2).astype(np.int32)
    z = rng.uniform(-1, 1, (n, space.total_param_dim)).astype(np.float32)
    offsets = np.asarray(space.param_offsets)
    z[np.arange(n), offsets[k]] = 2 * obs[:, 1] - 1
    return {"obs": jnp.asarray(obs), "k": jnp.asarray(k), "z": jnp.asarray(z),
            "z_pad": jnp.asarray(space.padded_params(k, z))}


# make test-long: 20 s; BC's training path runs in CI in test_offline's bitwise resume
@pytest.mark.long
def test_bc_recovers_a_known_hybrid_policy():
    env, params = make("Platform-v0")
    agent = BC(env, params, BCConfig(hidden=(64, 64), lr=3e-3))
    data = _dataset(env, params)
    state = agent.init(jax.random.key(0), data)
    state, metrics = jax.jit(lambda s: agent.train(s, 600, data))(state)
    test = _dataset(env, params, 512, seed=1)
    k, z = jax.vmap(lambda o: agent.act(state, o, jax.random.key(0), True))(test["obs"])
    assert float(jnp.mean(k == test["k"])) > 0.95
    first = jnp.asarray(env.pamdp_space.param_offsets)[test["k"]]
    err = jnp.abs(jnp.take_along_axis(z, first[:, None], 1)[:, 0]
                  - jnp.take_along_axis(test["z"], first[:, None], 1)[:, 0])
    assert float(jnp.median(err)) < 0.1, float(jnp.median(err))


def test_likelihood_reads_only_the_chosen_actions_parameters():
    """Goal's layout (kick-to: 2 parameters, the shots: 1 each): k's padded parameters are
    read against k's slice of the flat head outputs; other slices and the padding are not
    read."""
    env, _ = make("Goal-v0")
    slots = hybrid_head.param_slots(env.pamdp_space)
    logits, log_std = jnp.zeros(3), jnp.zeros(4)
    mean = jnp.asarray([0.1, -0.4, 0.7, 0.2])
    c = -0.5 * np.log(2 * np.pi)

    def lp(k, z_pad, mean=mean):
        return float(hybrid_head.log_prob(logits, mean, log_std, jnp.int32(k),
                                          jnp.asarray(z_pad), slots)[2])

    np.testing.assert_allclose(lp(0, [0.3, -0.2]), -0.5 * (0.2**2 + 0.2**2) + 2 * c, rtol=1e-6)
    np.testing.assert_allclose(lp(1, [0.5, 0.0]), -0.5 * 0.2**2 + c, rtol=1e-6)
    assert lp(1, [0.5, 9.0]) == lp(1, [0.5, 0.0])  # padding
    assert lp(1, [0.5, 0.0], mean.at[0].set(-1.0).at[3].set(1.0)) == lp(1, [0.5, 0.0])
