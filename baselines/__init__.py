"""Baseline agents, importable as ``pamdp_bench.baselines`` (one subpackage per family)."""
from pamdp_bench.baselines import (
    bc,  # noqa: F401  (registers "bc")
    clap,  # noqa: F401  (registers "clap")
    dlpa,  # noqa: F401  (registers "dlpa")
    flexplore,  # noqa: F401  (registers "flexplore")
    hppo,  # noqa: F401  (registers "hppo")
    hyar,  # noqa: F401  (registers "hyar_td3", "hyar_ddpg")
    paddpg,  # noqa: F401  (registers "paddpg", "patd3")
    pdqn,  # noqa: F401  (registers "pdqn", "mpdqn", "pdqn_td3")
    qmle,  # noqa: F401  (registers "qmle")
    reference,  # noqa: F401  (registers "random", "scripted")
)
