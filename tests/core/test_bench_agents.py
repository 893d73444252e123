"""Agent bench suites: a partial re-bench replaces only its agents' rows; a malformed earlier
file is refused and left as it was."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from pamdp_bench.tools import bench_agents


def _fake_bench(agent: str, env_id: str, seeds: int = 1, log: Any = None, repeats: int = 5,
                chunk: int = 1000) -> dict[str, Any]:
    return {"agent": agent, "env": env_id, "seeds": seeds, "env_steps_per_second": 100.0 * seeds,
            "env_steps_per_second_per_seed": 100.0, "compile_seconds": 1.0,
            "load_average_1min": 0.0, "repeats": repeats, "chunk": chunk}


@pytest.fixture(autouse=True)
def _no_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_agents, "bench_agent", _fake_bench)
    monkeypatch.setattr(bench_agents, "matmul_peak", lambda: 1.0)


def test_partial_rebench_keeps_other_agents_rows(tmp_path: Any) -> None:
    path = bench_agents.run_suite("modelfree", str(tmp_path), agents=["pdqn", "hppo"],
                                  log=lambda _: None)
    with open(path) as f:
        first = json.load(f)
    assert [(r["agent"], r["seeds"]) for r in first["rows"]] == [
        ("pdqn", 1), ("pdqn", 8), ("hppo", 1), ("hppo", 8)]
    bench_agents.run_suite("modelfree", str(tmp_path), agents=["pdqn"], log=lambda _: None)
    with open(path) as f:
        second = json.load(f)
    assert [(r["agent"], r["seeds"]) for r in second["rows"]] == [
        ("pdqn", 1), ("pdqn", 8), ("hppo", 1), ("hppo", 8)]
    assert "| hppo |" in open(os.path.join(tmp_path, "modelfree.md")).read()


def test_qmle_suite_rows_use_its_chunk_and_repeats(tmp_path: Any) -> None:
    path = bench_agents.run_suite("qmle", str(tmp_path), log=lambda _: None)
    with open(path) as f:
        rows = json.load(f)["rows"]
    assert len(rows) == 8 and {(r["chunk"], r["repeats"]) for r in rows} == {(200, 3)}
    assert "| qmle | HardMove-n16-v0 | 8 |" in open(os.path.join(tmp_path, "qmle.md")).read()


def test_malformed_previous_file_is_refused_and_kept(tmp_path: Any) -> None:
    path = os.path.join(tmp_path, "modelfree.json")
    with open(path, "w") as f:
        f.write('{"suite": "modelfree", "rows": [')
    with pytest.raises(ValueError, match="modelfree.json: cannot keep its rows"):
        bench_agents.run_suite("modelfree", str(tmp_path), agents=["pdqn"], log=lambda _: None)
    assert open(path).read() == '{"suite": "modelfree", "rows": ['


# make test-long: 15-30 s (BC's training compiled for the bench); the offline agents' random
# episodes are built in CI by test_clap's dataset fixture, the bench table by the fake above
@pytest.mark.long
def test_offline_agents_bench_gradient_steps_on_random_episodes(monkeypatch) -> None:
    """The real bench_train (not the fake above) on BC: a dataset is made, the rate is in
    gradient steps, and the suite's table reads those columns."""
    monkeypatch.undo()
    monkeypatch.setattr(bench_agents, "OFFLINE_BENCH_TRANSITIONS", 500)
    row = bench_agents.bench_train("bc", "CatchPoint-v0", seeds=2, chunk=5, repeats=1,
                                   log=lambda _: None)
    assert row["gradient_steps_per_second"] > 0 and row["dataset_transitions"] == 500
    assert row["gradient_steps_per_second_per_seed"] == row["gradient_steps_per_second"] / 2
    md = bench_agents.suite_markdown({"suite": "offline", "rows": [row]})
    assert "| bc | CatchPoint-v0 | 2 |" in md and "gradient steps/s" in md
