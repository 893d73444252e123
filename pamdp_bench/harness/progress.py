"""Progress display of a run (tqdm on a terminal, else absl log lines with steps/s and ETA)
and a filter that keeps orbax's INFO chatter out of it."""

from __future__ import annotations

import contextlib
import logging as py_logging
import math
import os
import sys
import time
from collections.abc import Iterator

from absl import logging


def fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Env steps, steps/s, ETA and the last evaluation: tqdm on a terminal, else absl logs."""

    def __init__(self, label: str, total: int, start: int, num_seeds: int, enabled: bool,
                 unit: str = "env"):
        self.label, self.total, self.start, self.num_seeds = label, total, start, num_seeds
        self.unit = unit  # "env" steps, or "gradient" steps (offline runs)
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
