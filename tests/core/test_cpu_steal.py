"""``tools.cpu_steal``: the steal share of the CPU time spent during a block."""

from __future__ import annotations

from pathlib import Path

from pamdp_bench.tools.cpu_steal import steal_meter

# user nice system idle iowait irq softirq steal guest guest_nice
_LINE = "cpu  {u} 0 {s} {i} 0 0 0 {st} 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


def test_steal_share_of_the_ticks_spent_in_the_block(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(_LINE.format(u=100, s=50, i=800, st=50))
    with steal_meter(str(stat)) as m:
        # 300 more ticks: 150 user, 50 idle, 100 steal (guest ticks are inside user: ignored)
        stat.write_text(_LINE.format(u=250, s=50, i=850, st=150))
    assert m["steal"] == 100 / 300


def test_unknown_where_proc_stat_is_missing_or_unchanged(tmp_path: Path) -> None:
    with steal_meter(str(tmp_path / "absent")) as m:
        pass
    assert m["steal"] is None
    stat = tmp_path / "stat"
    stat.write_text(_LINE.format(u=1, s=1, i=1, st=0))
    with steal_meter(str(stat)) as m:
        pass
    assert m["steal"] is None  # no ticks elapsed: no share to report
