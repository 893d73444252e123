"""Pieces shared by the baselines: replay buffers, target-network updates, exploration noise,
vmap-friendly control flow."""

from pamdp_bench.baselines.common.control import ends_value, scan_sums, tree_where
from pamdp_bench.baselines.common.noise import OUState, ou_init, ou_step
from pamdp_bench.baselines.common.replay import make_replay
from pamdp_bench.baselines.common.targets import soft_update

__all__ = ["OUState", "ends_value", "make_replay", "ou_init", "ou_step", "scan_sums",
           "soft_update", "tree_where"]
