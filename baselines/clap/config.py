"""C-LAP defaults for hybrid actions (spec §6.3). The paper's model and agent settings are
missing (§6.2) and it has no PAMDP experiments, so every value below is a [choice] of the
suite; §6.3 fixes most of them and the rest follow DreamerV1 (Hafner et al. 2020), the
latent-imagination actor-critic C-LAP builds on.

Readings (``default_config(env_id, reading=...)``): ``None`` is §6.3's model; ``"cpu"`` is a
smaller one for the offline table on a 2-core CPU (``experiments/offline_cpu.toml``): §6.3's
model costs 1.7 to 4.2 s per gradient step on one core of this project's machines (about 300
GFLOP, most of it the imagination from 2,048 starts; ``results/bench/offline.json``), the
``cpu`` reading about 0.06 s. Its values are in
``CPU_READING``; tables say which reading a row ran.
"""

from __future__ import annotations

import dataclasses

from pamdp_bench.baselines.common.sources import CHOICE

SPEC = "algorithms.md §6.3 (suite design; the paper's values are missing)"
DREAMER = "DreamerV1 defaults (Hafner et al. 2020) [choice]"


@dataclasses.dataclass(frozen=True)
class CLAPConfig:
    """C-LAP hyperparameters (the same for every env)."""

    hidden: tuple[int, ...] = (256, 256)  # every MLP
    deter_size: int = 256  # GRU state
    stoch_size: int = 32  # Gaussian stochastic state
    latent_action_size: int = 16  # d_u
    min_std: float = 0.1  # floor of the latent states' and latent actions' stds
    lr_model: float = 3e-4
    lr_actor: float = 1e-4
    lr_critic: float = 1e-4
    max_grad_norm: float = 100.0
    batch_size: int = 64  # sequences
    seq_len: int = 32
    free_nats: float = 1.0  # floor of the state KL (batch mean), DreamerV1
    kl_weight: float = 1.0
    action_kl_weight: float = 1.0  # KL(q(u | s, a) || p(u | s))
    horizon: int = 15  # imagination
    n_step: int = 5
    gamma: float = 0.99
    # imagination starts per gradient step, drawn from the batch's B x L posterior states
    # (0: all of them). The default keeps all 2,048; a CPU budget may take fewer.
    imagine_starts: int = 0
    actor_critic_start: int = 10_000  # model-only gradient steps before the actor-critic
    critic_tau: float = 0.01  # soft update of the target critic that bootstraps the returns
    entropy_weight: float = 1e-3  # on the policy's Gaussian (and categorical) entropy
    # the support constraint u = mu_prior + eps * sigma_prior * tanh(x)
    constraint: bool = True
    constraint_scale: float = 1.0  # eps
    # False: the Dreamer-like ablation (no latent actions; the policy emits the hybrid action)
    latent_actions: bool = True
    # act(deterministic=True): posterior means, the policy mean, argmax k and k's mean params
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("deter_size", "stoch_size", "latent_action_size", "batch_size", "seq_len",
                     "horizon", "n_step"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_step > self.horizon:
            raise ValueError(f"n_step ({self.n_step}) exceeds the horizon ({self.horizon})")
        if self.constraint_scale <= 0:
            raise ValueError(f"constraint_scale must be positive, got {self.constraint_scale}")
        if self.imagine_starts < 0 or self.actor_critic_start < 0:
            raise ValueError("imagine_starts and actor_critic_start must be >= 0")
        if not 0.0 < self.critic_tau <= 1.0:
            raise ValueError(f"critic_tau must be in (0, 1], got {self.critic_tau}")


_SOURCES = (
    ("hidden 2x256, deter_size 256, stoch_size 32, latent_action_size 16, lr_model 3e-4, "
     "lr_actor / lr_critic 1e-4, horizon 15, n_step 5, gamma 0.99, batch 64 x 32, "
     "actor_critic_start 10,000, constraint_scale 1.0", SPEC),
    ("min_std 0.1, free_nats 1.0, max_grad_norm 100, Gaussian latent states, dynamics "
     "backpropagation through imagined rollouts", DREAMER),
    ("kl_weight / action_kl_weight 1, critic_tau 0.01, entropy_weight 1e-3, imagine_starts "
     "(all), observations standardised and rewards divided by their std with the dataset's "
     "statistics (computed in init)", CHOICE),
)


READINGS = ("cpu",)
#: the ``cpu`` reading's changes to §6.3's sizes and schedule (module docstring)
CPU_READING = dict(hidden=(128, 128), deter_size=128, batch_size=16, imagine_starts=64,
                   actor_critic_start=300)


def default_config(env_id: str, reading: str | None = None) -> CLAPConfig:
    """The suite's C-LAP settings, the same for every env (``env_id`` only documents it);
    ``reading="cpu"``: the smaller model of the CPU table (module docstring)."""
    del env_id
    if reading is None:
        return CLAPConfig(sources=_SOURCES)
    if reading != "cpu":
        raise ValueError(f"unknown C-LAP config reading {reading!r}; readings: {READINGS}")
    return CLAPConfig(**CPU_READING, sources=_SOURCES + (
        (f"reading 'cpu': {CPU_READING} (a 2-core CPU's budget)", CHOICE),))
