"""HyAR's representation upkeep: the uncounted warm-up, VAE training and the LSC bounds.

A mixin of ``HyARAgent`` (see the agent module docstring for the schedule and the jit / vmap
layout: the rare, expensive pieces run in ``lax.while_loop``s whose trip count is 0 unless some
seed needs them). It reads the agent's ``config``, ``env``, ``space`` and its VAE replays.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from flax.training.train_state import TrainState

from pamdp_bench.baselines.common.offpolicy import OffPolicyState
from pamdp_bench.baselines.hyar import vae as vae_lib


@struct.dataclass
class HyARState(OffPolicyState):
    """The off-policy state (``buffer`` is the RL replay) plus the representation."""

    vae: TrainState
    vae_buffer: Any
    bounds: jax.Array  # [d2, 2] LSC (down, up)
    recon_s: jax.Array  # state-residual loss from the last LSC pass
    vae_loss: jax.Array  # last VAE training loss
    warmed: jax.Array  # bool, warm-up phase done
    warmup_episodes: jax.Array  # int32
    warmup_steps: jax.Array  # int32, uncounted env steps
    vae_pending: jax.Array  # int32, online VAE calls due
    vae_steps: jax.Array  # int32, VAE gradient steps in total




class Representation:
    """Warm-up, ``vae_train`` and the online VAE calls of ``HyARAgent``."""

    def before_chunk(self, s: HyARState) -> HyARState:
        """Random episodes + VAE pre-training + LSC, once (0 iterations once ``warmed``).
        Warm-up steps are not training episodes: ``ep_return`` does not see them."""
        cfg = self.config

        def env_cond(s: HyARState) -> jax.Array:
            return s.warmup_episodes < cfg.warmup_episodes

        def env_block(s: HyARState) -> HyARState:
            return self._warmup_block(s, record=False)[0]

        def phase(s: HyARState) -> HyARState:
            s = jax.lax.while_loop(env_cond, env_block, s)
            s = self._vae_train(s, cfg.vae_pretrain_steps)
            return s.replace(warmed=jnp.bool_(True))

        return jax.lax.while_loop(lambda s: ~s.warmed, phase, s)

    def _warmup_step(self, s: HyARState) -> tuple[HyARState, dict[str, jax.Array]]:
        """One uncounted random step: the state with the step in the VAE replay, and the
        transition (``train_recorded``'s fields)."""
        key, kk, kx, ks = jax.random.split(s.key, 4)
        k = jax.random.randint(kk, (), 0, self.num_actions, dtype=jnp.int32)
        z = jax.random.uniform(kx, (self.num_params,), jnp.float32, -1.0, 1.0)
        obs, env_state, reward, term, trunc, info = self.env.step(ks, s.env_state, (k, z),
                                                                  self.env_params)
        item = {"obs": s.obs, "k": k, "x": self.space.to_padded((k, z))[1],
                "ds": info["final_observation"] - s.obs}
        done = (term | trunc).astype(jnp.int32)
        s2 = s.replace(key=key, env_state=env_state, obs=obs,
                       vae_buffer=self.vae_replay.add(s.vae_buffer, item),
                       warmup_episodes=s.warmup_episodes + done,
                       warmup_steps=s.warmup_steps + 1)
        return s2, {"obs": s.obs, "k": k, "z": z, "reward": reward.astype(jnp.float32),
                    "next_obs": info["final_observation"], "terminated": term,
                    "truncated": trunc, "success": info["success"]}

    def _warmup_block(self, s: HyARState, record: bool
                      ) -> tuple[HyARState, dict[str, jax.Array] | None]:
        """``warmup_block`` warm-up steps (the unit the warm-up loop runs in); with
        ``record``, their transitions stacked."""

        def one(c: HyARState, _: None) -> tuple[HyARState, Any]:
            c, rec = self._warmup_step(c)
            return c, (rec if record else None)

        return jax.lax.scan(one, s, None, length=self.config.warmup_block)

    def warmup_recorded(self, s: HyARState) -> tuple[HyARState, dict[str, np.ndarray] | None]:
        """``before_chunk`` on a host loop that keeps every warm-up transition: the same
        blocks while fewer than ``warmup_episodes`` episodes have ended, then ``before_chunk``
        (its env loop has nothing left to run: VAE pre-training, LSC, ``warmed``). Returns
        the warmed state and the transitions in order (None if ``s`` was already warmed).
        Unbatched states only; for the datasets' ``medium-replay`` ("warm-up included")."""
        if bool(s.warmed):
            return s, None
        block = jax.jit(lambda s: self._warmup_block(s, record=True))
        parts = []
        while int(s.warmup_episodes) < self.config.warmup_episodes:
            s, rec = block(s)
            parts.append(jax.device_get(rec))
        s = jax.jit(self.before_chunk)(s)
        return s, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _vae_train(self, s: HyARState, train_step: int) -> HyARState:
        """The original ``vae_train``: steps with its convergence check, then the LSC pass."""
        cfg = self.config
        hist0 = jnp.zeros((10,), jnp.float32)  # newest first

        def cond(c: tuple) -> jax.Array:
            _, _, n, _, done, _ = c
            return (~done) & (n < train_step + 10)

        def body(c: tuple) -> tuple:
            vae, key, n, hist, _, _ = c
            key, ks, kl = jax.random.split(key, 3)
            batch = self.vae_replay.sample(s.vae_buffer, ks).experience
            (loss, _), g = jax.value_and_grad(vae_lib.vae_loss, has_aux=True)(
                vae.params, kl, batch, state_weight=cfg.state_recon_weight,
                param_weight=cfg.param_recon_weight, kl_weight=cfg.kl_weight,
                log_std_min=cfg.log_std_min, log_std_max=cfg.log_std_max)
            if cfg.vae_fresh_adam:
                vae = vae.replace(opt_state=vae.tx.init(vae.params))
            vae = vae.apply_gradients(grads=g)
            hist = jnp.concatenate([loss[None], hist[:-1]])
            n = n + 1
            done = (n >= train_step) & converged(hist, n, cfg.vae_converge_tol)
            return vae, key, n, hist, done, loss

        key, k_lsc = jax.random.split(s.key)
        c = (s.vae, key, jnp.int32(0), hist0, jnp.bool_(False), s.vae_loss)
        vae, key, n, _, _, loss = jax.lax.while_loop(cond, body, c)
        bounds, recon_s = self._lsc(vae.params, s.vae_buffer, k_lsc)
        return s.replace(vae=vae, key=key, vae_loss=loss, bounds=bounds, recon_s=recon_s,
                         vae_steps=s.vae_steps + n)

    def _lsc(self, vae: Any, buffer: Any, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``get_c_rate``: LSC bounds from encoder samples and the state-residual loss."""
        cfg = self.config
        ks, kf, kz = jax.random.split(key, 3)
        b = self.lsc_replay.sample(buffer, ks).experience
        e_k = vae_lib.embed(vae, b["k"])
        _, ds_hat, mean, std = vae_lib.forward(vae, kf, b["obs"], e_k, b["x"], cfg.log_std_min,
                                               cfg.log_std_max)
        z = mean + std * jax.random.normal(kz, std.shape)
        return (vae_lib.latent_bounds(z, cfg.lsc_range_rate),
                jnp.mean((ds_hat - b["ds"]) ** 2))

    def _online_vae(self, s: HyARState) -> HyARState:
        """At a sync step (``env_steps % vae_sync_steps == 0``) run the due
        ``vae_train(vae_online_steps)`` calls (usually none: 0 iterations).

        With ``vae_sync_steps=1`` every call runs at the step its episode ended, as in the
        original (an env step ends at most one episode). With a larger interval the calls of
        several episodes run back to back at the next sync step. Every seed shares
        ``env_steps``, so under ``vmap`` all seeds train on the same steps and a seed's call no
        longer makes the others compute a masked-out call at every episode end of any seed.
        """
        # The carry leaves the replay buffers out: a batched while_loop selects its whole
        # carry per iteration, and the buffers are read-only here.
        names = ("vae", "key", "bounds", "recon_s", "vae_loss", "vae_steps", "vae_pending")
        at_sync = s.env_steps % self.config.vae_sync_steps == 0

        def body(c: tuple) -> tuple:
            t = self._vae_train(s.replace(**dict(zip(names, c, strict=True))),
                                self.config.vae_online_steps)
            return tuple(getattr(t, n) for n in names[:-1]) + (c[-1] - 1,)

        c = jax.lax.while_loop(lambda c: at_sync & (c[-1] > 0), body,
                               tuple(getattr(s, n) for n in names))
        return s.replace(**dict(zip(names, c, strict=True)))


def converged(hist: jax.Array, n: jax.Array, tol: float) -> jax.Array:
    """``mean(last 5) + tol >= mean(last 10)`` over the ``n`` losses so far (newest first in
    ``hist [10]``), as in the original's ``vae_train`` (fewer than 5/10: all of them)."""
    idx = jnp.arange(hist.shape[0])

    def mean_last(m: int) -> jax.Array:
        cnt = jnp.minimum(n, m)
        return jnp.sum(jnp.where(idx < cnt, hist, 0.0)) / jnp.maximum(cnt, 1)

    return mean_last(5) + tol >= mean_last(10)
