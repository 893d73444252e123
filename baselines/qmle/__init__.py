"""QMLE (``qmle``): Q-learning with sampled maximisation and amortised argmax predictors.

Follows ``atavakol/qmle`` @ ``0687780`` (spec §5.2) with the suite's hybrid-action design
(spec §5.3). Modules: ``networks`` (action-in Q-network, argmax predictors), ``candidates``
(candidate sets), ``losses`` (target maximisation, TD and predictor losses), ``agent`` (the
harness agent, on ``common.offpolicy``'s block loop with flashbax's prioritised replay),
``config`` (defaults and their sources).
"""

from pamdp_bench.baselines.qmle.agent import QMLE, QMLEAgent, QMLELearner
from pamdp_bench.baselines.qmle.config import QMLEConfig, default_config

__all__ = ["QMLE", "QMLEAgent", "QMLEConfig", "QMLELearner", "default_config"]
