"""Per-env published defaults of P-DQN, MP-DQN and PDQN-TD3.

Sources (spec ``algorithms.md``):

* ``HYAR``: HyAR's ``Raw_RL`` PDQN scripts (``TJU-DRL-LAB/self-supervised-rl`` @ ``ece9562``),
  spec §7.1 "Raw_RL baseline hyperparameters". The suite's default under the HyAR protocol
  (spec §7.4 "Which settings the suite uses").
* ``MPDQN``: ``cycraig/MP-DQN`` @ ``eec13eb9`` ``run_{platform,goal}_pdqn.py`` and
  ``agents/pdqn.py`` (spec §7.2). Used where HyAR's list is silent (layers, OU constants,
  initialisations, the Platform passthrough bias, Goal's reward scale); ``mpdqn_paper_config``
  gives MP-DQN's own run-script settings for reproducing its Platform number.
* ``CHOICE``: not published; a suite choice (named field, sweepable).

Each config carries ``sources``: ``(field, source)`` pairs for every non-generic default.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from pamdp_bench.registry import env_spec

HYAR = "HyAR Raw_RL PDQN scripts (spec §7.1)"
MPDQN = "cycraig/MP-DQN run scripts / agents/pdqn.py (spec §7.2)"
CHOICE = "suite choice [choice]"

# Platform's hand-coded initial parameters (3, 10, 400) in raw units, scaled to [-1, 1] with the
# run/hop/leap ranges [0, 30], [0, 720], [0, 430]: the passthrough layer's bias in
# run_platform_pdqn.py (``--initialise-params True``).
PLATFORM_INITIAL_PARAMS = tuple(2.0 * p / hi - 1.0 for p, hi in ((3.0, 30.0), (10.0, 720.0),
                                                                  (400.0, 430.0)))

# Goal's Q-PAMDP-style hand-coded passthrough (run_goal_pdqn.py, ``--scale-actions True``):
# rows = the 4 flat parameters (kick-to x, kick-to y, shoot-left y, shoot-right y), columns =
# the 17 scaled observation entries; bias per parameter.
_GOAL_PT_W = [[0.0] * 17 for _ in range(4)]
for _col, _a, _b in ((10, 0.5, 0.0), (11, 0.0, 0.8333333333333333), (14, 0.0625, 0.0),
                     (15, 0.0, 0.1111111111111111)):
    _GOAL_PT_W[0][_col], _GOAL_PT_W[1][_col] = _a, _b
GOAL_PASSTHROUGH_WEIGHTS = tuple(tuple(row) for row in _GOAL_PT_W)
GOAL_PASSTHROUGH_BIAS = (-0.375, 0.0, 0.857346647646219686, -0.857346647646219686)


@dataclasses.dataclass(frozen=True)
class PDQNConfig:
    """P-DQN family hyperparameters. Defaults are Platform's HyAR settings; see
    ``default_config``.

    Field names are the baselines' shared ones (``baselines.common``): the Q-network is the
    *critic* (the originals' ``actor``), the parameter network the *actor* (their
    ``actor_param``). ``LEGACY_FIELD_NAMES``: the names before the renaming (config hashes and
    the ``sources`` strings use them); ``MPDQN_CODE_NAMES``: the original code's. The network
    shapes and output inits keep their P-DQN names (``hidden_q``, ``param_output_init_std``).
    """

    LEGACY_FIELD_NAMES: ClassVar[dict[str, str]] = {
        "learning_starts": "initial_memory", "lr_critic": "lr_q", "lr_actor": "lr_param",
        "tau_critic": "tau_q", "tau_actor": "tau_param", "max_grad_norm": "clip_grad",
    }
    #: The same fields' argument names in ``cycraig/MP-DQN`` ``agents/pdqn.py`` ``PDQNAgent``.
    MPDQN_CODE_NAMES: ClassVar[dict[str, str]] = {
        "learning_starts": "initial_memory_threshold", "lr_critic": "learning_rate_actor",
        "lr_actor": "learning_rate_actor_param", "tau_critic": "tau_actor",
        "tau_actor": "tau_actor_param", "max_grad_norm": "clip_grad",
        "buffer_size": "replay_memory_size", "epsilon_episodes": "epsilon_steps",
    }

    multipass: bool = False  # MP-DQN's multi-pass Q-network
    twin: bool = False  # PDQN-TD3: twin Q, target smoothing, delayed parameter updates
    hidden_q: tuple[int, ...] = (128,)
    hidden_param: tuple[int, ...] = (128,)
    gamma: float = 0.9
    batch_size: int = 128
    buffer_size: int = 10_000
    learning_starts: int = 500  # updates start once this many (and >= batch) steps were taken
    lr_critic: float = 1e-3
    lr_actor: float = 1e-4
    tau_critic: float = 0.01
    tau_actor: float = 0.001
    max_grad_norm: float = 10.0  # global-norm clip of both networks' gradients (0 = off)
    epsilon_initial: float = 1.0
    epsilon_final: float = 0.01
    epsilon_episodes: int = 1000  # linear annealing per finished episode
    use_ou: bool = True  # OU noise on the chosen action's parameters; exploring k keeps x(s)
    ou_theta: float = 0.15
    ou_sigma: float = 0.0001
    param_output_init_std: float = 0.0001
    q_output_init_std: float | None = None  # None: PyTorch's default U(+-1/sqrt(fan_in))
    passthrough_bias: tuple[float, ...] | None = PLATFORM_INITIAL_PARAMS
    passthrough_weights: tuple[tuple[float, ...], ...] | None = None  # [P][obs_dim]; None: 0
    reward_scale: float = 1.0
    inverting_gradients: bool = True
    # PDQN-TD3 only (TD3's standard constants; HyAR's PDQN-TD3 values are not in the spec).
    # Named as in every actor-critic config (``common.td3.configured_update`` reads them).
    policy_delay: int = 2
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    sources: tuple[tuple[str, str], ...] = ()


_PLATFORM_SOURCES = (
    ("gamma, buffer_size, initial_memory, lr_q, lr_param, tau_q, tau_param, clip_grad, "
     "batch_size, epsilon", HYAR),
    ("hidden_q, hidden_param = [128]", MPDQN),
    ("use_ou, ou_theta, ou_sigma, param_output_init_std, passthrough_bias", MPDQN),
    ("multipass: HyAR ran multipass=True on Platform (its 'PDQN' row is MP-DQN there); the "
     "'pdqn' agent keeps single-pass P-DQN, 'mpdqn' is the multi-pass one", HYAR),
)
_GOAL_SOURCES = (
    ("gamma 0.95, buffer_size 20000, initial_memory 128, lr 1e-3/1e-5, tau 0.1/0.001, clip 1, "
     "batch 128, epsilon", HYAR),
    ("hidden (256,), reward_scale 1/50, OU constants, output-layer init std 1e-5 (both "
     "networks), passthrough weights/bias (Q-PAMDP-style hand-coded)", MPDQN),
    ("that HyAR's Goal PDQN also used MP-DQN's passthrough, output init and reward scale "
     "(HyAR says the PDQN code was adopted from prior work; its run flags are not in the spec)",
     CHOICE),
    ("Hard Goal: no hand-coded passthrough exists (11 actions); zero passthrough", CHOICE),
)
_MPE_SOURCES = (
    ("gamma 0.95, buffer_size 100000, lr 1e-3/1e-4, tau 0.01/0.001, clip 1, hidden 2x256, "
     "batch 128, epsilon", HYAR),
    ("initial_memory 128 (HyAR's value is not in the spec)", CHOICE),
    ("OU constants", MPDQN),
)


def default_config(env_id: str, *, multipass: bool = False, twin: bool = False) -> PDQNConfig:
    """HyAR's ``Raw_RL`` PDQN settings for ``env_id`` (the HyAR protocol's baseline rows)."""
    family = env_spec(env_id).group
    base = PDQNConfig(multipass=multipass, twin=twin)
    if family == "platform":
        cfg = dataclasses.replace(base, sources=_PLATFORM_SOURCES)
    elif family == "goal":
        plain_goal = env_spec(env_id).kind == "Goal"
        cfg = dataclasses.replace(
            base, hidden_q=(256,), hidden_param=(256,), gamma=0.95, buffer_size=20_000,
            learning_starts=128, lr_critic=1e-3, lr_actor=1e-5, tau_critic=0.1,
            tau_actor=0.001, max_grad_norm=1.0, reward_scale=1.0 / 50.0,
            param_output_init_std=1e-5, q_output_init_std=1e-5,
            passthrough_bias=GOAL_PASSTHROUGH_BIAS if plain_goal else None,
            passthrough_weights=GOAL_PASSTHROUGH_WEIGHTS if plain_goal else None,
            sources=_GOAL_SOURCES)
    else:  # Catch Point, Hard Move: HyAR's pdqn_MPE agent
        cfg = dataclasses.replace(
            base, hidden_q=(256, 256), hidden_param=(256, 256), gamma=0.95,
            buffer_size=100_000, learning_starts=128, lr_critic=1e-3, lr_actor=1e-4,
            tau_critic=0.01, tau_actor=0.001, max_grad_norm=1.0, passthrough_bias=None,
            sources=_MPE_SOURCES)
    return cfg


def mpdqn_paper_config(env_id: str, *, multipass: bool = True) -> PDQNConfig:
    """MP-DQN's own run-script settings (Platform and Goal only; spec §7.2)."""
    family = env_spec(env_id).group
    src = (("all", MPDQN),)
    if family == "platform":
        return PDQNConfig(multipass=multipass, tau_critic=0.1, tau_actor=0.001, sources=src)
    if family == "goal":
        return dataclasses.replace(default_config(env_id, multipass=multipass), sources=src)
    raise ValueError(f"MP-DQN published no settings for {env_id} (Platform and Goal only)")
