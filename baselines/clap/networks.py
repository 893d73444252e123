"""C-LAP's networks (flax.linen): the latent action state-space model, the policy, the critic.

World model (one module, methods called through ``apply(..., method=...)``):

* ``encode(obs)``: observation embedding;
* ``prior(h)`` / ``posterior(h, e)``: Gaussian stochastic state ``s`` given the GRU state ``h``
  (and the embedding); ``feat = [h, s]`` is the latent state the heads read;
* ``action_posterior(feat, a)`` q(u | s, a) and ``action_prior(feat)`` p(u | s): Gaussian
  latent actions, ``a = [onehot(k), z_pad]``;
* ``decode_action(feat, u)`` p(a | s, u): ``common.hybrid_head`` (categorical k, Gaussian
  parameters of every action);
* ``transition(h, s, x)``: the GRU step driven by the latent action ``x = u`` (or, in the
  Dreamer-like ablation without latent actions, ``x = a`` itself);
* ``heads(feat)``: observation reconstruction, reward and continuation logit.

flax.linen rather than ``common.networks``: C-LAP has no original whose initial weights the
suite must reproduce, and flax brings the GRU cell.

[choice] The GRU's recurrent kernels keep flax's orthogonal initialiser, but under ``vmap``
(the harness initialises every seed at once) each seed's QR runs on its own
(``_orthogonal_per_seed``). jaxlib's batched LAPACK QR on the CPU splits a batch over XLA's
intra-op thread pool and waits for it from inside a pool worker; two such QRs at once on a
2-thread pool wait for each other forever (seen: ``vmap`` of ``init`` over 2 or more seeds
never returned, every worker idle in ``ParallelBatchMap``; one seed, or one core, runs). One
matrix at a time runs inline, and gives the same values the batched QR gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common.hybrid_head import HybridHead

Gaussian = tuple[jax.Array, jax.Array]  # (mean, std)


def _orthogonal_per_seed() -> Callable[..., jax.Array]:
    """flax's orthogonal initialiser, one QR per matrix when vmapped (module docstring)."""
    base = nn.initializers.orthogonal()

    def init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        return jax.custom_batching.sequential_vmap(lambda k: base(k, shape, dtype))(key)

    return init


class MLP(nn.Module):
    hidden: tuple[int, ...]
    out: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.elu(nn.Dense(width)(x))
        return nn.Dense(self.out)(x)


def _gaussian(x: jax.Array, min_std: float) -> Gaussian:
    mean, raw = jnp.split(x, 2, axis=-1)
    return mean, jax.nn.softplus(raw) + min_std


class WorldModel(nn.Module):
    obs_dim: int
    num_actions: int
    num_params: int
    hidden: tuple[int, ...]
    deter: int
    stoch: int
    latent_action: int
    min_std: float
    latent_actions: bool = True

    def setup(self) -> None:
        h = self.hidden
        self.encoder = MLP(h[:-1], h[-1])
        self.prior_net = MLP(h[:1], 2 * self.stoch)
        self.post_net = MLP(h[:1], 2 * self.stoch)
        self.gru_in = nn.Dense(h[0])
        self.gru = nn.GRUCell(features=self.deter, recurrent_kernel_init=_orthogonal_per_seed())
        self.obs_head = MLP(h, self.obs_dim)
        self.reward_head = MLP(h, 1)
        self.cont_head = MLP(h, 1)
        if self.latent_actions:
            self.u_post_net = MLP(h, 2 * self.latent_action)
            self.u_prior_net = MLP(h, 2 * self.latent_action)
            self.decoder_trunk = MLP(h[:-1], h[-1])
            self.decoder_head = HybridHead(self.num_actions, self.num_params)

    def encode(self, obs: jax.Array) -> jax.Array:
        return nn.elu(self.encoder(obs))

    def prior(self, h: jax.Array) -> Gaussian:
        return _gaussian(self.prior_net(h), self.min_std)

    def posterior(self, h: jax.Array, embed: jax.Array) -> Gaussian:
        return _gaussian(self.post_net(jnp.concatenate([h, embed], -1)), self.min_std)

    def transition(self, h: jax.Array, s: jax.Array, x: jax.Array) -> jax.Array:
        inp = nn.elu(self.gru_in(jnp.concatenate([s, x], -1)))
        h, _ = self.gru(h, inp)
        return h

    def heads(self, feat: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(observation mean, reward, continuation logit)."""
        return self.obs_head(feat), self.reward_head(feat)[..., 0], self.cont_head(feat)[..., 0]

    def action_posterior(self, feat: jax.Array, action: jax.Array) -> Gaussian:
        return _gaussian(self.u_post_net(jnp.concatenate([feat, action], -1)), self.min_std)

    def action_prior(self, feat: jax.Array) -> Gaussian:
        return _gaussian(self.u_prior_net(feat), self.min_std)

    def decode_action(self, feat: jax.Array, u: jax.Array
                      ) -> tuple[jax.Array, jax.Array, jax.Array]:
        return self.decoder_head(nn.elu(self.decoder_trunk(jnp.concatenate([feat, u], -1))))

    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        """Touches every submodule once (for ``init``)."""
        h = jnp.zeros(obs.shape[:-1] + (self.deter,), obs.dtype)
        mean, _ = self.posterior(h, self.encode(obs))
        _ = self.prior(h)
        feat = jnp.concatenate([h, mean], -1)
        out = sum(jnp.sum(x) for x in self.heads(feat))
        if self.latent_actions:
            u, _ = self.action_posterior(feat, action)
            _ = self.action_prior(feat)
            out = out + sum(jnp.sum(x) for x in self.decode_action(feat, u))
            x = u
        else:
            x = action
        return out + jnp.sum(self.transition(h, mean, x))


class LatentPolicy(nn.Module):
    """x ~ N(mean, std) over the latent action space (C-LAP's policy before the constraint)."""

    hidden: tuple[int, ...]
    size: int

    @nn.compact
    def __call__(self, feat: jax.Array) -> Gaussian:
        mean, raw = jnp.split(MLP(self.hidden, 2 * self.size)(feat), 2, axis=-1)
        return mean, jax.nn.softplus(raw) + 1e-4


class Critic(nn.Module):
    hidden: tuple[int, ...]

    @nn.compact
    def __call__(self, feat: jax.Array) -> jax.Array:
        return MLP(self.hidden, 1)(feat)[..., 0]
