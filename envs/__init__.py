"""The PAMDP benchmark environments, importable as ``pamdp_bench.envs``."""

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.spaces import Action, ParameterizedActionSpace

__all__ = ["Action", "PAMDPEnvironment", "ParameterizedActionSpace"]
