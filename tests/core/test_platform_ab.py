"""The Platform A/B tool's statistics and bookkeeping (its runs need torch, gym and the
originals' checkouts, so they are not run here; the recorded level statistics they produced are
checked by tests/envs/test_platform_level_stats.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pamdp_bench.tools import platform_ab, platform_ab_stats


def test_permutation_p_is_exact() -> None:
    # 5 vs 5 fully separated: only the observed split and its mirror are as extreme
    assert platform_ab_stats.permutation_p([10, 11, 12, 13, 14], [0, 1, 2, 3, 4]) == pytest.approx(
        2 / 252
    )
    assert platform_ab_stats.permutation_p([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0


def _row(side: str, seed: int, steps: int, ret: float) -> dict:
    return {"side": side, "seed": seed, "noise": True, "env_steps": steps, "eval_every": 1000,
            "greedy_return": ret}


def test_summarize_pools_the_seeds_of_each_point() -> None:
    rows = [_row("original", s, st, 0.5 + 0.1 * s) for s in (1, 2) for st in (1002, 2001)]
    rows += [_row("ours", s, st, 0.4) for s in (1, 2) for st in (1000, 2003)]
    rows.append(_row("ours", 3, 1000, 0.9))  # seed 3 stopped before the 2,000-step point
    lines = platform_ab_stats.summarize(rows).splitlines()
    first = next(x for x in lines if x.startswith("| 1,000 |"))
    second = next(x for x in lines if x.startswith("| 2,000 |"))
    assert "0.567 ± 0.289" in first and "| 2 / 3 |" in first
    assert "0.650 ± 0.071" in second and "0.400 ± 0.000" in second and "| 2 / 2 |" in second
    # the curve mean only uses the points every seed reached (1,000 here)
    assert any(x.startswith("| mean over 1,000-1,000 |") for x in lines)
    assert not any(x.startswith("| mean over 2,000") for x in lines)  # no window asked for


def test_summarize_late_window_and_first_gap_count() -> None:
    # original seeds cross late (0.4 -> 0.9 from step 3,000); ours stay at the first gap
    rows = [_row("original", s, st, 0.4 if st < 3000 else 0.9) for s in (1, 2, 3)
            for st in (1000, 2000, 3000, 4000)]
    rows += [_row("ours", s, st, 0.4 if s < 3 else 0.8) for s in (1, 2, 3)
             for st in (1000, 2000, 3000, 4000)]
    lines = platform_ab_stats.summarize(rows, late_from=3000).splitlines()
    late = next(x for x in lines if x.startswith("| mean over 3,000-4,000 |"))
    assert "0.900 ± 0.000" in late and "0.533 ± 0.231" in late
    whole = next(x for x in lines if x.startswith("| mean over 1,000-4,000 |"))
    assert "0.650 ± 0.000" in whole
    assert any("original 0 of 3, ours 2 of 3" in x for x in lines)


def test_learn_resume_keys(tmp_path) -> None:
    out = tmp_path / "learn.jsonl"
    out.write_text(json.dumps(_row("ours", 4, 5001, 0.4)) + "\n")
    assert ("ours", 4, True, 5) in platform_ab._done_keys(str(out))
    assert platform_ab._done_keys(str(tmp_path / "missing.jsonl")) == set()


def test_originals_must_be_checkouts(tmp_path) -> None:
    with pytest.raises(SystemExit, match="not a checkout"):
        platform_ab.add_original_paths(str(tmp_path), str(tmp_path))


def test_permutation_p_samples_splits_beyond_the_exact_limit() -> None:
    # 20 + 20 seeds (1.4e11 splits): sampled; separated groups give the smallest p it can,
    # identical groups p = 1, and a moderate shift agrees with the normal approximation.
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.1, 20), rng.normal(0.0, 0.1, 20)
    assert platform_ab_stats.permutation_p(a, b) == pytest.approx(1 / 200_001)
    assert platform_ab_stats.permutation_p(a, a) == 1.0
    c, d = rng.normal(0.0, 1.0, 20), rng.normal(0.0, 1.0, 20) + 0.7
    t = abs(c.mean() - d.mean()) / np.sqrt(c.var(ddof=1) / 20 + d.var(ddof=1) / 20)
    p = platform_ab_stats.permutation_p(c, d)
    assert p == pytest.approx(math.erfc(t / math.sqrt(2)), abs=0.02)
