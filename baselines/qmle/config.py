"""QMLE hyperparameters: the official code's defaults (spec algorithms.md §5.2, ``atavakol/qmle``
@ ``0687780`` ``src/qmle.py`` argparse and ``src/model.py``) and the suite's hybrid design
(§5.3, every field there marked [choice]).

One config for every env: the official code has one set of defaults for all DeepMind Control
tasks and the paper's per-task table is not available (spec §5.2: [MISSING]).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

CODE = "atavakol/qmle @ 0687780 src/qmle.py argparse, src/model.py (spec §5.2)"
HYBRID = "suite hybrid design (spec §5.3) [choice]"

SOURCES: tuple[tuple[str, str], ...] = (
    ("m_greedy 1000, m_target 100 (+1 stored argmax), ratios 0.45/0.45/0.09/0.01, bins 3, "
     "delta_noise 0.1, hidden 128, lr 5e-4, batch 256, buffer 1e6, PER alpha 0.6 beta 0.2 "
     "eps 1e-6, gamma 0.99, epsilon 0.1, learning_starts 1000, train_every 10, "
     "target_every 200", CODE),
    ("official_ce: cross-entropy applied to the heads' softmax outputs (F.cross_entropy on "
     "nn.Softmax outputs, model.py / qmle.py)", CODE),
    ("action input: embedding of k + linear of k's zero-padded parameters; argmax predictors "
     "for k (softmax or bits) and for k's parameters conditioned on k; enumerate_k for small K; "
     "terminations end bootstrapping", HYBRID),
)


@dataclasses.dataclass(frozen=True)
class QMLEConfig:
    """QMLE for hybrid actions; the agent's module docstring says what each field changes."""

    K_HEADS: ClassVar[tuple[str, ...]] = ("auto", "softmax", "bits")
    #: Fields added after records existed, with the value that reproduces them (left out of
    #: the config hash at that value: ``harness.records.config_dict``).
    HASH_ADDED_FIELDS: ClassVar[dict[str, object]] = {"truncation_ends": False}

    # --- sampled maximisation (model.py QMLENetwork.forward)
    m_greedy: int = 1000  # candidates per greedy action
    m_target: int = 100  # candidates per target maximisation (+ the stored argmax)
    ratio_uniform: float = 0.9  # half continuous-uniform, half uniform over the bin grid
    ratio_categorical: float = 0.09
    ratio_delta: float = 0.01
    num_bins: int = 3  # per parameter dimension, spanning [-1, 1]
    delta_noise: float = 0.1  # std of the delta candidates' perturbation ([-1, 1] units)
    #: False: uniform candidates only (the paper's ablation without MLE argmax predictors;
    #: the predictors are still trained, never sampled, and the stored argmax is kept).
    amortized: bool = True
    #: True: the paper's failure mode of local-only search -- every candidate is a
    #: perturbation of the delta predictor's argmax (no uniform, no categorical samples), and
    #: the stored argmax is not a target candidate (it starts as the executed action, so with
    #: epsilon-uniform actions it would be a global search of its own).
    local_only: bool = False
    #: [choice] add, for every k, the unperturbed delta prediction (so no discrete action is
    #: ever left out); None: on when K <= ``enumerate_max_k``.
    enumerate_k: bool | None = None
    enumerate_max_k: int = 32
    #: [choice] the categorical predictor's k head: "softmax" over K, "bits" (independent
    #: on/off bits, for envs whose k is a bit code: Hard Move), "auto" = bits when the env
    #: exposes them and K > ``enumerate_max_k``, else softmax. Measured (1 seed, training env
    #: steps/s, ``results/bench/qmle_k_head.json``): n = 10 bits 109, softmax 57; n = 16 bits
    #: 70, softmax below 8 (K Gumbels per sampled k).
    k_head: str = "auto"
    #: The official loss applies cross-entropy to the heads' softmax outputs (a second
    #: softmax); False: to their logits.
    official_ce: bool = True

    # --- networks (model.py)
    hidden_obs: int = 128
    hidden_act: int = 128
    hidden_mle: int = 128
    k_embed_mle: int = 32  # [choice] size of the predictors' k embedding

    # --- learning (qmle.py)
    gamma: float = 0.99
    lr: float = 5e-4
    batch_size: int = 256
    buffer_size: int = 1_000_000
    per_alpha: float = 0.6
    per_beta: float = 0.2
    per_eps: float = 1e-6
    epsilon: float = 0.1  # epsilon-greedy with the env's uniform hybrid action
    learning_starts: int = 1000  # no update until more env steps than this were taken
    train_every: int = 10  # env steps per gradient step
    target_every: int = 200  # env steps per hard target copy
    #: True: a step cap also ends bootstrapping (old gym's ``TimeLimit`` done, as the original
    #: P-DQN stored it); a diagnostic of over-estimation on clockless envs (issue 18). False:
    #: the suite's convention (``common.ends_value``).
    truncation_ends: bool = False
    sources: tuple[tuple[str, str], ...] = SOURCES

    def __post_init__(self) -> None:
        if self.k_head not in self.K_HEADS:
            raise ValueError(f"k_head must be one of {self.K_HEADS}, got {self.k_head!r}")
        for name in ("m_greedy", "m_target", "num_bins", "hidden_obs", "hidden_act",
                     "hidden_mle", "k_embed_mle", "batch_size", "buffer_size", "train_every",
                     "target_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"QMLE config: {name} must be >= 1, got {getattr(self, name)}")
        if self.num_bins < 2:
            raise ValueError(f"QMLE config: num_bins must be >= 2, got {self.num_bins}")
        ratios = (self.ratio_uniform, self.ratio_categorical, self.ratio_delta)
        if min(ratios) < 0 or abs(sum(ratios) - 1.0) > 1e-6:
            raise ValueError(f"QMLE config: the candidate ratios (uniform, categorical, delta) "
                             f"must be >= 0 and sum to 1, got {ratios}")
        if self.target_every % self.train_every:
            raise ValueError(f"QMLE config: target_every ({self.target_every}) must be a "
                             f"multiple of train_every ({self.train_every})")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"QMLE config: epsilon must be in [0, 1], got {self.epsilon}")

    def candidate_counts(self, m: int) -> tuple[int, int, int, int]:
        """``(continuous-uniform, grid-uniform, categorical, delta)`` of ``m`` candidates.

        As the official ``int(ratio * m)`` per kind; whatever rounding leaves over goes to the
        continuous-uniform kind so that there are always exactly ``m``. ``amortized=False``:
        all uniform; ``local_only``: all delta.
        """
        if self.local_only:
            return 0, 0, 0, m
        if not self.amortized:
            grid = int(0.5 * m)
            return m - grid, grid, 0, 0
        grid = int(self.ratio_uniform / 2 * m)
        cat = int(self.ratio_categorical * m)
        delta = int(self.ratio_delta * m)
        if self.ratio_delta > 0:
            delta = max(delta, 1)
        return m - grid - cat - delta, grid, cat, delta


def default_config(env_id: str) -> QMLEConfig:
    """The defaults (the same for every env; see the module docstring)."""
    del env_id
    return QMLEConfig()
