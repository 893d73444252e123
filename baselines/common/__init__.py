"""Pieces shared by the baselines: what an agent reads from its env (``binding.EnvBound``, the base
of every agent), the off-policy loop (``offpolicy``), actor-critic / TD3 learner pieces
(``td3``), the functional MLP (``networks``), the optimiser factory and train state (``optim``),
inverting gradients (``losses``), replay buffers, exploration noise, vmap-friendly control
flow and the source labels the configs share (``sources``). Polyak target updates are
``optax.incremental_update``.

Config field names shared by the baselines (same meaning wherever the concept exists; P-DQN's
Q-network is the critic, its parameter network the actor): ``gamma``, ``batch_size``,
``buffer_size``, ``learning_starts`` (counted env steps before the first update),
``lr_actor`` / ``lr_critic``, ``tau_actor`` / ``tau_critic``, ``max_grad_norm`` (or
``actor_`` / ``critic_max_grad_norm`` where the networks clip differently), ``twin`` (TD3's
twin critics, smoothing and delay), ``target_noise``, ``target_noise_clip``, ``policy_delay``,
``hidden_actor`` / ``hidden_critic`` (P-DQN keeps ``hidden_q`` / ``hidden_param``: agent specs
in the core's tests use them). A config class that renamed a field to these names lists
``{new: old}`` in ``LEGACY_FIELD_NAMES``, through which config hashes keep the old names.
Different concepts keep their own names (HyAR's ``warmup_episodes`` and DLPA's
``seed_episodes`` count uncounted / random *episodes*, not steps)."""

from pamdp_bench.baselines.common.control import ends_value, linear_decay, scan_sums, tree_where
from pamdp_bench.baselines.common.losses import invert_gradients
from pamdp_bench.baselines.common.noise import OUState, ou_init, ou_step
from pamdp_bench.baselines.common.replay import make_replay

__all__ = ["OUState", "ends_value", "invert_gradients", "linear_decay", "make_replay",
           "ou_init", "ou_step", "scan_sums", "tree_where"]
