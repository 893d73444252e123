"""ParameterizedActionSpace: layout, sampling, containment, padded conversions, validation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.envs.spaces import ParameterizedActionSpace


@pytest.fixture
def goal_space() -> ParameterizedActionSpace:
    return ParameterizedActionSpace(3, (2, 1, 1))


def test_layout(goal_space: ParameterizedActionSpace) -> None:
    assert goal_space.total_param_dim == 4
    assert goal_space.max_param_dim == 2
    assert goal_space.param_slices == (slice(0, 2), slice(2, 3), slice(3, 4))
    np.testing.assert_array_equal(goal_space.param_offsets, [0, 2, 3])


def test_zero_param_action_layout() -> None:
    space = ParameterizedActionSpace(2, (1, 0))  # Catch Point: catch has no parameter
    assert space.total_param_dim == 1 and space.max_param_dim == 1
    k, pad = space.to_padded((jnp.int32(1), jnp.array([0.7], jnp.float32)))
    np.testing.assert_array_equal(pad, [0.0])


def test_sample_is_contained_and_uniform(goal_space: ParameterizedActionSpace) -> None:
    keys = jax.random.split(jax.random.key(0), 3000)
    ks, zs = jax.vmap(goal_space.sample)(keys)
    assert ks.dtype == jnp.int32 and zs.dtype == jnp.float32 and zs.shape == (3000, 4)
    assert bool(jnp.all(jax.vmap(goal_space.contains)((ks, zs))))
    counts = np.bincount(np.asarray(ks), minlength=3) / 3000
    np.testing.assert_allclose(counts, 1 / 3, atol=0.04)
    assert float(zs.min()) >= -1 and float(zs.max()) <= 1


def test_contains_rejects(goal_space: ParameterizedActionSpace) -> None:
    z = jnp.zeros(4)
    assert not bool(goal_space.contains((jnp.int32(3), z)))
    assert not bool(goal_space.contains((jnp.int32(-1), z)))
    assert not bool(goal_space.contains((jnp.int32(0), z.at[1].set(jnp.nan))))
    assert not bool(goal_space.contains((jnp.int32(0), z.at[3].set(1.5))))
    assert not bool(goal_space.contains((jnp.int32(0), jnp.zeros(3))))


def test_padded_round_trip(goal_space: ParameterizedActionSpace) -> None:
    z = jnp.array([0.1, 0.2, 0.3, 0.4], jnp.float32)
    for k, expect in ((0, [0.1, 0.2]), (1, [0.3, 0.0]), (2, [0.4, 0.0])):
        kk, pad = goal_space.to_padded((jnp.int32(k), z))
        np.testing.assert_allclose(pad, expect)
        _, flat = goal_space.from_padded((kk, pad))
        full = np.zeros(4, np.float32)
        full[goal_space.param_slices[k]] = np.asarray(z)[goal_space.param_slices[k]]
        np.testing.assert_allclose(flat, full)


@pytest.mark.parametrize("dims", [(2, 1, 1), (1, 0), (1,) * 16])
def test_host_padding_equals_to_padded(dims: tuple[int, ...]) -> None:
    """``padded_params`` (numpy, many actions: the datasets' ``z_pad``) gives ``to_padded``'s
    bits, zero-parameter actions and padding included."""
    space = ParameterizedActionSpace(len(dims), dims)
    ks, zs = jax.vmap(space.sample)(jax.random.split(jax.random.key(1), 200))
    want = jax.vmap(lambda k, z: space.to_padded((k, z))[1])(ks, zs)
    got = space.padded_params(np.asarray(ks), np.asarray(zs))
    assert got.dtype == np.float32 and got.shape == (200, space.max_param_dim)
    np.testing.assert_array_equal(got, np.asarray(want))


def test_large_action_space_is_linear() -> None:
    """Hard Move n=16: 65536 actions, one parameter each; conversions under jit."""
    space = ParameterizedActionSpace(2**16, (1,) * 2**16)
    k, z = jax.jit(space.sample)(jax.random.key(1))
    _, pad = jax.jit(space.to_padded)((k, z))
    assert pad.shape == (1,) and float(pad[0]) == float(z[k])


def test_gymnax_conversion(goal_space: ParameterizedActionSpace) -> None:
    gs = goal_space.to_gymnax()
    assert gs.spaces[0].n == 3 and gs.spaces[1].shape == (4,)


def test_check_action_errors(goal_space: ParameterizedActionSpace) -> None:
    with pytest.raises(TypeError, match="pair"):
        goal_space.check_action(jnp.zeros(5))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        goal_space.check_action((jnp.int32(0), jnp.zeros(3)))
    with pytest.raises(TypeError, match="integer"):
        goal_space.check_action((jnp.float32(0), jnp.zeros(4)))
    with pytest.raises(ValueError, match="scalar"):
        goal_space.check_action((jnp.zeros(2, jnp.int32), jnp.zeros(4)))
    with pytest.raises(TypeError, match="floating"):
        goal_space.check_action((jnp.int32(0), jnp.zeros(4, jnp.int32)))


def test_invalid_construction() -> None:
    with pytest.raises(ValueError, match="param_dims"):
        ParameterizedActionSpace(3, (1, 1))
    with pytest.raises(ValueError, match="num_actions"):
        ParameterizedActionSpace(0, ())


@pytest.mark.parametrize("p", [3, 64])
def test_rand_action_draws_k_params_uniformly(p: int) -> None:
    """Both branches (full draw for small P, chosen slice for large P) give uniform k and
    uniform parameters of the chosen action; large P leaves the other entries at 0."""
    space = ParameterizedActionSpace(p, (1,) * p)
    ks, zs = jax.vmap(space.sample_rand_action)(jax.random.split(jax.random.key(3), 4000))
    assert bool(jnp.all(jax.vmap(space.contains)((ks, zs))))
    chosen = np.asarray(jax.vmap(lambda k, z: space.to_padded((k, z))[1])(ks, zs))[:, 0]
    assert abs(chosen.mean()) < 0.05 and abs(chosen.var() - 1 / 3) < 0.03
    counts = np.bincount(np.asarray(ks), minlength=p)
    expected = 4000 / p
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    if p > 16:
        assert np.count_nonzero(np.asarray(zs)) == np.count_nonzero(chosen)


@pytest.mark.parametrize("env_id", ["Platform-v0", "Goal-v0", "CatchPoint-v0",
                                    "HardMove-n4-v0"])
def test_absurd_finite_parameters_are_invalid_and_keep_the_state_finite(env_id: str) -> None:
    """Issue 13: z = +-3e38 overflowed Catch Point's / Hard Move's force to inf / NaN with
    ``invalid_action`` False. Beyond ``MAX_ABS_PARAM`` a parameter is flagged and clipped; a
    value outside [-1, 1] but within it (the originals accept those) is not flagged."""
    import jax
    import jax.numpy as jnp

    from pamdp_bench.registry import make

    env, params = make(env_id)
    p_total = int(sum(env.pamdp_space.param_dims))

    @jax.jit
    def roll(z_value: float):
        def step(carry, kk):
            obs, state = carry
            z = jnp.full((p_total,), z_value, jnp.float32)
            obs, state, _, _, _, info = env.step(kk, state, (jnp.int32(0), z), params)
            return (obs, state), (obs, info["invalid_action"])

        obs, state = env.reset(jax.random.key(0), params)
        _, (obs, bad) = jax.lax.scan(step, (obs, state), jax.random.split(jax.random.key(1), 25))
        return obs, bad

    for value in (3e38, -3e38):
        obs, bad = roll(value)
        assert bool(jnp.all(jnp.isfinite(obs))) and bool(jnp.all(bad)), env_id
    obs, bad = roll(3.0)
    assert bool(jnp.all(jnp.isfinite(obs))) and not bool(jnp.any(bad))
