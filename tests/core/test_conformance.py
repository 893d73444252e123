"""The conformance checker: passes on the golden data, and catches what it must catch.

The full run (``pamdp-bench conformance GOLDEN``: every trajectory file plus stats.json) is
the acceptance test of the environments; the other tests make sure the checker itself can
fail: altered recordings, malformed files, too many diverged episodes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import pytest

from pamdp_bench.tools import conformance
from pamdp_bench.tools.golden_stats import StatCheck, bonferroni_z


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pamdp_bench.cli", *args],
        capture_output=True, text=True, timeout=1200,
    )


def test_every_golden_trajectory_replays(golden: str) -> None:
    """Every golden episode of every benchmark replays (noise off). CI runs this part; the
    statistics (noise on) are checked per env by tests/envs (test_*_stats, against the same
    stats.json), and all together by the long test below."""
    proc = _cli("conformance", golden, "--nostats")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("ok", "FAIL"))]
    assert len([ln for ln in lines if "episodes matched" in ln]) == 8
    assert "conformance: PASS" in proc.stdout


@pytest.mark.long  # 90 s, 80 of them stats.json, which the per-env tests check in CI
def test_full_conformance_on_golden(golden: str) -> None:
    """Every golden episode of every benchmark replays, and stats.json agrees (noise on)."""
    proc = _cli("conformance", golden)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("ok", "FAIL"))]
    assert len([ln for ln in lines if "episodes matched" in ln]) == 8
    assert "conformance: PASS" in proc.stdout


def _copy_one(golden: str, tmp_path, name: str = "catch_point.json") -> tuple[str, dict]:
    d = tmp_path / "golden"
    d.mkdir()
    shutil.copy(os.path.join(golden, name), d / name)
    with open(d / name) as f:
        return str(d), json.load(f)


def _write(directory: str, name: str, data: dict) -> None:
    with open(os.path.join(directory, name), "w") as f:
        json.dump(data, f)


def test_detects_altered_observation(golden: str, tmp_path) -> None:
    d, data = _copy_one(golden, tmp_path)
    data["episodes"][3]["steps"]["obs"][1][2] += 0.01
    _write(d, "catch_point.json", data)
    (rep,) = conformance.run_replays(d)
    assert [div.episode for div in rep.divergences] == [3]
    div = rep.divergences[0]
    assert div.step == 2 and div.what == "obs[2]"
    assert math.isclose(abs(div.ours - div.ref), 0.01, rel_tol=1e-3)
    assert "episode 3" in div.describe() and "step 2" in div.describe()


# make test-long: 20 s (a replay and a CLI run); divergences named by episode and step stay in
# CI (the test above), as do the golden replays themselves
@pytest.mark.long
def test_detects_flipped_terminal_and_fails_above_five_percent(golden: str, tmp_path) -> None:
    d, data = _copy_one(golden, tmp_path)
    for i in range(3):
        data["episodes"][i]["steps"]["terminal"][0] = not data["episodes"][i]["steps"][
            "terminal"][0]
    _write(d, "catch_point.json", data)
    (rep,) = conformance.run_replays(d)
    assert {div.what for div in rep.divergences} == {"terminal"}
    assert len(rep.divergences) == 3 and not rep.ok  # 3 of ~40 > 5%
    proc = _cli("conformance", d, "--nostats")
    assert proc.returncode == 1 and "FAIL" in proc.stdout


def test_detects_altered_reward_on_any_directory(golden: str, tmp_path) -> None:
    d, data = _copy_one(golden, tmp_path, "hard_move_4.json")
    data["episodes"][0]["steps"]["reward"][0] -= 1e-2
    _write(d, "hard_move_4.json", data)
    (rep,) = conformance.run_replays(d)
    assert rep.divergences[0].what == "reward" and rep.ok  # one of ~40 is within 5%


def test_malformed_file_is_named(tmp_path) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "platform.json").write_text('{"benchmark": "platform", "episodes": [{"init": {}}]}')
    with pytest.raises(ValueError, match=r"platform.json: episode 0 has no field 'obs0'"):
        conformance.run_replays(str(d))
    proc = _cli("conformance", str(d))
    assert proc.returncode == 2 and "platform.json" in proc.stderr
    proc = _cli("conformance", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_unknown_benchmark_name(tmp_path) -> None:
    with pytest.raises(ValueError, match="no env"):
        conformance.env_id_for("tetris")
    assert conformance.env_id_for("hard_move_12") == "HardMove-n12-v0"


def test_stat_check_bounds() -> None:
    assert abs(bonferroni_z(1) - 3.0) < 1e-9
    assert bonferroni_z(100) > 4.0
    c = StatCheck("s", "m", ours=1.0, ours_se=0.1, ref=1.4, ref_se=0.1, z=3.0)
    assert c.ok  # 0.4 <= 3 * 0.1414 + tolerance
    c = StatCheck("s", "m", ours=1.0, ours_se=0.1, ref=1.4, ref_se=0.0, z=3.0)
    assert not c.ok  # 0.4 > 0.3 + tolerance
    exact = StatCheck("s", "m", ours=0.0, ours_se=0.0, ref=1e-3, ref_se=0.0, z=3.0)
    assert not exact.ok and "FAIL" in exact.describe()
