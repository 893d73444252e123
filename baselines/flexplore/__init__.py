"""FLEXplore: DLPA with a Wasserstein dynamics term, late reward smoothing and an MI bonus
(registered agent ``flexplore``)."""

from pamdp_bench.baselines.flexplore.agent import FLEXploreAgent, FLEXploreState
from pamdp_bench.baselines.flexplore.config import FLEXploreConfig, default_config

__all__ = ["FLEXploreAgent", "FLEXploreConfig", "FLEXploreState", "default_config"]
