"""Progress display of a run (tqdm on a terminal, else absl log lines with steps/s and ETA),
a heartbeat inside each training interval, and a filter that keeps orbax's INFO chatter out.

Why a heartbeat: a run reports at evaluation points only, and one interval is one blocking
device call that can take an hour on a CPU (DLPA on Platform: 5,000 planned steps). The
heartbeat is a host thread that only reads the clock while the device works, so the jitted
intervals, their keys and the records stay exactly what they are without it."""

from __future__ import annotations

import contextlib
import logging as py_logging
import math
import os
import sys
import threading
import time
from collections.abc import Iterator

from absl import logging

#: Seconds between heartbeat lines inside one training interval (0: none).
HEARTBEAT_SECONDS = 300.0


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Env steps, steps/s, ETA and the last evaluation: tqdm on a terminal, else absl logs."""

    def __init__(self, label: str, total: int, start: int, num_seeds: int, enabled: bool,
                 unit: str = "env", heartbeat_s: float | None = None):
        self.label, self.total, self.start, self.num_seeds = label, total, start, num_seeds
        self.unit = unit  # "env" steps, or "gradient" steps (offline runs)
        self.heartbeat_s = HEARTBEAT_SECONDS if heartbeat_s is None else heartbeat_s
        self.last_interval_s: float | None = None  # wall time of the last finished interval
        self.t0 = time.perf_counter()
        self.bar = None
        self.enabled = enabled
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # optional: fall back to log lines
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=start, desc=label, unit="step",
                                dynamic_ncols=True, file=sys.stderr)

    def update(self, env_steps: int, last_eval: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(last_eval, refresh=False)
            self.bar.update(env_steps - self.bar.n)
            return
        elapsed = time.perf_counter() - self.t0
        rate = (env_steps - self.start) / elapsed if elapsed > 0 else float("nan")
        eta = (self.total - env_steps) / rate if rate > 0 else float("nan")
        logging.info("%s: %d/%d %s steps (%.0f%%) | %.0f steps/s per seed x %d seeds | "
                     "ETA %s | eval: %s", self.label, env_steps, self.total, self.unit,
                     100.0 * env_steps / self.total, rate, self.num_seeds,
                     fmt_duration(eta), last_eval)

    @contextlib.contextmanager
    def interval(self, begin: int, end: int) -> Iterator[None]:
        """Around one training interval (``begin`` -> ``end`` steps) and its evaluation: every
        ``heartbeat_s`` seconds, a log line with the time spent in it and the last interval's
        (a tqdm bar is redrawn instead, which updates its elapsed time)."""
        t0 = time.perf_counter()
        stop = threading.Event()
        thread = None
        if self.enabled and self.heartbeat_s > 0:
            thread = threading.Thread(target=self._beat, args=(begin, end, t0, stop),
                                      daemon=True, name="progress-heartbeat")
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join()
            self.last_interval_s = time.perf_counter() - t0

    def _beat(self, begin: int, end: int, t0: float, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            if self.bar is not None:
                self.bar.refresh()
                continue
            last = (" (the first includes compilation)" if self.last_interval_s is None else
                    f" (the last took {fmt_duration(self.last_interval_s)})")
            logging.info("%s: training %d -> %d %s steps, %s into this interval%s", self.label,
                         begin, end, self.unit, fmt_duration(time.perf_counter() - t0), last)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _QuietOrbax(py_logging.Filter):
    """Drop orbax's INFO chatter (dozens of lines per save) so progress lines stay readable."""

    def filter(self, record: py_logging.LogRecord) -> bool:
        return record.levelno > py_logging.INFO or f"{os.sep}orbax{os.sep}" not in record.pathname


@contextlib.contextmanager
def quiet_orbax() -> Iterator[None]:
    logger = py_logging.getLogger("absl")
    filt = _QuietOrbax()
    logger.addFilter(filt)
    try:
        yield
    finally:
        logger.removeFilter(filt)
