"""Networks of the P-DQN family as pure functions over explicit parameter pytrees.

* Parameter network ``x_theta(s)``: ReLU MLP -> all actions' parameters ``[P]``, plus a frozen
  linear *passthrough* ``s @ W_pt + b_pt`` (not trained, kept outside the parameters). MP-DQN's
  code initialises hidden layers Kaiming-normal, the output layer N(0, 1e-4), biases 0, and
  sets the passthrough to hand-coded initial parameters (Platform: bias = (3, 10, 400) scaled).
* Q-network ``Q(s, x) -> [K]``: ReLU MLP over ``concat(s, x)``; hidden layers Kaiming-normal,
  output layer PyTorch's default ``U(+-1/sqrt(fan_in))``, output bias 0 (MP-DQN's ``QActor``).
* ``init_scheme="torch"``: both networks as HyAR's code builds them, PyTorch's ``nn.Linear``
  default ``U(+-1/sqrt(fan_in))`` for every weight and bias (output layers included).
* Multi-pass Q (MP-DQN): pass k sees ``concat(s, x masked to action k's slice)`` and ``Q_k`` is
  read from pass k. Computed without materialising the ``K`` masked inputs: the first layer is
  linear, so pass k's pre-activation is ``s @ W_s + b + sum_{i in slice k} x_i W_x[i]``, a
  ``segment_sum`` of the per-parameter contributions ``[P, H]`` into ``[K, H]`` (for small
  ``K * P`` a dense ``[K, P] @ [P, H]`` matmul of the masked inputs instead); later layers
  run on ``[K, H]``; the output layer only computes the diagonal ``Q_k = h_k . W_out[:, k]``.
  Memory per state: ``O(P*H1 + K*sum(H))`` floats instead of ``O(K*(obs+P) + K*K)``; e.g. Hard
  Move n=10 (K = P = 1024), H = 256, batch 128: ~33M floats (~134 MB) per layer activation, vs
  ~135M floats for the naive masked inputs alone plus a K x K output.

Built from ``common.networks`` (the shared functional MLP; P-DQN's ``"weights"`` key layout:
hidden layers Kaiming-normal, biases 0). The multi-pass Q-network needs the first layer's
weight split directly, which a list of ``{"w", "b"}`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from pamdp_bench.baselines.common.networks import (
    Params,
    init_mlp,
    kaiming_normal,
    mlp,
    normal,
    relu_layers,
    torch_default,
    zeros,
)

#: Up to this K * P the multi-pass first layer uses the dense masked matmul ([K, P] @ [P, H],
#: K*P*H flops, fastest for Platform/Goal/Catch Point); above it the segment sum (P*H flops,
#: no K x P array), which Hard Move n >= 7 needs.
DENSE_MULTIPASS_MAX = 4096


def make_passthrough(bias: Sequence[float] | None,
                     weights: Sequence[Sequence[float]] | None, num_params: int,
                     obs_dim: int) -> dict[str, jax.Array]:
    """The frozen passthrough ``{"w": [obs_dim, P], "b": [P]}`` (zeros where not given)."""
    b = np.zeros((num_params,), np.float32)
    if bias is not None:
        if len(bias) != num_params:
            raise ValueError(f"passthrough_bias has {len(bias)} entries, the env has "
                             f"{num_params} parameters")
        b[:] = bias
    w = np.zeros((num_params, obs_dim), np.float32)
    if weights is not None:
        given = np.asarray(weights, np.float32)
        if given.shape != w.shape:
            raise ValueError(f"passthrough_weights has shape {given.shape}, the env needs "
                             f"{w.shape} (parameters x observation)")
        w[:] = given
    return {"w": jnp.asarray(w.T), "b": jnp.asarray(b)}


def _init(key: jax.Array, sizes: Sequence[int], output_init_std: float | None,
          scheme: str) -> Params:
    """An MLP in one of the init schemes (``PDQNConfig.init_scheme``): ``"kaiming"`` (MP-DQN:
    Kaiming-normal hidden weights, zero biases, ``"weights"`` key layout) or ``"torch"``
    (HyAR: PyTorch's default for every weight and bias, ``"nested"`` key layout). The output
    weights are N(0, output_init_std) if given, else PyTorch's default."""
    last = torch_default if output_init_std is None else normal(output_init_std)
    if scheme == "kaiming":
        return init_mlp(key, sizes, weight=kaiming_normal, bias=zeros, last_weight=last,
                        keys="weights")
    if scheme == "torch":
        return init_mlp(key, sizes, weight=torch_default, bias=torch_default, last_weight=last,
                        keys="nested")
    raise ValueError(f"unknown init scheme {scheme!r}")


def init_q_network(key: jax.Array, obs_dim: int, num_params: int, num_actions: int,
                   hidden: Sequence[int], output_init_std: float | None = None,
                   scheme: str = "kaiming") -> Params:
    """Q-network parameters: a list of ``{"w": [in, out], "b": [out]}`` (``_init``)."""
    if not hidden:
        raise ValueError("the Q-network needs at least one hidden layer")
    return _init(key, [obs_dim + num_params, *hidden, num_actions], output_init_std, scheme)


def init_param_network(key: jax.Array, obs_dim: int, num_params: int,
                       hidden: Sequence[int], output_init_std: float | None,
                       scheme: str = "kaiming") -> Params:
    """Parameter-network parameters (the frozen passthrough is not among them; ``_init``)."""
    return _init(key, [obs_dim, *hidden, num_params], output_init_std, scheme)


def shared_output(q_params: Params) -> Params:
    """Stacked twin Q-networks where every critic uses critic 0's output layer (HyAR's
    ``pdqn_td3.py`` QActor: ``Q2 = layers_1[-1](x_2)``); gradients reach critic 0's only."""
    last = {k: jnp.broadcast_to(v[:1], v.shape) for k, v in q_params[-1].items()}
    return [*q_params[:-1], last]


def param_forward(params: Params, passthrough: dict[str, jax.Array], obs: jax.Array) -> jax.Array:
    """``x_theta(s)``: ``obs [..., obs_dim] -> [..., P]`` (unsquashed, as in the original)."""
    return mlp(params, obs) + obs @ passthrough["w"] + passthrough["b"]


def q_forward(params: Params, obs: jax.Array, x: jax.Array) -> jax.Array:
    """Single-pass P-DQN Q-values: ``obs [..., obs_dim], x [..., P] -> [..., K]``."""
    return mlp(params, jnp.concatenate([obs, x], axis=-1))


def q_forward_multipass(params: Params, obs: jax.Array, x: jax.Array,
                        param_owner: jax.Array, num_actions: int) -> jax.Array:
    """Multi-pass Q-values for one state: ``obs [obs_dim], x [P] -> [K]``.

    ``param_owner[i]`` is the action that parameter ``i`` belongs to (int32[P]). Equal to
    running the single-pass network K times with all but action k's parameters zeroed and
    keeping output k of pass k (see the module docstring); ``vmap`` it over a batch.
    """
    obs_dim = obs.shape[-1]
    first = params[0]
    w_s, w_x = first["w"][:obs_dim], first["w"][obs_dim:]
    base = obs @ w_s + first["b"]  # [H]
    if num_actions * x.shape[-1] <= DENSE_MULTIPASS_MAX:
        # Small K x P: the masked inputs as one [K, P] @ [P, H] matmul is fastest on CPU.
        masked = jnp.where(param_owner[None, :] == jnp.arange(num_actions)[:, None], x[None], 0.0)
        per_action = masked @ w_x  # [K, H]
    else:
        contrib = x[:, None] * w_x  # [P, H]
        per_action = jax.ops.segment_sum(contrib, param_owner, num_segments=num_actions,
                                         indices_are_sorted=True)  # [K, H]
    h = relu_layers(params[1:-1], jax.nn.relu(base[None, :] + per_action))
    out = params[-1]
    return jnp.einsum("kh,hk->k", h, out["w"]) + out["b"]


def q_forward_multipass_naive(params: Params, obs: jax.Array, x: jax.Array,
                              param_owner: jax.Array, num_actions: int) -> jax.Array:
    """Reference multi-pass (K explicit masked passes; ``O(K*(obs+P))``), for tests only."""
    masks = param_owner[None, :] == jnp.arange(num_actions)[:, None]  # [K, P]
    xs = jnp.where(masks, x[None, :], 0.0)
    obs_k = jnp.broadcast_to(obs, (num_actions, obs.shape[-1]))
    q_all = q_forward(params, obs_k, xs)  # [K, K]: pass k, output j
    return jnp.diagonal(q_all)
