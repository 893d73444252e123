"""The functional MLP every baseline network is built from: a list of ``{"w", "b"}`` layers.

Hand-written rather than ``flax.linen``: the baselines reproduce their PyTorch originals'
initialisations (Kaiming-normal hidden layers, PyTorch's default ``U(+-1/sqrt(fan_in))``,
small-normal output layers) *and* the exact way each agent has always split its init key. The
committed results (and every golden number in the tests) depend on those initial weights, and
``flax.linen`` derives parameter keys by folding in module names, which would change all of
them. A dict of arrays is also what P-DQN's multi-pass Q-network needs: direct access to the
first layer's weight split.

Key layouts (``init_mlp(..., keys=...)``), one per original family, kept because the initial
weights (hence every number) depend on them:

* ``"nested"``: ``split(key, L)``, then each layer splits its key into (weight, bias) keys
  (HyAR, H-PPO; ``init_linear`` is one such layer, HyAR's VAE builds from it).
* ``"flat"``: ``split(key, 2 L)``: layer ``i`` uses keys ``2i`` (weight) and ``2i + 1`` (bias)
  (PA-DDPG).
* ``"weights"``: ``split(key, L)``, each key draws the layer's weight only; biases are keyless
  (P-DQN, whose biases start at 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

Layer = dict[str, jax.Array]
Params = list[Layer]
#: ``init(key, fan_in, shape) -> array``; ``key`` is None for keyless initialisers.
Init = Callable[[jax.Array | None, int, tuple[int, ...]], jax.Array]


def torch_default(key: jax.Array | None, fan_in: int, shape: tuple[int, ...]) -> jax.Array:
    """PyTorch ``nn.Linear``'s default init (weights and biases): ``U(+-1/sqrt(fan_in))``."""
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, jnp.float32, -bound, bound)


def kaiming_normal(key: jax.Array | None, fan_in: int, shape: tuple[int, ...]) -> jax.Array:
    """PyTorch ``kaiming_normal_(nonlinearity='relu')``: ``N(0, 2 / fan_in)``."""
    std = math.sqrt(2.0 / fan_in)
    return std * jax.random.normal(key, shape, jnp.float32)


def normal(std: float) -> Init:
    """``N(0, std^2)`` (the originals' small output-layer inits)."""

    def init(key: jax.Array | None, fan_in: int, shape: tuple[int, ...]) -> jax.Array:
        return std * jax.random.normal(key, shape, jnp.float32)

    return init


def zeros(key: jax.Array | None, fan_in: int, shape: tuple[int, ...]) -> jax.Array:
    """Zero biases (keyless)."""
    return jnp.zeros(shape, jnp.float32)


def init_linear(key: jax.Array, fan_in: int, fan_out: int, *, weight: Init = torch_default,
                bias: Init = torch_default) -> Layer:
    """One layer; ``key`` splits into its (weight, bias) keys (the ``"nested"`` layout's step,
    also HyAR's VAE layers)."""
    kw, kb = jax.random.split(key)
    return {"w": weight(kw, fan_in, (fan_in, fan_out)), "b": bias(kb, fan_in, (fan_out,))}


def init_mlp(key: jax.Array, sizes: Sequence[int], *, weight: Init = torch_default,
             bias: Init = torch_default, last_weight: Init | None = None,
             keys: str = "nested") -> Params:
    """Layers ``sizes[0] -> ... -> sizes[-1]``; ``last_weight`` overrides the output layer's
    weight init. ``keys`` is the key layout (module docstring)."""
    n = len(sizes) - 1
    if keys == "nested":
        pairs = [tuple(jax.random.split(k)) for k in jax.random.split(key, n)]
    elif keys == "flat":
        ks = jax.random.split(key, 2 * n)
        pairs = [(ks[2 * i], ks[2 * i + 1]) for i in range(n)]
    elif keys == "weights":
        pairs = [(k, None) for k in jax.random.split(key, n)]
    else:
        raise ValueError(f"unknown key layout {keys!r}")
    layers = []
    for i, ((kw, kb), fan_in, fan_out) in enumerate(zip(pairs, sizes[:-1], sizes[1:],
                                                        strict=True)):
        w_init = last_weight if (last_weight is not None and i == n - 1) else weight
        layers.append({"w": w_init(kw, fan_in, (fan_in, fan_out)),
                       "b": bias(kb, fan_in, (fan_out,))})
    return layers


def linear(layer: Layer, x: jax.Array) -> jax.Array:
    """``x @ w + b``."""
    return x @ layer["w"] + layer["b"]


def relu_layers(layers: Params, x: jax.Array) -> jax.Array:
    """ReLU after every one of ``layers`` (a trunk)."""
    for layer in layers:
        x = jax.nn.relu(linear(layer, x))
    return x


def mlp(params: Params, x: jax.Array) -> jax.Array:
    """ReLU hidden layers, linear output."""
    return linear(params[-1], relu_layers(params[:-1], x))
