"""Spare cores from /proc/stat counters (fakes here: no timing, no real load)."""

from __future__ import annotations

import pytest

from convscope.cpu_load import SpareCores, cpu_ticks

# user nice system idle iowait irq softirq steal guest guest_nice, in ticks since boot
BOOT = "cpu  1000 500 200 8000 100 0 0 0 0 0\ncpu0 500 250 100 4000 50 0 0 0 0 0\n"


def _stat(user: int, nice: int, idle: int) -> str:
    return f"cpu  {user} {nice} 200 {idle} 100 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


def _spare(stats: list[str], *, nice_is_spare: bool) -> SpareCores:
    stat, clock = iter(stats), iter(float(t) for t in range(len(stats)))
    return SpareCores(read_stat=lambda: next(stat), clock=lambda: next(clock), ticks_per_s=100,
                      nice_is_spare=nice_is_spare)


def test_the_aggregate_line_splits_into_busy_and_spare_ticks():
    assert cpu_ticks(BOOT, nice_is_spare=False) == (1000 + 500 + 200, 8000 + 100)
    assert cpu_ticks(BOOT, nice_is_spare=True) == (1000 + 200, 8000 + 100 + 500)


def test_idle_time_over_the_window_is_the_spare_cores():
    # 1 s on 2 cores = 200 ticks: 150 idle, 50 busy
    spare = _spare([_stat(1000, 0, 8000), _stat(1050, 0, 8150)], nice_is_spare=True)
    assert spare.sample() is None  # the first sample only starts the window
    assert spare.sample() == pytest.approx(1.5)


def test_niced_neighbours_are_spare_only_for_a_process_that_outranks_them():
    stats = [_stat(0, 0, 0), _stat(100, 100, 0)]  # one core busy at nice 0, the other with a niced job
    outranking = _spare(stats, nice_is_spare=True)
    outranking.sample()
    assert outranking.sample() == pytest.approx(1.0)
    niced = _spare(stats, nice_is_spare=False)
    niced.sample()
    assert niced.sample() == pytest.approx(0.0)


def test_an_unreadable_stat_file_gives_no_estimate():
    def broken() -> str:
        raise FileNotFoundError("/proc/stat")

    spare = SpareCores(read_stat=broken, ticks_per_s=100)
    assert spare.sample() is None and spare.sample() is None
