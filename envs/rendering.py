"""Render PAMDP episodes to RGB frames, PNG files and an animated GIF, for people to look at.

Each env draws itself (``env.draw(ax, state, params)``); this module owns the figure, the
title line (env, step, return, how the episode ended), the host-side rollout and the files.
Figures are built on matplotlib's Agg canvas directly (no ``pyplot``), so rendering never
touches global GUI state and works headless. GIFs are written with Pillow (a matplotlib
dependency).

``rollout`` steps with the env's ``step_env`` plus ``is_truncated`` (jitted, compiled once per
env) rather than the auto-resetting ``step``: auto-reset would replace the final state by a
fresh one, and the final state is the frame a person most wants to see.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: ``policy(key, obs) -> (k, z)``: z is the flat parameter vector of all actions (envs/spaces.py).
Policy = Callable[[jax.Array, jax.Array], tuple[Any, Any]]

FORMATS = ("both", "png", "gif")
DPI = 100


def _host_state(state: Any) -> Any:
    """Copy a (single, unbatched) env state to numpy, checking it is not batched."""
    host = jax.device_get(state)
    time = getattr(host, "time", None)
    if time is not None and np.ndim(time) != 0:
        raise ValueError(
            "render_frame draws one unbatched state; got a batched state "
            f"(state.time has shape {np.shape(time)}). Index one env out of the batch first."
        )
    return host


WIDTH_IN = 6.4  # figure width in inches (640 px at the default dpi)


def _fitted_figsize(ax: Any) -> tuple[float, float]:
    """Figure size whose axes match a fixed-aspect drawing (e.g. Platform's long strip).

    Envs draw with ``ax.set_aspect("equal")`` or similar; a fixed 4:3 figure would leave most
    of a wide scene blank, so the height follows the drawing's aspect ratio (clamped).
    """
    aspect = ax.get_aspect()
    if not isinstance(aspect, (int, float)):
        return (WIDTH_IN, 4.8)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    if x1 == x0:
        return (WIDTH_IN, 4.8)
    ratio = abs(y1 - y0) / abs(x1 - x0) * float(aspect)
    axes_height = (WIDTH_IN - 1.0) * ratio
    return (WIDTH_IN, float(np.clip(axes_height + 1.3, 2.4, 7.2)))


def render_frame(
    env: Any,
    state: Any,
    params: Any,
    *,
    episode_return: float | None = None,
    title: str | None = None,
    status: str = "",
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> np.ndarray:
    """Draw one state with ``env.draw`` and return the image as ``uint8[H, W, 3]``.

    The figure title says ``title`` (default: the env's name), the step (``state.time``), the
    return so far if given, and ``status`` (e.g. "terminated, success"). ``figsize`` (inches)
    defaults to 6.4 wide with a height fitted to the drawing's aspect ratio.
    """
    host = _host_state(state)
    fig = Figure(figsize=figsize or (WIDTH_IN, 4.8), dpi=dpi, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    env.draw(ax, host, params)
    if figsize is None:
        fig.set_size_inches(*_fitted_figsize(ax))
    parts = [title if title is not None else str(getattr(env, "name", type(env).__name__))]
    time = getattr(host, "time", None)
    if time is not None:
        parts.append(f"step {int(time)}")
    if episode_return is not None:
        parts.append(f"return {float(episode_return):.3f}")
    if status:
        parts.append(status)
    fig.suptitle("   ".join(parts), fontsize=10)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.array(rgba[..., :3], dtype=np.uint8)


@dataclass
class Episode:
    """A recorded episode on the host.

    ``states[0]`` is the initial state and ``states[i]`` the state after step ``i``; ``actions``,
    ``rewards`` and ``infos`` have one entry per step.
    """

    states: list[Any] = field(default_factory=list)
    actions: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    terminated: bool = False
    truncated: bool = False

    @property
    def returns(self) -> list[float]:
        """Cumulative return after each state (``returns[0] == 0``), aligned with ``states``."""
        return [0.0, *np.cumsum(np.asarray(self.rewards, np.float64)).tolist()]

    @property
    def success(self) -> bool:
        """An episode succeeds if any of its steps had ``info["success"]``."""
        return any(bool(info.get("success", False)) for info in self.infos)


@partial(jax.jit, static_argnums=0)
def _step_no_reset(
    env: Any, key: jax.Array, state: Any, action: Any, params: Any
) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
    """``step_env`` plus gymnax truncation, without auto-reset (compiled once per env)."""
    obs, state, reward, terminated, info = env.step_env(key, state, action, params)
    truncated = env.is_truncated(state, params)
    return obs, state, reward, terminated, truncated, info


@partial(jax.jit, static_argnums=0)
def _random_action(space: Any, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    return space.sample_rand_action(key)


def _default_max_steps(params: Any) -> int:
    cap = getattr(params, "max_steps_in_episode", None)
    try:
        return int(cap)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return 1000


def rollout(
    env: Any,
    params: Any,
    key: jax.Array,
    policy: Policy | None = None,
    max_steps: int | None = None,
) -> Episode:
    """Run one episode on the host and record every state.

    ``policy(key, obs) -> (k, z)`` (flat ``z``); the default samples uniformly from
    ``env.pamdp_space``. Stops when the env terminates or truncates, or after ``max_steps``
    steps (default: ``params.max_steps_in_episode``).
    """
    if max_steps is None:
        max_steps = _default_max_steps(params)
    if max_steps < 0:
        raise ValueError(f"max_steps must be >= 0, got {max_steps}")
    key, reset_key = jax.random.split(key)
    obs, state = env.reset(reset_key, params)
    episode = Episode(states=[jax.device_get(state)])
    for _ in range(max_steps):
        key, act_key, step_key = jax.random.split(key, 3)
        if policy is None:
            action = _random_action(env.pamdp_space, act_key)
        else:
            action = policy(act_key, obs)
        k = jnp.asarray(action[0], jnp.int32)
        z = jnp.asarray(action[1], jnp.float32)
        obs, state, reward, terminated, truncated, info = _step_no_reset(
            env, step_key, state, (k, z), params
        )
        episode.states.append(jax.device_get(state))
        episode.actions.append((np.asarray(k), np.asarray(z)))
        episode.rewards.append(float(reward))
        episode.infos.append(jax.device_get(info))
        if bool(terminated) or bool(truncated):
            episode.terminated = bool(terminated)
            episode.truncated = bool(truncated)
            break
    return episode


def _status(episode: Episode, index: int, space: Any = None) -> str:
    """Status text for frame ``index``: the last action (k and, given the action ``space``,
    the parameters of k that the env read), and how the episode ended."""
    if index == 0:
        return ""
    k, z = episode.actions[index - 1]
    bits = [f"k={int(k)}"]
    if space is not None and space.param_dims[int(k)]:
        chosen = np.asarray(z)[space.param_slices[int(k)]]
        bits.append("z=(" + ", ".join(f"{v:+.2f}" for v in chosen) + ")")
    if index == len(episode.states) - 1:
        if episode.terminated:
            bits.append("terminated")
        elif episode.truncated:
            bits.append("truncated")
        if episode.success:
            bits.append("SUCCESS")
    return ", ".join(bits)


def episode_frames(env: Any, params: Any, episode: Episode, title: str | None = None) -> list:
    """One ``uint8[H, W, 3]`` frame per recorded state."""
    returns = episode.returns
    frames: list[np.ndarray] = []
    figsize = None  # fitted on the first frame, then fixed so every frame has one size
    for i, state in enumerate(episode.states):
        frame = render_frame(
            env,
            state,
            params,
            episode_return=returns[i],
            title=title,
            status=_status(episode, i, env.pamdp_space),
            figsize=figsize,
            dpi=DPI,
        )
        if figsize is None:
            figsize = (frame.shape[1] / DPI, frame.shape[0] / DPI)
        frames.append(frame)
    return frames


def save_episode(
    env_id: str,
    out_dir: str,
    seed: int = 0,
    policy: Policy | None = None,
    fmt: str = "both",
    max_steps: int | None = None,
    fps: float = 5.0,
    env_params: tuple[Any, Any] | None = None,
    tries: int = 1,
    **overrides: Any,
) -> list[str]:
    """Roll out one episode of ``env_id`` and write it to ``out_dir``; return the paths written.

    ``fmt``: ``"png"`` (one PNG per state), ``"gif"`` (one animated GIF) or ``"both"``. Files
    are named ``<env_id>_seed<seed>_<step>.png`` and ``<env_id>_seed<seed>.gif``; PNG paths come
    first, in step order. ``overrides`` replace env params (as in ``pamdp_bench.make``);
    ``env_params``: an ``(env, params)`` pair to use instead (a trained run's evaluation env).
    ``tries > 1``: episodes with keys ``seed, seed + 1, ...`` are played until one succeeds,
    and the first success is saved (else the last episode tried).
    """
    from PIL import Image

    from pamdp_bench.registry import make

    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if tries < 1:
        raise ValueError(f"tries must be >= 1, got {tries}")
    env, params = env_params if env_params is not None else make(env_id, **overrides)
    for attempt in range(tries):
        episode = rollout(env, params, jax.random.PRNGKey(seed + attempt), policy=policy,
                          max_steps=max_steps)
        if episode.success:
            break
    frames = episode_frames(env, params, episode, title=env_id)
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"{env_id}_seed{seed}")
    paths: list[str] = []
    if fmt in ("both", "png"):
        for i, frame in enumerate(frames):
            path = f"{stem}_{i:03d}.png"
            Image.fromarray(frame).save(path)
            paths.append(path)
    if fmt in ("both", "gif"):
        path = f"{stem}.gif"
        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(
            path,
            save_all=True,
            append_images=images[1:],
            duration=int(round(1000.0 / fps)),
            loop=0,
        )
        paths.append(path)
    return paths


def render_episode_cli(env_id: str, out_dir: str, seed: int, max_steps: int,
                       run: str | None = None, step: int | None = None,
                       tries: int = 1) -> list[str]:
    """Entry point of ``pamdp-bench render``: an episode to PNG frames + GIF, of the random
    policy or (``run``: a run directory) of seed ``seed``'s trained agent from the run's newest
    checkpoint (or ``step``), acting deterministically in the run's evaluation env.

    ``max_steps <= 0`` means the env's own episode cap.
    """
    steps = max_steps if max_steps > 0 else None
    if run is None:
        return save_episode(env_id, out_dir, seed=seed, fmt="both", max_steps=steps,
                            tries=tries)
    from pamdp_bench.harness.restore import load_trained

    trained = load_trained(run, env_id, step)
    state = trained.state_of(seed)
    agent = trained.agent
    act = jax.jit(lambda key, obs: agent.act(state, obs, key, True))
    return save_episode(env_id, out_dir, seed=seed, policy=act, fmt="both", max_steps=steps,
                        env_params=trained.ep.env_params(training=False), tries=tries)
