"""Tests of ``envs/rendering.py``: frames, host-side rollouts, PNG/GIF files, the CLI entry."""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from matplotlib.patches import Circle
from PIL import Image

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.rendering import (
    episode_frames,
    render_episode_cli,
    render_frame,
    rollout,
    save_episode,
)
from pamdp_bench.envs.spaces import ParameterizedActionSpace
from pamdp_bench.registry import make


@struct.dataclass
class ToyState:
    pos: jax.Array  # float32[2]
    time: jax.Array  # int32


@struct.dataclass
class ToyParams:
    max_steps_in_episode: int = 6
    goal: float = 3.0


class ToyEnv(PAMDPEnvironment[ToyState, ToyParams]):
    """Action 0 moves by (z0, z1), action 1 stays; reward k + 1; ends (success) at x >= goal."""

    obs_dim = 3

    def __init__(self) -> None:
        self.transition_traces = 0

    @property
    def default_params(self) -> ToyParams:
        return ToyParams()

    @property
    def pamdp_space(self) -> ParameterizedActionSpace:
        return ParameterizedActionSpace(2, (2, 0))

    def get_obs(self, state: ToyState, params: Any = None, key: Any = None) -> jax.Array:
        t = state.time.astype(jnp.float32)[None] / 10.0
        return jnp.concatenate([state.pos, t]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: ToyParams) -> tuple[jax.Array, ToyState]:
        pos = jax.random.uniform(key, (2,), jnp.float32, 0.0, 0.1)
        state = ToyState(pos=pos, time=jnp.zeros((), jnp.int32))
        return self.get_obs(state), state

    def transition(self, key, state, k, z, params):  # noqa: ANN001, ANN201
        self.transition_traces += 1
        pos = state.pos + jnp.where(k == 0, z[:2], 0.0)
        new = ToyState(pos=pos, time=state.time + 1)
        terminated = pos[0] >= params.goal
        return (
            self.get_obs(new),
            new,
            (k + 1).astype(jnp.float32),
            terminated,
            {"success": terminated},
        )

    def draw(self, ax: Any, state: ToyState, params: ToyParams) -> None:
        ax.add_patch(Circle((float(state.pos[0]), float(state.pos[1])), 0.3, color="tab:blue"))
        ax.axvline(float(params.goal), color="tab:green")
        ax.set_xlim(-1.0, 4.0)
        ax.set_ylim(-1.0, 1.0)
        ax.set_aspect("equal")


def move_policy(key: jax.Array, obs: jax.Array) -> tuple[int, np.ndarray]:
    return 0, np.array([1.0, 0.0], np.float32)


def test_render_frame_shape_dtype_and_content() -> None:
    env = ToyEnv()
    params = env.default_params
    _, state = env.reset(jax.random.PRNGKey(0), params)
    frame = render_frame(env, state, params, episode_return=1.5, status="k=0")
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    # Wide drawing (5 x 2 data units, equal aspect) gives a wide figure.
    assert frame.shape[1] == 640 and frame.shape[0] < 400
    # The blue agent is drawn: some pixels close to matplotlib's tab:blue (31, 119, 180).
    blue = np.all(np.abs(frame.astype(int) - [31, 119, 180]) < 10, axis=-1)
    assert blue.sum() > 100
    again = render_frame(env, state, params, episode_return=1.5, status="k=0")
    np.testing.assert_array_equal(frame, again)
    moved = state.replace(pos=state.pos + jnp.array([2.0, 0.0]))
    assert not np.array_equal(
        frame, render_frame(env, moved, params, episode_return=1.5, status="k=0")
    )
    fixed = render_frame(env, state, params, figsize=(4.0, 3.0), dpi=50)
    assert fixed.shape == (150, 200, 3)


def test_render_frame_rejects_batched_state() -> None:
    env = ToyEnv()
    params = env.default_params
    _, state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.PRNGKey(0), 2), params
    )
    with pytest.raises(ValueError, match="unbatched"):
        render_frame(env, state, params)


def test_rollout_records_terminal_state_not_reset() -> None:
    env = ToyEnv()
    ep = rollout(env, env.default_params, jax.random.PRNGKey(0), policy=move_policy)
    assert len(ep.states) == 4 and len(ep.rewards) == 3 and len(ep.actions) == 3
    assert ep.terminated and not ep.truncated and ep.success
    assert float(ep.states[-1].pos[0]) >= 3.0  # final state, not an auto-reset one
    assert [int(s.time) for s in ep.states] == [0, 1, 2, 3]
    assert ep.returns == [0.0, 1.0, 2.0, 3.0]


def test_rollout_random_policy_caps_determinism_and_single_trace() -> None:
    env = ToyEnv()
    params = env.default_params.replace(goal=100.0)  # never terminates
    a = rollout(env, params, jax.random.PRNGKey(1))
    assert a.truncated and not a.terminated and len(a.states) == 7
    b = rollout(env, params, jax.random.PRNGKey(1))
    for x, y in zip(a.actions, b.actions, strict=True):
        np.testing.assert_array_equal(x[1], y[1])
    c = rollout(env, params, jax.random.PRNGKey(2), max_steps=3)
    assert len(c.states) == 4 and not c.truncated and not c.terminated
    assert {int(k) for k, _ in a.actions + c.actions} <= {0, 1}
    assert env.transition_traces == 1


def test_episode_frames_one_size() -> None:
    env = ToyEnv()
    ep = rollout(env, env.default_params, jax.random.PRNGKey(0), policy=move_policy)
    frames = episode_frames(env, env.default_params, ep, title="toy")
    assert len(frames) == len(ep.states)
    assert len({f.shape for f in frames}) == 1


@pytest.mark.parametrize("fmt", ["both", "png", "gif"])
def test_save_episode_files(tmp_path: Any, fmt: str) -> None:
    paths = save_episode("CatchPoint-v0", str(tmp_path), seed=3, fmt=fmt, max_steps=4)
    assert all(os.path.isfile(p) for p in paths)
    pngs = [p for p in paths if p.endswith(".png")]
    gifs = [p for p in paths if p.endswith(".gif")]
    assert len(gifs) == (0 if fmt == "png" else 1)
    if fmt != "gif":
        assert len(pngs) == 5 and pngs == sorted(pngs)
        assert paths[: len(pngs)] == pngs  # PNGs first, in step order
    if gifs:
        with Image.open(gifs[0]) as gif:
            assert gif.n_frames == 5
            assert gif.info.get("loop") == 0
    if pngs and gifs:
        assert Image.open(pngs[0]).size == Image.open(gifs[0]).size
    with pytest.raises(ValueError, match="fmt"):
        save_episode("CatchPoint-v0", str(tmp_path), fmt="mp4")


def test_render_episode_cli(tmp_path: Any) -> None:
    out = str(tmp_path / "renders")
    paths = render_episode_cli("Platform-v0", out, seed=0, max_steps=3)
    assert paths[-1].endswith(".gif") and len(paths) >= 2
    assert all(p.startswith(out) and os.path.isfile(p) for p in paths)
    with pytest.raises(ValueError, match="unknown env id"):
        render_episode_cli("Platfrom-v0", out, seed=0, max_steps=3)


@pytest.mark.parametrize(
    "env_id", ["Platform-v0", "Goal-v0", "HardGoal-v0", "CatchPoint-v0", "HardMove-n4-v0"]
)
def test_real_env_draws_something(env_id: str) -> None:
    """Every benchmark's reset state renders to a non-blank, multi-coloured frame."""
    env, params = make(env_id)
    _, state = env.reset(jax.random.PRNGKey(0), params)
    frame = render_frame(env, state, params)
    colours = {tuple(c) for c in frame.reshape(-1, 3)[::7] // 32}
    assert len(colours) >= 4
    non_white = np.any(frame < 200, axis=-1).mean()
    assert 0.01 < non_white < 0.95


def test_status_names_the_action_and_its_parameters() -> None:
    from pamdp_bench.envs.rendering import Episode, _status
    from pamdp_bench.registry import make

    env, _ = make("Platform-v0")  # K=3, one parameter each
    ep = Episode(states=[None, None], actions=[(np.int32(1), np.array([0.1, -0.25, 0.9]))],
                 rewards=[0.5], infos=[{"success": True}], terminated=True)
    assert _status(ep, 1, env.pamdp_space) == "k=1, z=(-0.25), terminated, SUCCESS"
    assert _status(ep, 1) == "k=1, terminated, SUCCESS"
