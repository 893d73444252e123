"""Per-env published defaults of P-DQN, MP-DQN and PDQN-TD3, in two readings.

Sources (spec ``algorithms.md``):

* ``HYAR``: HyAR's ``Raw_RL`` PDQN scripts (``TJU-DRL-LAB/self-supervised-rl`` @ ``ece9562``),
  spec §7.1 "Raw_RL baseline hyperparameters".
* ``HYAR_CODE``: HyAR's agent code and scripts read line by line for issue 19 (files named in
  each ``sources`` entry; paths under ``RL_with_Action_Representation/HyAR/``).
* ``MPDQN``: ``cycraig/MP-DQN`` @ ``eec13eb9`` ``run_{platform,goal}_pdqn.py`` and
  ``agents/pdqn.py`` (spec §7.2); ``mpdqn_paper_config`` gives MP-DQN's own run-script settings
  for reproducing its Platform number.
* ``CHOICE``: not published; a suite choice (named field, sweepable).

Readings (``agents.reading_config``; a protocol picks one with ``agent_readings``):

* default (``reading=None``): HyAR's per-env scalars (gamma, buffer, learning rates, taus,
  clipping) with MP-DQN's code details (layer sizes, Kaiming init, small output inits, Goal's
  reward scale) and TD3's standard mechanics for PDQN-TD3. The MP-DQN comparisons and the
  ``dlpa`` protocol run it.
* ``"hyar"`` (``hyar_config``): what HyAR's ``Raw_RL`` code ran for its Table 2 (the ``hyar``
  protocol): single-pass nets of 2x256 with PyTorch's default init, unscaled Goal rewards,
  PDQN-TD3's ``min(max_k Q1', max_k Q2')`` target without smoothing or delay and with the
  second critic reading the first one's output layer, and the training episode ended at each
  evaluation point. HyAR has no multi-pass agent, so ``mpdqn`` has no such reading.

Each config carries ``sources``: ``(field, source)`` pairs for every non-generic default.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from pamdp_bench.baselines.common.sources import CHOICE
from pamdp_bench.registry import env_spec

HYAR = "HyAR Raw_RL PDQN scripts (spec §7.1)"
HYAR_CODE = "HyAR Raw_RL scripts and agents/pdqn*.py @ ece9562, read for issue 19"
MPDQN = "cycraig/MP-DQN run scripts / agents/pdqn.py (spec §7.2)"

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

    #: Fields added after the config hash was defined, with the value that reproduces the
    #: behaviour from before (left out of the hash at that value, ``records.config_dict``).
    HASH_ADDED_FIELDS: ClassVar[dict[str, object]] = {
        "init_scheme": "kaiming", "twin_target": "max_of_min", "twin_shared_output": False,
        "end_episode_at_eval": False, "random_k": False,
    }
    INIT_SCHEMES: ClassVar[tuple[str, ...]] = ("kaiming", "torch")
    TWIN_TARGETS: ClassVar[tuple[str, ...]] = ("max_of_min", "min_of_max")

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
    # Initialisation: "kaiming" (MP-DQN's code: Kaiming-normal hidden weights, zero biases) or
    # "torch" (HyAR's code: PyTorch's nn.Linear default U(+-1/sqrt(fan_in)) for every weight
    # and bias, output layers included). The output-weight stds override the scheme's output
    # weights where given; None: PyTorch's default U(+-1/sqrt(fan_in)).
    init_scheme: str = "kaiming"
    param_output_init_std: float | None = 0.0001
    q_output_init_std: float | None = None
    passthrough_bias: tuple[float, ...] | None = PLATFORM_INITIAL_PARAMS
    passthrough_weights: tuple[tuple[float, ...], ...] | None = None  # [P][obs_dim]; None: 0
    reward_scale: float = 1.0
    inverting_gradients: bool = True
    # PDQN-TD3 only. Named as in every actor-critic config (``common.td3.configured_update``
    # reads them); target_noise 0 = no smoothing (the target parameters are then not clipped).
    policy_delay: int = 2
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    # The bootstrap value: "max_of_min" = max_k min(Q1', Q2') (the clipped double Q of TD3
    # applied per action), "min_of_max" = min(max_k Q1', max_k Q2') (HyAR's pdqn_td3.py).
    twin_target: str = "max_of_min"
    # HyAR's QActor computes Q2 with Q1's output layer (layers_1[-1]); its own is never used.
    twin_shared_output: bool = False
    # End the running training episode at each evaluation point (``common.offpolicy``): what
    # HyAR's Platform / Goal scripts do by playing it out unstored and uncounted.
    end_episode_at_eval: bool = False
    # HyAR's released agents/pdqn.py and pdqn_hard_goal.py draw k uniformly at random on every
    # call, in training and evaluation (``if rnd < 1.0``); True reproduces that agent (the
    # parameters are still x(s), with OU noise in training). Not part of the ``hyar`` reading:
    # it is the suite's test of whether HyAR's published P-DQN column came from that agent.
    random_k: bool = False
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.init_scheme not in self.INIT_SCHEMES:
            raise ValueError(f"init_scheme must be one of {self.INIT_SCHEMES}, got "
                             f"{self.init_scheme!r}")
        if self.twin_target not in self.TWIN_TARGETS:
            raise ValueError(f"twin_target must be one of {self.TWIN_TARGETS}, got "
                             f"{self.twin_target!r}")


_PLATFORM_SOURCES = (
    ("gamma, buffer_size, initial_memory, lr_q, lr_param, tau_q, tau_param, clip_grad, "
     "batch_size, epsilon", HYAR),
    ("hidden_q, hidden_param = [128]", MPDQN),
    ("use_ou, ou_theta, ou_sigma, param_output_init_std, passthrough_bias", MPDQN),
    ("multipass: HyAR's Platform PDQN is single-pass (Raw_RL/main_platform_pdqn.py imports "
     "agents.pdqn.PDQNAgent and never reads --multipass), so its 0.93 is P-DQN's; 'mpdqn' is "
     "MP-DQN's multi-pass network, which HyAR did not run", HYAR_CODE),
)
_GOAL_SOURCES = (
    ("gamma 0.95, buffer_size 20000, initial_memory 128, lr 1e-3/1e-5, tau 0.1/0.001, clip 1, "
     "batch 128, epsilon", HYAR),
    ("hidden (256,), reward_scale 1/50, OU constants, output-layer init std 1e-5 (both "
     "networks), passthrough weights/bias (Q-PAMDP-style hand-coded)", MPDQN),
    ("MP-DQN's Goal network, output init and reward scale with HyAR's scalars (HyAR's own Goal "
     "PDQN differs: 2x256, PyTorch init, unscaled rewards; the 'hyar' reading)", CHOICE),
    ("Hard Goal: no hand-coded passthrough exists (11 actions); zero passthrough", CHOICE),
)
_MPE_SOURCES = (
    ("gamma 0.95, buffer_size 100000, lr 1e-3/1e-4, tau 0.01/0.001, clip 1, hidden 2x256, "
     "batch 128, epsilon", HYAR),
    ("initial_memory 128 (main_hard_move_pdqn.py / main_direction_catch_pdqn.py argparse)",
     HYAR_CODE),
    ("OU constants", MPDQN),
)


#: The config readings ``default_config`` offers besides its default (module docstring).
READINGS = ("hyar",)


def default_config(env_id: str, *, multipass: bool = False, twin: bool = False,
                   reading: str | None = None) -> PDQNConfig:
    """The defaults for ``env_id``: HyAR's ``Raw_RL`` scalars with MP-DQN's code details, or
    with ``reading="hyar"`` what HyAR's code ran (``hyar_config``)."""
    if reading == "hyar":
        return hyar_config(env_id, multipass=multipass, twin=twin)
    if reading is not None:
        raise ValueError(f"P-DQN has no config reading {reading!r}; readings: {READINGS}")
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


_HYAR_NETS = (
    "hidden_q, hidden_param = 2x256; init_scheme torch (PyTorch nn.Linear default for every "
    "weight and bias, output layers included: no Kaiming, no small output init, non-zero output "
    "biases): agents/pdqn.py:28-30,56-59 (Platform, Goal), pdqn_hard_goal.py:29-31,57-60, "
    "pdqn_MPE.py:29-31,57-60 (Catch Point, Hard Move), pdqn_td3*.py for PDQN-TD3; the "
    "passthrough is zero unless set (pdqn.py:63-64)", HYAR_CODE)
_HYAR_SINGLE_PASS = (
    "single-pass: every Raw_RL PDQN script builds agents.pdqn*.PDQNAgent "
    "(main_platform_pdqn.py:88-89 ignores its --multipass=True flag)", HYAR_CODE)
_HYAR_TWIN = (
    "PDQN-TD3: target min(max_k Q1', max_k Q2') at the unsmoothed target parameters, no policy "
    "delay (pdqn_td3.py:386-393,444-445); Q2 uses Q1's output layer (pdqn_td3.py:47); the "
    "parameter network ascends sum_k Q1 (pdqn_td3.py:415-417)", HYAR_CODE)
_HYAR_CUT = (
    "end_episode_at_eval: at each eval_freq step the script plays the training episode out "
    "with the agent, unstored and uncounted, then starts a new one (main_platform_pdqn.py:"
    "159-166, main_goal_pdqn.py and main_hard_goal_pdqn.py alike; not the Catch Point / Hard "
    "Move scripts)", HYAR_CODE)


def hyar_config(env_id: str, *, multipass: bool = False, twin: bool = False) -> PDQNConfig:
    """What HyAR's ``Raw_RL`` PDQN / PDQN-TD3 code ran on ``env_id`` (the ``hyar`` reading).

    Per-env scalars as in the default reading (both read HyAR's argparse defaults); the
    networks, Goal's reward scale, the twin target and the episode cut follow HyAR's code.
    Cost: the 2x256 networks make one Platform update 180 MFLOP against the default reading's
    4.2 (XLA's cost analysis of ``update``, batch 128), which is why its Platform 200k x 3 seeds
    took 3,646 s here against MP-DQN's 165 s.
    """
    if multipass:
        raise ValueError("HyAR ran no multi-pass P-DQN (its Raw_RL scripts all build the "
                         "single-pass agent); use the default reading for MP-DQN")
    spec = env_spec(env_id)
    base = default_config(env_id, twin=twin)
    hyar = dict(hidden_q=(256, 256), hidden_param=(256, 256), init_scheme="torch",
                param_output_init_std=None, q_output_init_std=None,
                end_episode_at_eval=spec.group in ("platform", "goal"))
    if twin:
        hyar.update(twin_target="min_of_max", twin_shared_output=True, target_noise=0.0,
                    policy_delay=1)
    src = [s for s in base.sources
           if s[1] not in (MPDQN, CHOICE) and not s[0].startswith("multipass")]
    src += [_HYAR_SINGLE_PASS, _HYAR_NETS, ("use_ou, ou_theta, ou_sigma (agents/pdqn.py:166)",
                                           HYAR_CODE)]
    if spec.group == "platform":
        src.append(("passthrough_bias = Platform's initial parameters (3, 10, 400) scaled "
                    "(main_platform_pdqn.py:69-73,113-118, --initialise-params True)", HYAR_CODE))
    elif spec.group == "goal":
        hyar.update(reward_scale=1.0)
        src.append(("reward_scale 1 (main_goal_pdqn.py:173-174: the scaling line is commented "
                    "out; main_hard_goal_pdqn.py:250 likewise); clip_grad 1 (--clip-grad 1.)",
                    HYAR_CODE))
        if spec.kind == "Goal":
            src.append(("passthrough weights/bias: the Q-PAMDP-style hand-coded ones "
                        "(main_goal_pdqn.py:140-141, --initialise-params True)", HYAR_CODE))
        else:
            src.append(("Hard Goal: zero passthrough (main_hard_goal_pdqn.py:218: the call "
                        "is commented out)", HYAR_CODE))
    if twin:
        src.append(_HYAR_TWIN)
    if hyar["end_episode_at_eval"]:
        src.append(_HYAR_CUT)
    return dataclasses.replace(base, **hyar, sources=tuple(src))


def mpdqn_paper_config(env_id: str, *, multipass: bool = True) -> PDQNConfig:
    """MP-DQN's own run-script settings (Platform and Goal only; spec §7.2)."""
    family = env_spec(env_id).group
    src = (("all", MPDQN),)
    if family == "platform":
        return PDQNConfig(multipass=multipass, tau_critic=0.1, tau_actor=0.001, sources=src)
    if family == "goal":
        return dataclasses.replace(default_config(env_id, multipass=multipass), sources=src)
    raise ValueError(f"MP-DQN published no settings for {env_id} (Platform and Goal only)")
