"""The on-policy probe's statistics and its JAX side (the original side needs the originals'
checkouts and torch, so the runs themselves are not part of the suite)."""

from __future__ import annotations

import numpy as np
import pytest

from pamdp_bench.tools import platform_ab_probe as probe


def _data(n: int, shift_band: float | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthetic probe arrays: hop everywhere, x uniform in [0, 250), P(terminal) 0.3 on both
    sides, except ours at 0.6 in the x band [100, 125) when ``shift_band`` is set."""
    x = rng.uniform(0.0, 250.0, n)
    state = np.zeros((n, 8))
    state[:, 0] = x
    p_ours = np.where((shift_band is not None) & (x >= 100) & (x < 125), 0.6, 0.3)
    m = 4
    orig = np.zeros((n, m, len(probe.OUTCOMES)))
    ours = np.zeros_like(orig)
    orig[:, :, 0] = rng.random((n, m)) < 0.3
    ours[:, :, 0] = rng.random((n, m)) < p_ours[:, None]
    return {"state": state, "k": np.ones(n, int), "z": np.zeros(n), "original": orig,
            "ours": ours}


def test_analyze_finds_a_difference_confined_to_one_band() -> None:
    rng = np.random.default_rng(0)
    res = probe.analyze(_data(20_000, 1.0, rng))["outcomes"]["terminal"]
    by = {s["stratum"]: s for s in res["strata"]}
    band = by["hop x in [100, 125)"]
    assert band["diff"] == pytest.approx(-0.3, abs=0.03) and band["z"] < -10
    others = [s["z"] for label, s in by.items() if " x in " in label and "[100, " not in label]
    assert max(abs(z) for z in others) < 4
    assert res["df"] == 10 and res["chi2"] > 100


def test_analyze_agreeing_sides_give_chi2_near_df() -> None:
    rng = np.random.default_rng(1)
    res = probe.analyze(_data(20_000, None, rng))["outcomes"]["terminal"]
    assert res["df"] == 10
    assert res["chi2"] < 30  # chi-square(10): P(> 30) < 0.001
    assert abs(res["strata"][0]["z"]) < 4


def test_ours_probe_places_the_state_in_order() -> None:
    """A run at gap 1's edge falls (terminal every sample); an enemy right ahead ends a run;
    a run on open ground lasts the 20 ticks and moves right."""
    p = probe.OursProbe(0)
    z = [np.array([1.0], np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32)]
    #             x      y     vx    vy   e1x    e1dx   e2x    e2dx
    edge = np.array([245.0, 40.0, 0.0, 0.0, 10.0, -30.0, 730.0, -30.0])
    out = p.sample(edge, 0, z, 16)
    assert out[:, 0].all() and not out[:, 1].any()
    enemy = np.array([100.0, 40.0, 0.0, 0.0, 125.0, -30.0, 730.0, -30.0])
    assert p.sample(enemy, 0, z, 16)[:, 0].all()
    free = np.array([20.0, 40.0, 0.0, 0.0, 230.0, -30.0, 730.0, -30.0])
    out = p.sample(free, 0, z, 16)
    assert not out[:, 0].any() and (out[:, 3] == 20).all() and (out[:, 4] > 40.0).all()
    # fresh noise per call: a hop's landing spot varies
    hop = [np.zeros(1, np.float32), np.array([0.0], np.float32), np.zeros(1, np.float32)]
    assert np.unique(p.sample(free, 1, hop, 16)[:, 4]).size > 1
    # only the enemy of the player's platform moves (enemy 1 here), with a random walk in dx
    assert (out[:, 8] == 730.0).all() and (out[:, 9] == -30.0).all()
    assert np.unique(out[:, 7]).size > 1 and np.allclose(out[:, 10], out[:, 7] ** 2)


def test_ours_probe_observation_matches_the_adapter() -> None:
    """The placed reset state gives the adapter's reset observation."""
    from pamdp_bench.envs.gymnasium_adapter import GymnasiumPAMDPEnv

    obs, _ = GymnasiumPAMDPEnv("Platform-v0").reset(seed=0)
    reset = np.array([0.0, 40.0, 0.0, 0.0, 230.0, -30.0, 730.0, -30.0])
    np.testing.assert_array_equal(probe.OursProbe(0).observe(reset), obs)


def test_analyze_compares_spread_and_forgives_rounding() -> None:
    """Same mean landing x, wider spread on ours: only var(x_next) flags it; a constant
    float32-sized offset in x_next (1e-4 units) is not flagged."""
    rng = np.random.default_rng(2)
    data = _data(5_000, None, rng)
    j = probe.OUTCOMES.index("x_next")
    data["original"][:, :, j] = 300.0 + rng.normal(0.0, 10.0, data["original"].shape[:2])
    data["ours"][:, :, j] = 300.0 + rng.normal(0.0, 12.0, data["ours"].shape[:2])
    out = probe.analyze(data)["outcomes"]
    assert abs(out["x_next"]["strata"][0]["z"]) < 4
    assert out["var(x_next)"]["strata"][0]["z"] < -10
    j = probe.OUTCOMES.index("vx_next")
    data["original"][:, :, j] = 69.3
    data["ours"][:, :, j] = 69.3 + 1e-4
    assert abs(probe.analyze(data)["outcomes"]["vx_next"]["strata"][0]["z"]) < 1
