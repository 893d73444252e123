"""The off-policy training loop of the P-DQN, PA-DDPG and HyAR families (and QMLE, FLEXplore,
C-LAP, BC to come): an agent supplies its networks, how it acts while training, what it
stores and its update; this module runs the rest.

Per env step (one ``lax.scan`` iteration of ``train``):

1. ``key`` splits into ``[next key, ACT_KEYS acting keys, env-step key, update key]``.
2. ``explore(state, act_keys) -> ((k, z), aux, state)``: the executed action, whatever the
   agent needs to build its replay item, and the state with its exploration state advanced.
3. The env steps (auto-reset as always; the running episode return is the state's
   ``ep_return``, see below), then ``transition(state, aux, reward, next_obs, ends)`` is
   added to the flashbax replay: ``next_obs`` is the pre-reset final observation, ``ends`` the
   no-bootstrap flag (``ends``; by default ``common.ends_value``: termination, plus truncation
   with a clock).
4. ``after_step(state, item, done)``: agent bookkeeping on the new state with the stored
   item (HyAR: its VAE buffer).
5. Once ``env_steps >= learning_starts`` (an int the agent sets): ``update(learner, state,
   key) -> (learner, metrics)`` under ``lax.cond``; the skip branch returns zero metrics of
   the update's shapes (``jax.eval_shape``). ``updates`` counts the applied updates.
6. ``after_update(state)``: agent bookkeeping (HyAR: its online VAE training).

With ``config.end_episode_at_eval`` (a field an agent's config may have; False if absent) the
last step of every ``train`` call also ends the running training episode: the env is reset
(key ``fold_in(env-step key, 1)``, so the other streams are unchanged) and the episode counts
as finished (``done`` for ``after_step``, ``episodes``, the return statistics); the stored
transition is untouched (it bootstraps, as it did in the originals, whose flag was False).
The harness calls ``train`` once per evaluation interval, so this ends the episode at each
evaluation point, as HyAR's Platform / Goal scripts do (they play the episode out without
storing or counting the steps, then start a new one).

Agents that learn less often than every env step (QMLE: one update per 10) set
``train_every > 1``: a chunk is then a scan over blocks of ``train_every`` env steps (steps 1-4,
the update key unused) each followed by one ``learn``, so the update is traced once per block
instead of being ``lax.cond``-ed every step (under the seed ``vmap`` a cond on a per-seed
counter runs both branches, which would cost an update per env step). A chunk that is not a
whole number of blocks takes the per-step path with a ``lax.cond`` on ``env_steps`` being a
multiple of ``train_every`` instead (same schedule, slower under ``vmap``); the harness's eval
intervals are whole blocks, so its chunks start and end on multiples of ``train_every``.
``learn(state, key) -> (state, metrics)`` is the step-5
hook; its default applies ``update`` under the ``learning_starts`` gate, and agents whose
update also writes to the replay (prioritised replay, stored argmaxes) override it.

``train(state, n)`` runs ``before_chunk`` (HyAR's uncounted warm-up) and then ``n`` env steps
with ``common.scan_sums``, and reports each update metric averaged over the chunk's updates
(``chunk_metrics``, overridable) plus the shared ``updates_in_chunk``,
``train_episode_return`` (mean return of the episodes that ended in the chunk, NaN if none),
``episodes`` and ``env_steps``.

``init`` splits its key into ``[INIT_KEYS learner keys, env-reset key, next key]`` and asks
``init_parts(keys, obs) -> (learner, example replay item, extra state fields)``.

The key layouts are each original agent's own (they fix every number of the committed results).

Episode statistics: tracked here (``ep_return``), not with ``envs.wrappers.LogWrapper``. The
wrapper computes the same returns, but stepping the env through it changes how XLA fuses the
env's arithmetic with the rest of the step (CPU FMA contraction), which moved Catch Point and
Hard Move observations by an ulp after a dozen steps: the results were no longer bitwise those
of the original agents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from pamdp_bench.baselines.common.binding import EnvBound
from pamdp_bench.baselines.common.control import ends_value, scan_sums, tree_where
from pamdp_bench.baselines.common.replay import make_replay

#: Per-step sums the loop itself adds to an update's metrics.
_LOOP_SUMS = ("learned", "finished_return", "finished")


@struct.dataclass
class OffPolicyState:
    """What every off-policy agent carries; agents subclass it for their extra fields."""

    key: jax.Array
    env_state: Any
    obs: jax.Array
    learner: Any  # the agent's networks, optimiser states and targets (e.g. td3.ActorCritic)
    buffer: Any  # flashbax replay state
    env_steps: jax.Array  # int32, counted toward the budget
    episodes: jax.Array  # int32, finished training episodes
    updates: jax.Array  # int32, learner updates done
    ep_return: jax.Array  # float32, return of the running training episode


class OffPolicyAgent(EnvBound):
    """Base of the off-policy agents: ``init``, ``train`` and the per-step loop."""

    name: ClassVar[str] = ""
    #: Keys of ``init_parts`` and of ``explore`` (part of each agent's key layout).
    INIT_KEYS: ClassVar[int] = 2
    ACT_KEYS: ClassVar[int] = 1
    STATE: ClassVar[type] = OffPolicyState
    #: Env steps per ``learn`` (module docstring); 1 = the per-step loop.
    train_every: int = 1

    def __init__(self, env: Any, env_params: Any, config: Any = None) -> None:
        super().__init__(env, env_params, config)
        self.replay = make_replay(self.config.buffer_size, self.config.batch_size)
        self.learning_starts = self.config.learning_starts

    # --------------------------------------------------------------- agent hooks
    def init_parts(self, keys: Sequence[jax.Array], obs: jax.Array
                   ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        raise NotImplementedError

    def explore(self, s: Any, keys: Sequence[jax.Array]) -> tuple[tuple, Any, Any]:
        raise NotImplementedError

    def transition(self, s: Any, aux: Any, reward: jax.Array, next_obs: jax.Array,
                   ends: jax.Array) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, learner: Any, s: Any, key: jax.Array) -> tuple[Any, dict[str, jax.Array]]:
        raise NotImplementedError

    def after_step(self, s: Any, item: dict[str, Any], done: jax.Array) -> Any:
        return s

    def after_update(self, s: Any) -> Any:
        return s

    def before_chunk(self, s: Any) -> Any:
        return s

    def chunk_metrics(self, s: Any, sums: dict[str, jax.Array],
                      denom: jax.Array) -> dict[str, jax.Array]:
        """The agent's metrics of a chunk: by default each update metric over the updates."""
        return {k: v / denom for k, v in sums.items() if k not in _LOOP_SUMS}

    # --------------------------------------------------------------- protocol
    def init(self, key: jax.Array) -> Any:
        keys = jax.random.split(key, self.INIT_KEYS + 2)
        obs, env_state = self.env.reset(keys[-2], self.env_params)
        learner, item, extra = self.init_parts(keys[:-2], obs)
        i0 = jnp.int32(0)
        return self.STATE(key=keys[-1], env_state=env_state, obs=obs, learner=learner,
                          buffer=self.replay.init(item), env_steps=i0, episodes=i0,
                          updates=i0, ep_return=jnp.float32(0.0), **extra)

    def train(self, state: Any, num_env_steps: int) -> tuple[Any, dict[str, jax.Array]]:
        state = self.before_chunk(state)
        cut = bool(getattr(self.config, "end_episode_at_eval", False))
        every = int(self.train_every)
        if every == 1:
            state, sums = scan_sums(self._env_step, state, num_env_steps, last_flag=cut)
        else:
            if cut:
                raise ValueError(f"{type(self).__name__}: end_episode_at_eval needs "
                                 f"train_every = 1 (it has {every})")
            if num_env_steps % every:
                state, sums = scan_sums(self._env_step_every, state, num_env_steps)
            else:
                state, sums = scan_sums(self._block, state, num_env_steps // every)
        return state, self._chunk_report(state, sums)

    def unrecorded_steps(self) -> str | None:
        """Why ``train_recorded`` cannot record every transition this agent collects, or None
        when it can."""
        if int(self.train_every) != 1:
            return "recording needs train_every = 1"
        if (type(self).before_chunk is not OffPolicyAgent.before_chunk
                and type(self).warmup_recorded is OffPolicyAgent.warmup_recorded):
            return "its warm-up steps (before_chunk) are not recorded"
        return None

    def warmup_recorded(self, s: Any) -> tuple[Any, dict[str, np.ndarray] | None]:
        """``before_chunk`` keeping the transitions it collects (``train_recorded``'s fields,
        host arrays in order), for agents whose warm-up collects uncounted env steps; None
        when it collects none (the default: no warm-up). Call it before the first
        ``train_recorded``, which otherwise runs the warm-up unrecorded."""
        return s, None

    def train_recorded(self, state: Any, num_env_steps: int
                       ) -> tuple[Any, dict[str, jax.Array], dict[str, jax.Array]]:
        """``train`` that also returns every transition it collected, stacked ``[n]``: the
        pre-step ``obs``, executed ``k`` and ``z``, ``reward``, ``next_obs`` (pre-reset),
        ``terminated``, ``truncated`` (the env's step cap, or the episode cut at the chunk's
        end by ``end_episode_at_eval``) and ``success``. What the offline datasets'
        ``medium-replay`` is made of. Needs ``train_every = 1``, and an agent with an uncounted
        warm-up (``before_chunk``) records it with ``warmup_recorded`` first."""
        why = self.unrecorded_steps()
        if why:
            raise ValueError(f"{type(self).__name__}: {why}")
        cut = bool(getattr(self.config, "end_episode_at_eval", False))
        step = lambda s, last=None: self._env_step(s, last, record=True)  # noqa: E731
        state, sums = scan_sums(step, state, num_env_steps, last_flag=cut, stack="record")
        record = sums.pop("record")
        return state, self._chunk_report(state, sums), record

    def _chunk_report(self, state: Any, sums: dict[str, jax.Array]) -> dict[str, jax.Array]:
        n_upd, n_ep = sums["learned"], sums["finished"]
        denom = jnp.maximum(n_upd, 1).astype(jnp.float32)
        metrics = self.chunk_metrics(state, sums, denom)
        metrics.update({
            "updates_in_chunk": n_upd,
            "train_episode_return": jnp.where(
                n_ep > 0, sums["finished_return"] / jnp.maximum(n_ep, 1), jnp.nan),
            "episodes": state.episodes,
            "env_steps": state.env_steps,
        })
        return metrics

    # --------------------------------------------------------------- the step
    def _env_step(self, s: Any, last: jax.Array | None = None, record: bool = False
                  ) -> tuple[Any, dict[str, jax.Array]]:
        s, m, learn_key = self._collect(s, last, record)
        s, lm = self.learn(s, learn_key)
        s = self.after_update(s)
        return s, {**lm, **m}

    def _block(self, s: Any) -> tuple[Any, dict[str, jax.Array]]:
        """``train_every`` env steps, then one ``learn``."""
        s, sums = scan_sums(lambda c: self._collect(c)[:2], s, int(self.train_every))
        return self._learn_after_collect(s, sums, None)

    def _env_step_every(self, s: Any) -> tuple[Any, dict[str, jax.Array]]:
        """One env step, then ``learn`` if ``env_steps`` is a multiple of ``train_every`` (the
        path of chunks that are not whole blocks: a ``lax.cond`` per step)."""
        s, m = self._collect(s)[:2]
        return self._learn_after_collect(s, m, s.env_steps % self.train_every == 0)

    def _learn_after_collect(self, s: Any, sums: dict[str, jax.Array], now: jax.Array | None
                             ) -> tuple[Any, dict[str, jax.Array]]:
        """``learn`` with a key split off the state's (always, or where ``now``: zero metrics
        else), then ``after_update``; the step / block sums are merged into the metrics."""
        key, learn_key = jax.random.split(s.key)
        s = s.replace(key=key)
        if now is None:
            s, lm = self.learn(s, learn_key)
        else:
            skip = lambda s, k: (s, _zero_metrics(self.learn, s, k))  # noqa: E731
            s, lm = jax.lax.cond(now, self.learn, skip, s, learn_key)
        return self.after_update(s), {**lm, **sums}

    def _collect(self, s: Any, last: jax.Array | None = None, record: bool = False
                 ) -> tuple[Any, dict[str, jax.Array], jax.Array]:
        """Steps 1-4 of one env step; returns the state, the episode sums and the update key
        (with ``record``, the sums also hold the transition under ``record``)."""
        obs_before = s.obs
        keys = jax.random.split(s.key, self.ACT_KEYS + 3)
        action, aux, s = self.explore(s, keys[1:-2])
        obs, env_state, reward, terminated, truncated, info = self.env.step(
            keys[-2], s.env_state, action, self.env_params)
        reward = reward.astype(jnp.float32)
        item = self.transition(s, aux, reward, info["final_observation"],
                               self.ends(terminated, truncated))
        done = terminated | truncated
        cut = jnp.bool_(False)
        if last is not None:  # end_episode_at_eval: cut a running episode on the last step
            cut = last & ~done
            obs, env_state = jax.lax.cond(
                last, lambda: tree_where(cut, self.env.reset(
                    jax.random.fold_in(keys[-2], 1), self.env_params), (obs, env_state)),
                lambda: (obs, env_state))
            done = done | cut
        ep_return = s.ep_return + reward
        s = s.replace(key=keys[0], env_state=env_state, obs=obs,
                      buffer=self.replay.add(s.buffer, item), env_steps=s.env_steps + 1,
                      episodes=s.episodes + done.astype(jnp.int32),
                      ep_return=jnp.where(done, 0.0, ep_return))
        s = self.after_step(s, item, done)
        m = {"finished_return": jnp.where(done, ep_return, 0.0),
             "finished": done.astype(jnp.int32)}
        if record:
            k, z = action
            m["record"] = {"obs": obs_before, "k": jnp.asarray(k, jnp.int32),
                           "z": jnp.asarray(z, jnp.float32), "reward": reward,
                           "next_obs": info["final_observation"], "terminated": terminated,
                           "truncated": truncated | cut, "success": info["success"]}
        return s, m, keys[-1]

    def ends(self, terminated: jax.Array, truncated: jax.Array) -> jax.Array:
        """The stored no-bootstrap flag of a transition: the suite's convention
        (``common.ends_value``); an agent with a config field that changes it overrides this."""
        return ends_value(self.env, self.env_params, terminated, truncated)

    def learn(self, s: Any, key: jax.Array) -> tuple[Any, dict[str, jax.Array]]:
        """Step 5: ``update`` once ``env_steps >= learning_starts`` (zero metrics before);
        returns the state and the update's metrics plus ``learned`` (0 / 1)."""
        learned = s.env_steps >= self.learning_starts
        learner, m = jax.lax.cond(learned, self.update, self._skip_update, s.learner, s, key)
        s = s.replace(learner=learner, updates=s.updates + learned.astype(jnp.int32))
        return s, {**m, "learned": learned.astype(jnp.int32)}

    def _skip_update(self, learner: Any, s: Any, key: jax.Array) -> tuple[Any, dict]:
        return learner, _zero_metrics(self.update, learner, s, key)


def _zero_metrics(fn: Any, *args: Any) -> dict[str, jax.Array]:
    """Zeros shaped like the metrics (second output) of ``fn(*args)``: what a skipped
    ``lax.cond`` branch returns."""
    shapes = jax.eval_shape(fn, *args)[1]
    return jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes)
