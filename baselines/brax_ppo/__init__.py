"""brax's own PPO on the suite's envs (continuous relaxation; the brax extra), run under a
protocol with the harness's record format: the reference row of the HyAR Platform table.

``python -m pamdp_bench.baselines.brax_ppo --env=Platform-v0 --seeds=3 --out=DIR``.
"""

from pamdp_bench.baselines.brax_ppo.train import (
    AGENT_NAME,
    BraxPPOConfig,
    check_budget,
    main,
    run,
    train_seed,
)

__all__ = ["AGENT_NAME", "BraxPPOConfig", "check_budget", "main", "run", "train_seed"]
