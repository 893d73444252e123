"""The progress display's heartbeat: lines while an interval runs, none after it, none when off."""

from __future__ import annotations

import re
import time

import pytest

from pamdp_bench.harness import progress as progress_lib


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The log lines the progress module writes (pytest captures stderr, so no tqdm bar)."""
    out: list[str] = []
    monkeypatch.setattr(progress_lib.logging, "info", lambda fmt, *a: out.append(fmt % a))
    return out


def _wait_for(lines: list[str], count: int, timeout: float = 20.0) -> None:
    t_end = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < t_end:
        time.sleep(0.01)


def _beats(lines: list[str]) -> list[str]:
    return [line for line in lines if "into this interval" in line]


def test_heartbeat_lines_come_during_an_interval_and_stop_after_it(lines: list[str]) -> None:
    bar = progress_lib.Progress("Env agent (p)", 100, 0, 3, enabled=True, heartbeat_s=0.02)
    with bar.interval(0, 50):
        _wait_for(lines, 2)
    first = _beats(lines)
    assert len(first) >= 2
    assert re.fullmatch(r"Env agent \(p\): training 0 -> 50 env steps, \d+:\d\d:\d\d into this "
                        r"interval \(the first includes compilation\)", first[0])
    assert bar.last_interval_s is not None and bar.last_interval_s > 0
    n = len(lines)
    time.sleep(0.1)
    assert len(lines) == n  # the thread stopped with the interval

    with bar.interval(50, 100):
        _wait_for(lines, n + 1)
    assert "training 50 -> 100 env steps" in lines[n]
    assert re.search(r"\(the last took \d+:\d\d:\d\d\)$", lines[n])


@pytest.mark.parametrize("enabled, every", [(False, 0.02), (True, 0.0)])
def test_no_heartbeat_when_disabled(lines: list[str], enabled: bool, every: float) -> None:
    bar = progress_lib.Progress("Env agent (p)", 100, 0, 1, enabled=enabled, heartbeat_s=every)
    with bar.interval(0, 100):
        time.sleep(0.1)
    assert lines == []
    assert bar.last_interval_s is not None


def test_the_interval_ends_its_heartbeat_when_the_work_raises(lines: list[str]) -> None:
    bar = progress_lib.Progress("Env agent (p)", 100, 0, 1, enabled=True, heartbeat_s=0.02)
    with pytest.raises(RuntimeError), bar.interval(0, 100):
        raise RuntimeError("device failed")
    n = len(lines)
    time.sleep(0.1)
    assert len(lines) == n
