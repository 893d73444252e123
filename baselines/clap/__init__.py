"""C-LAP (``clap``): constrained latent action policies, offline, for hybrid actions (§6.3).

Modules: ``networks`` (the latent action state-space model, latent and hybrid policies,
critic), ``agent`` (ELBO training, imagined actor-critic, recurrent acting; the ablations
``constraint=false`` and ``latent_actions=false`` are config fields), ``config`` (defaults and
their sources).
"""

from pamdp_bench.baselines.clap.agent import CLAP, CLAPState, nstep_returns
from pamdp_bench.baselines.clap.config import CLAPConfig, default_config

__all__ = ["CLAP", "CLAPConfig", "CLAPState", "default_config", "nstep_returns"]
