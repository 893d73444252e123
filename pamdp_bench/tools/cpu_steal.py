"""How much of the machine a benchmark did not get: the hypervisor's steal time (Linux).

On a shared VM the host can take a third of the CPU away for minutes (measured here: 30-40%
steal in ``vmstat`` while a bench ran, and single-env adapter rates fell from ~2,100 to
~400-800 steps/s). A speed number is only comparable with the steal it was measured under, so
the benches record it next to their rows. Read from ``/proc/stat``; None where that is absent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def _cpu_ticks(path: str = "/proc/stat") -> tuple[int, int] | None:
    """(steal, total) jiffies summed over all CPUs since boot, or None if unreadable."""
    try:
        with open(path) as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(x) for x in fields[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
    # already counted in user/nice, so it is left out of the total.
    return ticks[7], sum(ticks[:8])


@contextlib.contextmanager
def steal_meter(path: str = "/proc/stat") -> Iterator[dict[str, float | None]]:
    """``with steal_meter() as m: ...`` then ``m["steal"]``: the fraction (0-1) of all CPU
    time during the block that the hypervisor stole, or None where unknown."""
    result: dict[str, float | None] = {"steal": None}
    before = _cpu_ticks(path)
    try:
        yield result
    finally:
        after = _cpu_ticks(path)
        if before is not None and after is not None and after[1] > before[1]:
            result["steal"] = (after[0] - before[0]) / (after[1] - before[1])
