"""The Goal A/B tool's statistics and bookkeeping (its runs need torch, gym and the originals'
checkouts, so they are not run here)."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from pamdp_bench.tools import goal_ab


@pytest.mark.parametrize("table", [(3, 5, 0, 5), (10, 20, 2, 20), (0, 20, 0, 20), (7, 9, 1, 12)])
def test_fisher_exact_matches_scipy(table: tuple[int, int, int, int]) -> None:
    a_hits, a_n, b_hits, b_n = table
    expected = stats.fisher_exact([[a_hits, a_n - a_hits], [b_hits, b_n - b_hits]]).pvalue
    assert goal_ab.fisher_exact_p(*table) == pytest.approx(expected, rel=1e-9)


def _row(side: str, seed: int, steps: int, length: float, success: float = 0.0) -> dict:
    return {"side": side, "seed": seed, "env_steps": steps, "greedy_length": length,
            "greedy_success": success, "greedy_return": -6.6}


def test_summarize_counts_collapsed_seeds_per_group() -> None:
    rows = [_row("original", s, 5000, 1.0 if s < 2 else 4.0, 0.0 if s < 2 else 0.5)
            for s in range(6)]
    rows.append(_row("original", 6, 4000, 1.0))  # stopped before the collapse point: not counted
    harness = {"schema": "pamdp_bench.result/1", "seed": 0, "env_steps": 5000,
               "return_mean": -6.6, "success_rate": 0.0, "length_mean": 1.0}
    rows += [dict(harness, seed=s, length_mean=1.0 if s < 5 else 3.5) for s in range(6)]
    text = goal_ab.summarize(rows, at=5000)
    assert "| torch-original | 6 | 2 | 0.333 |" in text
    assert "| jax-ours | 6 | 5 |" in text
    p = goal_ab.fisher_exact_p(2, 6, 5, 6)
    assert f"| torch-original vs jax-ours | 2/6 vs 5/6 | {p:.3f} |" in text


def test_learn_resume_skips_only_finished_seeds(tmp_path) -> None:
    out = tmp_path / "learn.jsonl"
    out.write_text("\n".join(json.dumps(_row("original", s, st, 1.0))
                             for s, st in ((1, 5000), (2, 3000))) + "\n")
    assert goal_ab._done_seeds(str(out), "original", 5000) == {1}
    assert goal_ab._done_seeds(str(out), "ours", 5000) == set()
    assert goal_ab._done_seeds(str(tmp_path / "missing.jsonl"), "original", 5000) == set()


def test_originals_must_be_checkouts(tmp_path) -> None:
    with pytest.raises(SystemExit, match="not a checkout"):
        goal_ab.add_original_paths(str(tmp_path), str(tmp_path))


def test_agent_settings_are_the_suites_hyar_goal_reading() -> None:
    # main_goal_pdqn.py's argparse defaults, by MP-DQN's argument names; HyAR's nets are 2x256
    hidden, kwargs = goal_ab.hyar_agent_kwargs()
    assert hidden == (256, 256)
    assert kwargs == dict(
        batch_size=128, learning_rate_actor=0.001, learning_rate_actor_param=0.00001,
        epsilon_steps=1000, epsilon_final=0.01, gamma=0.95, clip_grad=1.0, indexed=False,
        average=False, random_weighted=False, tau_actor=0.1, weighted=False,
        tau_actor_param=0.001, initial_memory_threshold=128, use_ornstein_noise=True,
        replay_memory_size=20000, inverting_gradients=True, zero_index_gradients=False)
