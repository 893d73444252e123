"""Per-env published defaults of HyAR-TD3 and HyAR-DDPG.

Sources (spec ``algorithms.md`` §7.1, §2.3; official code ``TJU-DRL-LAB/self-supervised-rl``
folder ``RL_with_Action_Representation/HyAR/`` @ ``ece9562``):

* ``SPEC``: spec §7.1 "HyAR-TD3 hyperparameters [code]" and the budgets table.
* ``MAIN``: ``HyAR_RL/main_embedding_*_td3.py`` (argparse defaults, the warm-up loop, ``vae_train``,
  ``true_parameter_action``), read through the ``search`` tool.
* ``MAIN_DDPG``: the HyAR-DDPG main script for Hard Move with 4 directions (argparse
  ``--policy DDPG``, ``P_DDPG_relable``), read through the ``search`` tool; the only HyAR-DDPG
  script read (its Platform / Goal / Catch Point scripts were not found).
* ``VAE``: ``embedding/ActionRepresentation_vae.py`` (layers, loss, ``get_c_rate`` / ``z_range``).
* ``TD3R``: ``agents/P_TD3_relable.py`` (actor/critic shapes, relabelling, inverting gradients).
* ``CHOICE``: not published; a suite choice (named field, sweepable).

Each config carries ``sources``: ``(field, source)`` pairs for every non-generic default.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from pamdp_bench.baselines.common.sources import CHOICE
from pamdp_bench.registry import env_spec

# Source labels, one per original file (other configs have lines of the same shape: different
# files, so nothing to share).
SPEC = "spec algorithms.md §7.1 (HyAR code defaults)"
MAIN = "HyAR_RL/main_embedding_*_td3.py @ ece9562"
MAIN_DDPG = "the HyAR-DDPG main script of Hard Move (4 directions) @ ece9562"
VAE = "embedding/ActionRepresentation_vae.py @ ece9562"
TD3R = "agents/P_TD3_relable.py @ ece9562"


@dataclasses.dataclass(frozen=True)
class HyARConfig:
    """HyAR hyperparameters; defaults are Platform's (see ``default_config``).

    Shared field names (see ``baselines.common``; before the renaming, as config hashes and
    ``sources`` still name them: ``LEGACY_FIELD_NAMES``; the official code's argparse names:
    ``HYAR_CODE_NAMES``). ``tau`` stays one field: HyAR-TD3 has a single rate for actor and
    critic targets.
    ``warmup_episodes`` (uncounted random episodes before any training step) is not a
    ``learning_starts``: that one counts training steps.
    """

    LEGACY_FIELD_NAMES: ClassVar[dict[str, str]] = {
        "twin": "td3", "learning_starts": "start_timesteps", "target_noise": "policy_noise",
        "target_noise_clip": "noise_clip", "actor_max_grad_norm": "actor_grad_clip",
    }
    #: The same fields' argparse names in ``HyAR_RL/main_embedding_*_td3.py``.
    HYAR_CODE_NAMES: ClassVar[dict[str, str]] = {
        "learning_starts": "start_timesteps", "target_noise": "policy_noise",
        "target_noise_clip": "noise_clip", "policy_delay": "policy_freq",
    }

    #: Fields added after the config hash was defined, with the value that reproduces the
    #: behaviour from before (left out of the hash at that value, ``records.config_dict``).
    HASH_ADDED_FIELDS: ClassVar[dict[str, object]] = {"end_episode_at_eval": False}

    twin: bool = True  # False: HyAR-DDPG (single critic, no smoothing, no delay)
    # ---- latent action space
    discrete_emb_dim: int = 6  # d1
    param_emb_dim: int = 6  # d2
    # ---- RL agent (acts in the d1 + d2 latent space; shared field names, as in the other
    # actor-critic configs)
    hidden: tuple[int, ...] = (256, 256)
    lr_actor: float = 3e-4
    lr_critic: float = 3e-4
    batch_size: int = 128
    gamma: float = 0.99
    tau: float = 0.005
    target_noise: float = 0.1
    target_noise_clip: float = 0.5  # also clips the relabelling's discrete noise (as the code)
    policy_delay: int = 2
    expl_noise_initial: float = 1.0
    expl_noise_final: float = 0.1
    expl_noise_episodes: int = 1000
    learning_starts: int = 128  # training steps before the first update (no batch max)
    actor_max_grad_norm: float = 10.0  # global norm; 0 = off
    inverting_gradients: bool = True
    buffer_size: int = 100_000
    # ---- representation (conditional VAE)
    vae_hidden: int = 256
    vae_lr: float = 1e-4
    vae_batch_size: int = 64
    vae_fresh_adam: bool = True  # the original re-creates Adam before every VAE step
    vae_buffer_size: int = 1_000_000
    kl_weight: float = 0.5
    param_recon_weight: float = 2.0
    state_recon_weight: float = 1.0
    log_std_min: float = -4.0
    log_std_max: float = 15.0
    warmup_episodes: int = 5000
    #: [choice] warm-up env steps run in scans of this many steps between checks of the episode
    #: count: under vmap a batched while_loop copies its carry (incl. the VAE buffer) once per
    #: iteration, so per-block checks make that copy ~this many times rarer. The warm-up stops
    #: at the end of the block in which the last warm-up episode ended: at most
    #: ``warmup_block - 1`` extra random steps (counted in ``warmup_steps``), and training may
    #: start mid-episode. 1 = the original's exact stop.
    warmup_block: int = 128
    vae_pretrain_steps: int = 5000  # vae_train(train_step=5000): 5000..5010 steps
    vae_online_steps: int = 1  # vae_train(train_step=1) every vae_interval episodes
    vae_converge_tol: float = 1e-5
    vae_interval: int = 10  # episodes
    #: online VAE calls run at env steps that are multiples of this (1 = the original's
    #: timing, right after the episode that made them due); see ``HyARAgent._online_vae``.
    vae_sync_steps: int = 32
    vae_online_start: int = 1000  # episodes
    lsc_samples: int = 5000
    lsc_range_rate: float = 2.0  # percent cut at each end
    relabel: bool = True
    relabel_discrete_noise: float = 0.1
    relabel_state_factor: float = 5.0
    relabel_predict_in_latent: bool = False  # original feeds actor-space p_emb to the decoder
    # End the running training episode at each evaluation point (``common.offpolicy``), as the
    # Platform / Goal / Hard Goal scripts do (default per env in ``default_config``).
    end_episode_at_eval: bool = False
    sources: tuple[tuple[str, str], ...] = ()


_COMMON_SOURCES = (
    ("hidden 2x256, lr 3e-4/3e-4, batch 128, gamma 0.99, tau 0.005, policy_noise 0.1, "
     "noise_clip 0.5, policy_delay 2, expl noise 1.0->0.1 over 1000 episodes, start 128", SPEC),
    ("actor/critic shapes (actor: two tanh heads d1 and d2; twin critics on "
     "concat(s, d_emb, p_emb)), inverting gradients on both heads, actor grad-norm clip 10", TD3R),
    ("VAE layers (256 units; (s, e_k) and x_k / z branches multiplied; 2 more layers; "
     "parameter head; cascaded delta-state head; tanh outputs), log_std clamp [-4, 15], "
     "loss recon_s + 2 recon_x + 0.5 KL (element means), Adam 1e-4, batch 64", VAE),
    ("embedding table K x d1 init U[-1,1], tanh; nearest embedding by L2 distance", VAE),
    ("LSC: 5000 samples, z = mean + std * eps, border = int(2 * 5000 / 100), "
     "bounds = sorted[border], sorted[-border-1]; actor latent a -> a * (up-down)/2 + offset",
     VAE + " / " + MAIN),
    ("vae_fresh_adam: Action_representation.train_step re-creates its Adam each call", VAE),
    ("warm-up: uniform random k and parameters (PDQNAgent.act at epsilon 1, no OU); "
     "vae_train(5000) stops when n >= train_step and mean(last 5) + 1e-5 >= mean(last 10), cap "
     "train_step + 10; online vae_train(1) every 10 episodes once episode >= 1000", MAIN),
    ("relabel: discrete when nearest(stored d_emb) != k (replace by tanh(E_k) + clip(N(0,0.1), "
     "+-0.5)); parameter when mean((decode(s, p_emb, E_k).ds - ds)^2) >= 5 recon_s (replace by "
     "the encoder sample mapped back to actor space); the decoder gets the stored actor-space "
     "p_emb (relabel_predict_in_latent=False)", TD3R),
    ("buffer_size 1e5 (Hard Move 1e6); VAE buffer 1e6 (Goal/Hard Goal 2e6)", SPEC),
    ("one RL update per env step (the original also runs one extra update at each episode "
     "start); VAE input x_k padded to max_param_dim with zeros", CHOICE),
    ("vae_sync_steps 32: a due online vae_train(1) runs at the next env step that is a "
     "multiple of 32 (same calls, up to 31 steps late; 1 = the original's timing). Under the "
     "seed vmap every seed then trains on the same steps: 4 seeds on Platform 11 vs 20 ms per "
     "step", CHOICE),
)


_CUT_SOURCE = (
    "end_episode_at_eval: when total_timesteps % eval_freq == 0 the script plays the running "
    "training episode to its end with the noise-free policy, neither storing, counting nor "
    "training on those steps, evaluates, and starts a new episode (episode counter + 1) "
    "(main_embedding_platform_td3.py:355-381; the Goal / Hard Goal scripts alike, the Catch "
    "Point / Hard Move ones do not). The suite resets at that point instead of playing out: "
    "replay, counters and learning are the same, only the env's random stream differs", MAIN)


def default_config(env_id: str, *, twin: bool = True) -> HyARConfig:
    """HyAR's code settings for ``env_id`` (the HyAR protocol)."""
    family = env_spec(env_id).family
    src = _COMMON_SOURCES
    base = HyARConfig(twin=twin)
    if not twin:
        src = src + (("HyAR-DDPG: Adam lr actor 1e-4 / critic 1e-3, tau 0.005 for actor and "
                      "critic (argparse actor_lr, critic_lr, tau_actor, tau_critic); used for "
                      "every env", MAIN_DDPG),
                     ("HyAR-DDPG: single critic, no target smoothing, actor and targets "
                      "updated every step, layers as TD3 (P_DDPG_relable itself not read)",
                      CHOICE))
        base = dataclasses.replace(base, lr_actor=1e-4, lr_critic=1e-3)
    if family in ("platform", "goal"):
        base = dataclasses.replace(base, end_episode_at_eval=True)
        src = src + (_CUT_SOURCE,)
    if family == "platform":
        cfg = dataclasses.replace(base, sources=src + (("d1, d2 = (6, 6)", SPEC),))
    elif family == "goal":
        cfg = dataclasses.replace(
            base, warmup_episodes=20_000, vae_buffer_size=2_000_000,
            gamma=0.99 if twin else 0.9,
            sources=src + (("d1, d2 = (6, 6); warm-up 20000 episodes (code; the paper says "
                            "5000); VAE buffer 2e6; HyAR-DDPG gamma 0.9", SPEC),))
    elif family == "catch":
        cfg = dataclasses.replace(base, discrete_emb_dim=4, param_emb_dim=4,
                                  sources=src + (("d1, d2 = (4, 4)", SPEC),))
    else:  # Hard Move
        cfg = dataclasses.replace(base, buffer_size=1_000_000,
                                  sources=src + (("d1, d2 = (6, 6); replay 1e6", SPEC),))
    return cfg
