"""Smoke runs of every ``pamdp-bench`` subcommand (quick protocol, random agent, tiny budgets).

Each command runs as a real subprocess, as a user would call it; exit codes and outputs are
checked, including the failure paths (tampered entry, bad ids).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args: str, cwd: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pamdp_bench.cli", *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, **env} if env else None)


TINY = ("--protocol=quick", "--env=CatchPoint-v0", "--seeds=2", "--budget=200",
        "--eval_interval=100", "--eval_episodes=5")


def test_usage_and_unknown_command() -> None:
    proc = cli()
    assert proc.returncode == 2 and "Commands:" in proc.stderr
    proc = cli("fly")
    assert proc.returncode == 2 and "unknown command 'fly'" in proc.stderr


@pytest.mark.long  # CI time (27 s of subprocesses); eval is tested in-process (test_restore)
def test_envs_and_eval() -> None:
    proc = cli("envs")
    assert proc.returncode == 0 and "HardMove-n10-v0 | 4 | 1024" in proc.stdout
    proc = cli("eval", "--agent=random", "--env=Platform-v0,CatchPoint-v0", "--episodes=50")
    assert proc.returncode == 0, proc.stderr
    assert "| Platform-v0 | random |" in proc.stdout
    proc = cli("eval", "--env=Platfrom-v0")
    assert proc.returncode == 2 and "Did you mean" in proc.stderr


@pytest.mark.long  # 53 s of subprocesses; test_leaderboard covers submit/verify in CI
def test_train_table_submit_verify_leaderboard(tmp_path) -> None:
    run = str(tmp_path / "run")
    proc = cli("train", "--agent=random", f"--out={run}", *TINY)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(run, "results.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert len(records) == 4 and {"return_mean", "success_rate"} <= set(records[0])
    proc = cli("train", "--agent=random", f"--out={run}", *TINY)
    assert proc.returncode == 2 and "resume" in proc.stderr  # never overwrites a run
    proc = cli("train", "--agent=scripted", "--protocol=quick", "--supported_only",
               f"--out={tmp_path / 'scripted'}", "--seeds=1", "--budget=100",
               "--eval_interval=100", "--eval_episodes=5")
    assert proc.returncode == 0, proc.stderr

    proc = cli("table", run, str(tmp_path / "scripted"), f"--out={tmp_path / 'tables'}",
               "--reps=200")
    assert proc.returncode == 0, proc.stderr
    assert "Catch Point" in proc.stdout and os.path.exists(tmp_path / "tables" / "scores.csv")

    entries = str(tmp_path / "entries")
    proc = cli("submit", "random", f"--entries={entries}", f"--out={tmp_path / 'sub'}", *TINY)
    assert proc.returncode == 0, proc.stderr
    (entry,) = [os.path.join(entries, f) for f in os.listdir(entries)]
    proc = cli("verify", entry)
    assert proc.returncode == 0 and "VERIFIED" in proc.stdout, proc.stdout + proc.stderr
    assert "bit for bit" in proc.stdout
    # the verdict is unsigned (no key), so the board does not trust it (signed verdicts and
    # `leaderboard --verify`: tests/core/test_leaderboard.py)
    proc = cli("leaderboard", f"--entries={entries}", f"--out={tmp_path / 'board.md'}")
    assert proc.returncode == 0 and "unsigned verdict" in proc.stdout

    with open(entry) as f:
        data = json.load(f)
    data["records"][0]["return_mean"] += 1.0  # tamper with one number
    tampered = str(tmp_path / "tampered.json")
    with open(tampered, "w") as f:
        json.dump(data, f)
    proc = cli("verify", tampered)
    assert proc.returncode == 2 and "digest" in proc.stderr


@pytest.mark.long  # CI time (23 s of subprocesses); render is tested in-process (test_restore,
# test_rendering), the bench by make bench
def test_bench_and_render(tmp_path) -> None:
    proc = cli("bench", "--env=CatchPoint-v0", "--batches=1,8", "--bench_budget=200",
               "--repeats=1", f"--out={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "envs.json") as f:
        rows = json.load(f)["rows"]
    assert [r["batch"] for r in rows] == [1, 8] and rows[0]["steps_per_second"] > 0
    proc = cli("render", "--env=HardMove-n4-v0", "--max_steps=3", f"--out={tmp_path / 'r'}")
    assert proc.returncode == 0, proc.stderr
    assert any(f.endswith(".gif") for f in os.listdir(tmp_path / "r"))


@pytest.mark.long  # CI time (30 s of subprocesses); spec folding is tested in-process
# (test_cli_flags, test_agents)
def test_agent_spec_and_config_flags(tmp_path) -> None:
    """``--config`` folds into the agent spec; records carry the canonical spec."""
    run = str(tmp_path / "run")
    proc = cli("train", "--agent=pdqn[hidden_q=[8]]", "--config=hidden_param=[8]",
               "--config=batch_size=8", "--config=initial_memory=8", f"--out={run}",
               "--protocol=quick", "--env=Platform-v0", "--seeds=1", "--budget=40",
               "--eval_interval=40", "--eval_episodes=2")
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(run, "results.jsonl")) as f:
        (record,) = [json.loads(line) for line in f]
    assert record["agent"] == "pdqn[batch_size=8,hidden_param=[8],hidden_q=[8],initial_memory=8]"
    proc = cli("train", "--agent=pdqn[hidden_q=[8]]", "--config=hidden_q=[4]", f"--out={run}2",
               "--protocol=quick", "--env=Platform-v0")
    assert proc.returncode == 2 and "both in the agent spec and in --config" in proc.stderr


@pytest.mark.long  # a 12 s subprocess; `make bench` runs this path
def test_agent_bench_prints_json_last() -> None:
    proc = cli("bench", "--agent=pdqn", "--config=hidden_q=[8]", "--config=hidden_param=[8]",
               "--env=Platform-v0", "--seeds=2")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["seeds"] == 2 and out["env_steps_per_second"] > 0 and out["compile_seconds"] > 0


@pytest.mark.parametrize("args", [("table", "/nonexistent"), ("verify", "/nonexistent.json"),
                                  ("conformance", "/nonexistent")])
def test_bad_paths_are_clear_errors(args: tuple[str, ...]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error:"), proc.stderr


def test_train_summary_counts_each_seeds_latest_record_once() -> None:
    """An extended run holds final records at 20k and 30k: the summary is the 30k ones, with
    the tables' std (ddof=1)."""
    from pamdp_bench.cli.train import final_summary

    def rec(seed: int, steps: int, ret: float) -> dict:
        return {"protocol": "dlpa", "env_id": "HardMove-n8-v0", "agent": "dlpa", "seed": seed,
                "env_steps": steps, "final": steps in (20_000, 30_000), "return_mean": ret,
                "success_rate": 0.5}

    records = [rec(s, n, float(s) + n / 10_000) for s in range(3)
               for n in (10_000, 20_000, 30_000)]
    assert final_summary(records) == [
        "HardMove-n8-v0: final return 4.000 ± 1.000, success rate 0.500 ± 0.000 (n=3 seeds, "
        "30,000 env steps)"]
    (line,) = final_summary([r for r in records if r["seed"] == 0 and r["env_steps"] < 30_000])
    assert line.endswith("final return 2.000, success rate 0.500 (n=1 seeds, 20,000 env steps)")
