"""P-DQN family: P-DQN (``pdqn``), MP-DQN (``mpdqn``) and PDQN-TD3 (``pdqn_td3``).

Faithful to ``cycraig/MP-DQN`` ``agents/pdqn.py`` / ``pdqn_multipass.py`` (spec §7.2) with
HyAR's ``Raw_RL`` per-env settings as defaults (spec §7.1, §7.4); ``config.py`` records the
source of every default. Modules: ``networks`` (parameter network with frozen passthrough,
single- and multi-pass Q-networks), ``losses`` (TD loss, inverting-gradient parameter loss),
``agent`` (the harness agents), ``config`` (per-env defaults).

Memory of the multi-pass Q-network: ``O(B * (P + K) * H)`` activations per layer (no
``K x (obs + P)`` masked inputs, no ``K x K`` outputs above ``K * P = 4096``); Hard Move n=10
(K = P = 1024), H = 256, batch 128: ~134 MB per activation, so an update is compute bound
(~K times a single pass), as in the original.
"""

from pamdp_bench.baselines.pdqn.agent import MPDQN, PDQN, PDQNTD3, PDQNAgent, PDQNState
from pamdp_bench.baselines.pdqn.config import PDQNConfig, default_config, mpdqn_paper_config

__all__ = ["MPDQN", "PDQN", "PDQNTD3", "PDQNAgent", "PDQNConfig", "PDQNState",
           "default_config", "mpdqn_paper_config"]
