"""Baseline agents, importable as ``pamdp_bench.baselines`` (one subpackage per family)."""
from pamdp_bench.baselines import (
    dlpa,  # noqa: F401  (registers "dlpa")
    pdqn,  # noqa: F401  (registers "pdqn", "mpdqn", "pdqn_td3")
)
