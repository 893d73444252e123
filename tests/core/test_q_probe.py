"""``tools.q_probe``'s arithmetic: discounted returns along a path and the outcome groups."""

from __future__ import annotations

import numpy as np
import pytest

from pamdp_bench.tools.q_probe import discounted_returns, main, outcome_groups


def test_discounted_returns_match_the_definition() -> None:
    r = np.array([0.0, 0.5, 0.0, 1.0])
    g = discounted_returns(r, 0.9)
    np.testing.assert_allclose(g, [0.9 * 0.5 + 0.9**3, 0.5 + 0.9**2, 0.9, 1.0])
    assert discounted_returns(np.zeros(0), 0.9).shape == (0,)


def test_outcome_groups_split_success_terminal_and_alive() -> None:
    q = np.array([0.1, 0.2, 4.0, 5.0, -1.0])
    reward = np.array([0.05, 0.05, 0.0, 0.01, -0.2])
    terminated = np.array([True, True, False, False, True])
    success = np.array([True, True, False, False, False])
    groups = outcome_groups(q, reward, terminated, success)
    assert groups["success"] == pytest.approx(
        {"share": 0.4, "reward_mean": 0.05, "q_mean": 0.15, "q_max": 0.2})
    assert groups["alive"] == pytest.approx(
        {"share": 0.4, "reward_mean": 0.005, "q_mean": 4.5, "q_max": 5.0})
    assert groups["terminal"]["share"] == pytest.approx(0.2)
    assert set(outcome_groups(q[:2], reward[:2], terminated[:2], success[:2])) == {"success"}


def test_bad_arguments_are_refused(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--env=Platform-v0", "--steps=0"])
