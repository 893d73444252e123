"""``tools.catch_probe``: the probed states and what the planner counts at them."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from pamdp_bench.baselines.dlpa.config import default_config
from pamdp_bench.baselines.dlpa.networks import init_model
from pamdp_bench.tools.catch_probe import DISTANCES, catch_profile, main, probe_states


def test_probe_states_put_the_landmark_at_each_distance() -> None:
    s = probe_states(6, distances=(0.0, 0.2), directions=4, t=6)
    assert s.shape == (8, 6) and s.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(s[:, 2:4], axis=1), [0.0] * 4 + [0.2] * 4,
                               atol=1e-6)
    assert (s[:, :2] == 0).all() and (s[:, 4] == -1).all()
    np.testing.assert_allclose(s[:, 5], -0.5)
    assert probe_states(4, distances=(0.3,), directions=2).shape == (2, 4)
    np.testing.assert_allclose(probe_states(6, failures=3)[:, 4], -0.5)
    np.testing.assert_allclose(probe_states(6, failures=11)[:, 4], -1 + 10 / 6)  # DLPA's cap
    with pytest.raises(ValueError, match="0..11 failed catches"):
        probe_states(6, failures=12)
    with pytest.raises(ValueError, match="4 or 6 dims"):
        probe_states(5)


@pytest.mark.parametrize("terminal", [True, False])
def test_the_planner_reward_follows_the_continuation_argmax(terminal: bool) -> None:
    """With the continuation head's bias forcing one outcome everywhere, the counted reward is
    r1 (terminal) or r0 (continue), as ``dlpa.planner.rollout_returns`` counts it."""
    cfg = default_config("CatchPoint-v0")
    assert cfg.two_reward_heads
    model = init_model(jax.random.key(0), cfg, 6, 2, 1)
    bias = np.asarray(model["rc"]["bm"]).copy()
    bias[-1] = [20.0, -20.0] if terminal else [-20.0, 20.0]  # logit 0 = terminal
    model["rc"]["bm"] = bias
    prof = catch_profile(model, cfg, probe_states(6), 1, len(DISTANCES))
    assert all(v.shape == (len(DISTANCES),) for v in prof.values())
    np.testing.assert_allclose(prof["p_terminal"], 1.0 if terminal else 0.0, atol=1e-6)
    np.testing.assert_allclose(prof["planner_reward"], prof["r1" if terminal else "r0"])
    assert not np.allclose(prof["r0"], prof["r1"])


def test_a_missing_run_is_refused(tmp_path) -> None:  # noqa: ANN001
    from pamdp_bench.harness.restore import RestoreError

    with pytest.raises(RestoreError, match="no such run directory"):
        main([str(tmp_path / "nothing")])
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--t=-1"])
    for bad in ("--failures=12", "--distances=0.1,x", "--distances=-1"):
        with pytest.raises(SystemExit):
            main([str(tmp_path), bad])
