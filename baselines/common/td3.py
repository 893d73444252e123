"""Actor-critic learner pieces shared by the P-DQN, PA-DDPG and HyAR families (TD3 and DDPG).

* ``ActorCritic``: the learner state (actor and critic ``TrainState``s, target parameters).
* Twin critics: ``init_critics`` stacks critics on a leading axis (``vmap`` of the init over
  split keys, as the originals' two independently initialised networks); ``each_critic``
  evaluates all of them, ``min_critic`` is TD3's clipped double-Q target, ``first_critic`` the
  critic the actor ascends.
* ``smoothing_noise``: TD3's target-policy smoothing ``clip(N(0, std^2), +-clip)``.
* ``is_delayed``: TD3 counts updates from 1 (``total_it += 1`` before the check), so the actor
  and the targets move on the ``policy_delay``-th, 2 ``policy_delay``-th, ... update.
* ``actor_critic_update``: critic step, actor step through the *updated* critic, Polyak target
  updates, and (with a delay) the actor and both targets kept unless the update is delayed's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training.train_state import TrainState

from pamdp_bench.baselines.common.control import tree_where
from pamdp_bench.baselines.common.optim import train_state


@struct.dataclass
class ActorCritic:
    actor: TrainState
    actor_target: Any
    critic: TrainState  # stacked on a leading axis when the agent has several critics
    critic_target: Any

    @classmethod
    def create(cls, actor: Any, actor_tx: optax.GradientTransformation, critic: Any,
               critic_tx: optax.GradientTransformation) -> ActorCritic:
        """Fresh optimiser states; targets start as copies of the networks."""
        return cls(actor=train_state(actor, actor_tx), actor_target=actor,
                   critic=train_state(critic, critic_tx), critic_target=critic)


def init_critics(init: Callable[[jax.Array], Any], key: jax.Array, num: int | None) -> Any:
    """``num`` critics stacked on a leading axis (``init`` over ``split(key, num)``), or one
    unstacked critic from ``key`` itself when ``num`` is None."""
    return init(key) if num is None else jax.vmap(init)(jax.random.split(key, num))


def each_critic(q_fn: Callable[..., jax.Array], params: Any, *args: jax.Array) -> jax.Array:
    """``q_fn`` of every stacked critic: ``[num_critics, ...]`` (the inputs are shared)."""
    return jax.vmap(q_fn, in_axes=(0,) + (None,) * len(args))(params, *args)


def min_critic(q_fn: Callable[..., jax.Array], params: Any, *args: jax.Array) -> jax.Array:
    """Clipped double Q: the element-wise minimum over the stacked critics."""
    return jnp.min(each_critic(q_fn, params, *args), axis=0)


def target_q(q_fn: Callable[..., jax.Array], params: Any, twin: bool,
             *args: jax.Array) -> jax.Array:
    """The bootstrap critic value: ``min_critic`` over twins, else the one critic."""
    return min_critic(q_fn, params, *args) if twin else q_fn(params, *args)


def smoothed(action: jax.Array, noise: jax.Array | None) -> jax.Array:
    """A target action with (already clipped) smoothing noise, clipped to [-1, 1]."""
    return action if noise is None else jnp.clip(action + noise, -1.0, 1.0)


def first_critic(params: Any) -> Any:
    """Critic 0 of stacked critics (the one the actor ascends)."""
    return jax.tree.map(lambda a: a[0], params)


def smoothing_noise(key: jax.Array, shape: tuple[int, ...], std: float,
                    clip: float) -> jax.Array:
    """Target-policy smoothing noise ``clip(std * N(0, 1), -clip, clip)``."""
    return jnp.clip(std * jax.random.normal(key, shape, jnp.float32), -clip, clip)


def is_delayed(updates: jax.Array, policy_delay: int) -> jax.Array:
    """Whether update number ``updates`` (0-based, before this update) moves the actor."""
    return (updates + 1) % policy_delay == 0


LossFn = Callable[..., tuple[jax.Array, Any]]


def actor_critic_update(ac: ActorCritic, critic_loss: LossFn, actor_loss: LossFn, *,
                        tau_critic: float, tau_actor: float,
                        actor_critic_of: Callable[[Any], Any],
                        delayed: jax.Array | None = None
                        ) -> tuple[ActorCritic, tuple[jax.Array, Any], tuple[jax.Array, Any]]:
    """One learner update; returns ``(ac, (critic loss, aux), (actor loss, aux))``.

    ``critic_loss(critic_params) -> (loss, aux)``, ``actor_loss(actor_params, critic) ->
    (loss, aux)`` with ``critic = actor_critic_of(updated critic params)``. With ``delayed``
    (a bool) the actor, its target and the critic target take their new values only where it
    holds (TD3); the critic itself always moves. The actor loss is returned whether or not it
    was applied.
    """
    (loss_c, aux_c), g_c = jax.value_and_grad(critic_loss, has_aux=True)(ac.critic.params)
    critic = ac.critic.apply_gradients(grads=g_c)
    (loss_a, aux_a), g_a = jax.value_and_grad(actor_loss, has_aux=True)(
        ac.actor.params, actor_critic_of(critic.params))
    actor = ac.actor.apply_gradients(grads=g_a)
    new = ActorCritic(
        actor=actor, actor_target=optax.incremental_update(actor.params, ac.actor_target,
                                                           tau_actor),
        critic=critic, critic_target=optax.incremental_update(critic.params, ac.critic_target,
                                                              tau_critic))
    if delayed is not None:
        kept = tree_where(delayed, (new.actor, new.actor_target, new.critic_target),
                          (ac.actor, ac.actor_target, ac.critic_target))
        new = new.replace(actor=kept[0], actor_target=kept[1], critic_target=kept[2])
    return new, (loss_c, aux_c), (loss_a, aux_a)


def configured_update(ac: ActorCritic, cfg: Any, updates: jax.Array, noise_key: jax.Array,
                      noise_shape: tuple[int, ...], critic_loss: LossFn, actor_loss: LossFn,
                      actor_critic_of: Callable[[Any], Any]
                      ) -> tuple[ActorCritic, tuple[jax.Array, Any], tuple[jax.Array, Any]]:
    """``actor_critic_update`` as a config with the shared field names asks for it:
    ``twin`` (TD3: smoothing noise of ``noise_shape`` from ``target_noise`` /
    ``target_noise_clip``, none if ``target_noise`` is 0; delay ``policy_delay``),
    ``tau_critic``, ``tau_actor``.
    ``critic_loss(critic_params, noise)`` gets None without ``twin``."""
    noise = (smoothing_noise(noise_key, noise_shape, cfg.target_noise, cfg.target_noise_clip)
             if cfg.twin and cfg.target_noise > 0 else None)
    return actor_critic_update(
        ac, lambda c: critic_loss(c, noise), actor_loss, tau_critic=cfg.tau_critic,
        tau_actor=cfg.tau_actor, actor_critic_of=actor_critic_of,
        delayed=is_delayed(updates, cfg.policy_delay) if cfg.twin else None)
