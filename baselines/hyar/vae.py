"""HyAR's hybrid action representation: embedding table + conditional VAE, as pure functions.

Faithful to ``embedding/ActionRepresentation_vae.py`` (HyAR code @ ``ece9562``, spec §7.1):

* Embedding table ``E [K, d1]``, init U[-1, 1]; the embedding of k is ``tanh(E[k])``; a latent
  discrete vector decodes to the nearest (L2) row of ``tanh(E)``.
* Encoder: ``relu(W(s, e_k)) * relu(W(x_k))`` -> 2 ReLU layers -> ``mean``, ``log_std``
  (clamped to [-4, 15]); ``z = mean + std * eps``.
* Decoder: ``relu(W(s, e_k)) * relu(W(z))`` -> 2 ReLU layers -> parameter head (tanh); the
  cascaded state head is one more ReLU layer after those -> ``tanh(delta s)`` (it predicts
  ``s' - s``).
* Loss: ``MSE(ds_hat, s' - s) + 2 MSE(x_hat, x_k) + 0.5 KL`` with element means (PyTorch's
  ``mse_loss`` and ``KL.mean()``).
* LSC bounds (``get_c_rate`` / ``z_range``): per latent dim, over ``N`` encoder samples,
  ``border = int(range_rate * N / 100)``; ``down = sorted[border]``, ``up = sorted[N-border-1]``;
  the actor's ``a in [-1, 1]`` maps to ``a * (up - down) / 2 + (up + down) / 2``.

``x_k`` is action k's parameters padded to ``max_param_dim`` with zeros (the Platform code's VAE
reconstructs the chosen action's 1-D parameter) [choice for multi-dim padding].
Initialisation: PyTorch ``nn.Linear`` default ``U(+-1/sqrt(fan_in))`` for weights and biases
(``common.networks.init_linear``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pamdp_bench.baselines.common.networks import init_linear as _linear
from pamdp_bench.baselines.common.networks import linear as _apply

VAEParams = dict


def init_vae(key: jax.Array, obs_dim: int, num_actions: int, d1: int, param_dim: int,
             d2: int, hidden: int) -> VAEParams:
    """All representation parameters, the embedding table included (trained together)."""
    ks = jax.random.split(key, 13)
    se = obs_dim + d1
    return {
        "emb": jax.random.uniform(ks[0], (num_actions, d1), jnp.float32, -1.0, 1.0),
        "e0_s": _linear(ks[1], se, hidden), "e0_x": _linear(ks[2], param_dim, hidden),
        "e1": _linear(ks[3], hidden, hidden), "e2": _linear(ks[4], hidden, hidden),
        "mean": _linear(ks[5], hidden, d2), "log_std": _linear(ks[6], hidden, d2),
        "d0_s": _linear(ks[7], se, hidden), "d0_z": _linear(ks[8], d2, hidden),
        "d1": _linear(ks[9], hidden, hidden), "d2": _linear(ks[10], hidden, hidden),
        "x_out": _linear(ks[11], hidden, param_dim),
        "d3": _linear(ks[12], hidden, hidden),
        "ds_out": _linear(jax.random.fold_in(ks[12], 1), hidden, obs_dim),
    }


def embeddings(p: VAEParams) -> jax.Array:
    """``tanh(E)``: ``[K, d1]``."""
    return jnp.tanh(p["emb"])


def embed(p: VAEParams, k: jax.Array) -> jax.Array:
    """``tanh(E[k])`` for int ``k [...]`` -> ``[..., d1]``."""
    return jnp.tanh(p["emb"][k])


def nearest(p: VAEParams, d_emb: jax.Array) -> jax.Array:
    """The discrete action whose embedding is nearest (L2) to ``d_emb [..., d1]``; int32."""
    table = embeddings(p)
    d2 = jnp.sum((d_emb[..., None, :] - table) ** 2, axis=-1)
    return jnp.argmin(d2, axis=-1).astype(jnp.int32)


def encode(p: VAEParams, obs: jax.Array, e_k: jax.Array, x: jax.Array,
           log_std_min: float = -4.0, log_std_max: float = 15.0) -> tuple[jax.Array, jax.Array]:
    """``(mean, std)`` of ``q(z | s, e_k, x_k)``."""
    h = jax.nn.relu(_apply(p["e0_s"], jnp.concatenate([obs, e_k], -1)))
    h = h * jax.nn.relu(_apply(p["e0_x"], x))
    h = jax.nn.relu(_apply(p["e1"], h))
    h = jax.nn.relu(_apply(p["e2"], h))
    log_std = jnp.clip(_apply(p["log_std"], h), log_std_min, log_std_max)
    return _apply(p["mean"], h), jnp.exp(log_std)


def decode(p: VAEParams, obs: jax.Array, z: jax.Array,
           e_k: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(x_hat, ds_hat)``: parameters (tanh) and predicted ``s' - s`` (tanh)."""
    v = jax.nn.relu(_apply(p["d0_s"], jnp.concatenate([obs, e_k], -1)))
    v = v * jax.nn.relu(_apply(p["d0_z"], z))
    v = jax.nn.relu(_apply(p["d1"], v))
    v = jax.nn.relu(_apply(p["d2"], v))
    x_hat = jnp.tanh(_apply(p["x_out"], v))
    v = jax.nn.relu(_apply(p["d3"], v))
    return x_hat, jnp.tanh(_apply(p["ds_out"], v))


def forward(p: VAEParams, key: jax.Array, obs: jax.Array, e_k: jax.Array, x: jax.Array,
            log_std_min: float = -4.0, log_std_max: float = 15.0
            ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(x_hat, ds_hat, mean, std)`` with the reparameterised sample ``z``."""
    mean, std = encode(p, obs, e_k, x, log_std_min, log_std_max)
    z = mean + std * jax.random.normal(key, std.shape, std.dtype)
    x_hat, ds_hat = decode(p, obs, z, e_k)
    return x_hat, ds_hat, mean, std


def vae_loss_terms(x_hat: jax.Array, ds_hat: jax.Array, mean: jax.Array, std: jax.Array,
                   x: jax.Array, ds: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(recon_s, recon_x, kl)``, each an element mean (unweighted)."""
    recon_s = jnp.mean((ds_hat - ds) ** 2)
    recon_x = jnp.mean((x_hat - x) ** 2)
    kl = -0.5 * jnp.mean(1.0 + jnp.log(std**2) - mean**2 - std**2)
    return recon_s, recon_x, kl


def vae_loss(p: VAEParams, key: jax.Array, batch: dict[str, jax.Array], *,
             state_weight: float = 1.0, param_weight: float = 2.0, kl_weight: float = 0.5,
             log_std_min: float = -4.0, log_std_max: float = 15.0
             ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """HyAR's VAE loss on ``batch`` (``obs``, ``k``, ``x`` padded params, ``ds = s' - s``)."""
    e_k = embed(p, batch["k"])
    x_hat, ds_hat, mean, std = forward(p, key, batch["obs"], e_k, batch["x"], log_std_min,
                                       log_std_max)
    rs, rx, kl = vae_loss_terms(x_hat, ds_hat, mean, std, batch["x"], batch["ds"])
    loss = state_weight * rs + param_weight * rx + kl_weight * kl
    return loss, {"recon_s": rs, "recon_x": rx, "kl": kl}


def latent_bounds(z: jax.Array, range_rate: float) -> jax.Array:
    """LSC: ``[d2, 2]`` of ``(down, up)`` per latent dim from samples ``z [N, d2]``."""
    n = z.shape[0]
    border = int(range_rate * (n / 100))
    s = jnp.sort(z, axis=0)
    return jnp.stack([s[border], s[n - border - 1]], axis=-1)


def to_latent(a: jax.Array, bounds: jax.Array) -> jax.Array:
    """Actor space [-1, 1] -> VAE latent: ``a * (up - down) / 2 + offset``."""
    half = (bounds[:, 1] - bounds[:, 0]) / 2.0
    return a * half + (bounds[:, 1] - half)


def from_latent(z: jax.Array, bounds: jax.Array) -> jax.Array:
    """VAE latent -> actor space (inverse of ``to_latent``; may leave [-1, 1])."""
    half = (bounds[:, 1] - bounds[:, 0]) / 2.0
    return (z - (bounds[:, 1] - half)) / jnp.maximum(half, 1e-6)  # guard a collapsed dim
