"""``python -m pamdp_bench.baselines.brax_ppo``: see ``train.main``."""

import sys

from pamdp_bench.baselines.brax_ppo.train import main

sys.exit(main())
