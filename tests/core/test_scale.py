"""The scaling study's table (``pamdp-bench scale``): success from the records of the ``scale``
protocol (other protocols ignored), costs from the 1-seed bench rows, partial runs marked,
missing cells shown as such, and the three files written."""

from __future__ import annotations

import json
import os

from test_tables import rec

from pamdp_bench.analysis.scale import bench_costs, build_scale, hard_move_n
from pamdp_bench.cli.main import main
from pamdp_bench.harness.records import append_records


def _records() -> list[dict]:
    out = []
    for seed, succ in enumerate((0.9, 0.7, 0.8)):
        out.append(rec("scale", "HardMove-n4-v0", "qmle", seed, 20000, 0.0, succ, True))
        out.append(rec("scale", "HardMove-n16-v0", "qmle", seed, 5000, 0.0, 0.1, False))
        out.append(rec("scale", "HardMove-n4-v0", "dlpa", seed, 20000, 0.0, 1.0, True))
        out.append(rec("dlpa", "HardMove-n4-v0", "qmle", seed, 20000, 0.0, 0.0, True))
    return out


def _bench(path: str) -> None:
    rows = [{"agent": "qmle", "env": "HardMove-n4-v0", "seeds": 1,
             "env_steps_per_second_per_seed": 100.0},
            {"agent": "qmle", "env": "HardMove-n4-v0", "seeds": 8,
             "env_steps_per_second_per_seed": 10.0},
            {"agent": "dlpa", "env": "HardMove-n16-v0", "seeds": 1,
             "seconds_per_planned_step": 0.05},
            {"agent": "qmle", "env": "Platform-v0", "seeds": 1,
             "env_steps_per_second_per_seed": 1.0},
            {"agent": "pdqn", "env": "HardMove-n16-v0", "seeds": 1,
             "error": "out of memory: an allocation of 26.2 GB failed"}]
    with open(path, "w") as f:
        json.dump({"suite": "scale", "rows": rows}, f)


def test_costs_take_one_seed_rows_of_hard_move(tmp_path) -> None:
    _bench(str(tmp_path / "b.json"))
    assert bench_costs(str(tmp_path / "b.json")) == {
        ("qmle", 4): 0.01, ("dlpa", 16): 0.05,
        ("pdqn", 16): "out of memory: an allocation of 26.2 GB failed"}
    assert bench_costs(str(tmp_path / "missing.json")) == {}
    assert hard_move_n("HardMove-n12-v0") == 12 and hard_move_n("Platform-v0") is None


def test_table_and_plot(tmp_path, capsys) -> None:
    runs = tmp_path / "runs"
    os.makedirs(runs)
    append_records(str(runs / "r.jsonl"), _records())
    _bench(str(tmp_path / "b.json"))
    md, files = build_scale([str(runs)], str(tmp_path / "b.json"), str(tmp_path / "out"))
    assert all(os.path.getsize(f) > 0 for f in files)
    table, progress = md.split("## Success by env steps")
    table, published = table.split("## Published numbers beside ours")
    # DLPA's n=4 return beside DLPA Table 1's (the records' return is 0.0)
    assert "| 4 | dlpa | return 0.00 ± 0.00 (20k) | return 6.29 ± 5.74 | DLPA T1" in published
    assert "| 16 |" not in published  # nobody published n = 16
    lines = {ln.split(" | ")[0].strip("| "): ln for ln in table.splitlines()
             if ln.startswith("| ")}
    assert lines["4"].split(" | ")[2:] == ["1.00 ± 0.00 (3, 20k)", "—", "—", "—",
                                           "0.80 ± 0.10 (3, 20k)", "10.0 |"]
    assert "0.10 ± 0.00 (3, 5k, partial)" in lines["16"] and "50.0" in lines["16"]
    # P-DQN's n=16 cost could not be measured: the cell says why, not a blank
    assert lines["16"].split(" | ")[4:6] == ["—", "OOM"]
    # the progress section: one table per agent of the scale protocol, a column per evaluation
    assert "### qmle" in progress and "### dlpa" in progress and "| n | 5k | 20k |" in progress
    assert "| 4 | — | 0.80 |" in progress and "| 16 | 0.10 | — |" in progress
    assert main(["pamdp-bench", "scale", str(runs), f"--bench={tmp_path / 'b.json'}",
                 f"--out={tmp_path / 'cli'}"]) == 0
    assert "Scaling study" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "cli" / "scale.png")


def test_a_run_past_the_budget_is_compared_at_the_budget(tmp_path) -> None:
    """QMLE extended to 40k (its 20k records written as final by the first run) and DLPA run
    straight to 40k (its 20k record not final): the main table shows both at 20k, complete;
    the section beyond the budget shows where they got to."""
    records = []
    for seed in range(3):
        records += [rec("scale", "HardMove-n4-v0", "qmle", seed, 20000, 0.0, 0.5, True),
                    rec("scale", "HardMove-n4-v0", "qmle", seed, 40000, 0.0, 0.9, True),
                    rec("scale", "HardMove-n4-v0", "dlpa", seed, 20000, 0.0, 0.7, False),
                    rec("scale", "HardMove-n4-v0", "dlpa", seed, 30000, 0.0, 0.8, False)]
    append_records(str(tmp_path / "r.jsonl"), records)
    md, _ = build_scale([str(tmp_path / "r.jsonl")], str(tmp_path / "none.json"),
                        str(tmp_path / "out"))
    table, beyond = md.split("## Beyond the protocol's budget")
    row = next(ln for ln in table.splitlines() if ln.startswith("| 4 |"))
    assert row.split(" | ")[2:] == ["0.70 ± 0.00 (3, 20k)", "—", "0.50 ± 0.00 (3, 20k)", "— |"]
    assert "| 4 | qmle | 0.50 ± 0.00 | 0.90 ± 0.00 (3, 40k) |" in beyond
    assert "| 4 | dlpa | 0.70 ± 0.00 | 0.80 ± 0.00 (3, 30k, partial) |" in beyond


def test_committed_scale_table_regenerates(tmp_path) -> None:
    """``results/tables/scale`` comes back from the committed records and bench file."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build_scale([os.path.join(repo, "results", "runs", "scale")],
                os.path.join(repo, "results", "bench", "scale.json"), str(tmp_path))
    for name in ("scale.md", "scale.csv"):
        with open(os.path.join(repo, "results", "tables", "scale", name)) as f:
            committed = f.read()
        with open(tmp_path / name) as f:
            assert f.read() == committed, f"scale/{name} differs from its regeneration"
