"""The PAMDP benchmark environments, importable as ``pamdp_bench.envs``.

``from pamdp_bench.envs import Platform`` works for every env class. The env modules import
nothing from ``pamdp_bench`` outside this package (the registry imports them lazily), so this
cannot form an import cycle; the gymnasium / brax adapters, which do import the registry, are
not imported here.
"""

from pamdp_bench.envs.base import PAMDPEnvironment
from pamdp_bench.envs.catch_point import CatchPoint
from pamdp_bench.envs.goal import Goal, HardGoal
from pamdp_bench.envs.hard_move import HardMove
from pamdp_bench.envs.platform import Platform
from pamdp_bench.envs.spaces import Action, ParameterizedActionSpace

__all__ = [
    "Action",
    "CatchPoint",
    "Goal",
    "HardGoal",
    "HardMove",
    "PAMDPEnvironment",
    "ParameterizedActionSpace",
    "Platform",
]
