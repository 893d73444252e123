"""DLPA: model-based RL for parameterized action spaces (registered agent ``dlpa``)."""

from pamdp_bench.baselines.dlpa.agent import DLPAAgent, DLPAState
from pamdp_bench.baselines.dlpa.config import DLPAConfig, default_config

__all__ = ["DLPAAgent", "DLPAConfig", "DLPAState", "default_config"]
