"""BC defaults. No original exists for hybrid actions; every value is a [choice] of the suite
(the common D4RL-style BC setting: a 2x256 ReLU MLP, Adam 3e-4, batches of 256)."""

from __future__ import annotations

import dataclasses

CHOICE = "suite choice [choice]: D4RL-style behaviour cloning (no hybrid-action original)"


@dataclasses.dataclass(frozen=True)
class BCConfig:
    """Behaviour-cloning hyperparameters (the same for every env)."""

    hidden: tuple[int, ...] = (256, 256)
    lr: float = 3e-4
    batch_size: int = 256
    max_grad_norm: float = 0.0  # 0: no clipping
    # act(deterministic=True): argmax k and the mean parameters; False samples from the policy
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.batch_size < 1 or not self.hidden or min(self.hidden) < 1:
            raise ValueError("batch_size and the hidden sizes must be positive")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


def default_config(env_id: str) -> BCConfig:
    """The suite's BC settings; the same for every env (``env_id`` only documents the call)."""
    del env_id
    return BCConfig(sources=(("hidden, lr, batch_size, max_grad_norm", CHOICE),))
