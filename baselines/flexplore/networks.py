"""FLEXplore's extra networks as pure functions over parameter dicts, in DLPA's style.

* Critic f_W(s, k, z, s'): 2 x ``disc_hidden`` ReLU -> 1, spectrally normalised (every layer's
  weight divided by its largest singular value, estimated by one power iteration per update
  from a persistent vector, as ``torch.nn.utils.spectral_norm`` does in training mode).
* Discrete policy pi_beta(k | s): ``policy_hidden`` x 2 ReLU -> K logits.
* Parameter policy p_theta(z | s, k): [s, embedding(k)] -> 2 x ``policy_hidden`` ReLU ->
  mean (through tanh) and clipped log-std of the padded parameters; the density counts k's own
  parameter dimensions only (0 for actions without parameters).

The one-hot k of the critic's and the parameter policy's input is a row lookup of the first
layer's weight (what DLPA's model does), so K = 65,536 costs a table, not a 65,536-wide input
per sample. That is why these are not ``flax.linen`` modules with ``nn.SpectralNorm``: that
wrapper normalises a dense layer applied to a dense input. Here the critic's first weight is one
``[s + K + p + s, h]`` matrix, normalised as a whole, applied piecewise.
PyTorch's default Linear init (uniform +-1/sqrt(fan-in), weights and biases) throughout.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

Params = dict[str, Any]


def _linear(key: jax.Array, fan_in: int, fan_out: int) -> tuple[jax.Array, jax.Array]:
    w_key, b_key = jax.random.split(key)
    bound = 1.0 / jnp.sqrt(jnp.float32(fan_in))
    return (jax.random.uniform(w_key, (fan_in, fan_out), jnp.float32, -bound, bound),
            jax.random.uniform(b_key, (fan_out,), jnp.float32, -bound, bound))


# ------------------------------------------------------------------ critic
def init_critic(key: jax.Array, s_dim: int, num_k: int, p_dim: int, hidden: int
                ) -> tuple[Params, Params]:
    """(params, power-iteration vectors ``u`` per layer)."""
    keys = jax.random.split(key, 6)
    w1, b1 = _linear(keys[0], 2 * s_dim + num_k + p_dim, hidden)
    w2, b2 = _linear(keys[1], hidden, hidden)
    w3, b3 = _linear(keys[2], hidden, 1)
    params = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3, "b3": b3}
    u = {name: _unit(jax.random.normal(kk, (params[name].shape[1],)))
         for name, kk in zip(("w1", "w2", "w3"), keys[3:], strict=True)}
    return params, u


def _unit(v: jax.Array) -> jax.Array:
    return v / (jnp.linalg.norm(v) + 1e-12)


def spectral_norms(params: Params, u: Params) -> tuple[Params, Params]:
    """One power iteration per layer: (sigma per layer, updated ``u``), both without gradient
    through the vectors (sigma = v^T W u keeps W's gradient, as in PyTorch)."""
    sigmas, new_u = {}, {}
    for name in ("w1", "w2", "w3"):
        w = params[name]
        v = _unit(w @ u[name])
        un = jax.lax.stop_gradient(_unit(w.T @ v))
        v = jax.lax.stop_gradient(v)
        sigmas[name] = v @ (w @ un)
        new_u[name] = un
    return sigmas, new_u


def critic(params: Params, sigmas: Params, s: jax.Array, k: jax.Array, z: jax.Array,
           s_next: jax.Array) -> jax.Array:
    """f_W([s, onehot(k), z, s']) with spectrally normalised weights: [B] scores."""
    s_dim = s.shape[-1]
    num_k = params["w1"].shape[0] - 2 * s_dim - z.shape[-1]
    w1 = params["w1"]
    pre = (s @ w1[:s_dim] + w1[s_dim + k] + z @ w1[s_dim + num_k: -s_dim]
           + s_next @ w1[-s_dim:])
    h1 = jax.nn.relu(pre / sigmas["w1"] + params["b1"])
    h2 = jax.nn.relu(h1 @ params["w2"] / sigmas["w2"] + params["b2"])
    return (h2 @ params["w3"] / sigmas["w3"] + params["b3"])[..., 0]


# ------------------------------------------------------------------ policy
def init_policy(key: jax.Array, s_dim: int, num_k: int, p_dim: int, hidden: int) -> Params:
    keys = jax.random.split(key, 7)
    pk = {}
    pk["w1"], pk["b1"] = _linear(keys[0], s_dim, hidden)
    pk["w2"], pk["b2"] = _linear(keys[1], hidden, hidden)
    pk["w3"], pk["b3"] = _linear(keys[2], hidden, num_k)
    pz = {}
    w1, pz["b1"] = _linear(keys[3], s_dim + num_k, hidden)
    pz["w1s"], pz["w1k"] = w1[:s_dim], w1[s_dim:]
    pz["w2"], pz["b2"] = _linear(keys[4], hidden, hidden)
    pz["wm"], pz["bm"] = _linear(keys[5], hidden, max(p_dim, 1))
    pz["ws"], pz["bs"] = _linear(keys[6], hidden, max(p_dim, 1))
    return {"k": pk, "z": pz}


def k_logits(params: Params, s: jax.Array) -> jax.Array:
    p = params["k"]
    h = jax.nn.relu(s @ p["w1"] + p["b1"])
    h = jax.nn.relu(h @ p["w2"] + p["b2"])
    return h @ p["w3"] + p["b3"]


def z_dist(params: Params, cfg: Any, s: jax.Array, k: jax.Array, p_dim: int
           ) -> tuple[jax.Array, jax.Array]:
    """(mean in [-1, 1], log-std) [B, p_dim] of p_theta(z | s, k)."""
    p = params["z"]
    h = jax.nn.relu(s @ p["w1s"] + p["w1k"][k] + p["b1"])
    h = jax.nn.relu(h @ p["w2"] + p["b2"])
    mean = jnp.tanh(h @ p["wm"] + p["bm"])[..., :p_dim]
    log_std = jnp.clip(h @ p["ws"] + p["bs"], cfg.policy_log_std_min,
                       cfg.policy_log_std_max)[..., :p_dim]
    return mean, log_std


def z_log_prob(mean: jax.Array, log_std: jax.Array, z: jax.Array, dim_mask: jax.Array
               ) -> jax.Array:
    """Gaussian log-density over the masked dimensions: [B]."""
    per = -0.5 * ((z - mean) / jnp.exp(log_std)) ** 2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
    return jnp.sum(jnp.where(dim_mask, per, 0.0), axis=-1)
