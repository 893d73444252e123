"""Behaviour cloning of the hybrid action (``bc``): the floor of every offline table.

Modules: ``agent`` (the offline agent: an MLP over the observation into a categorical head
over k and Gaussian heads over the parameters, trained by maximum likelihood on dataset
transitions), ``config`` (defaults and their sources).
"""

from pamdp_bench.baselines.bc.agent import BC, BCState
from pamdp_bench.baselines.bc.config import BCConfig, default_config

__all__ = ["BC", "BCConfig", "BCState", "default_config"]
