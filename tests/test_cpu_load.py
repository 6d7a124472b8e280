"""The free-core estimate from /proc/stat counters (fakes here: no timing, no real load)."""

from __future__ import annotations

import pytest

from convscope.cpu_load import FreeCores, cpu_ticks, threads_for

# user nice system idle iowait irq softirq steal guest guest_nice, in ticks since boot
BOOT = "cpu  1000 500 200 8000 100 0 0 0 0 0\ncpu0 500 250 100 4000 50 0 0 0 0 0\n"


def _stat(user: int, nice: int, idle: int) -> str:
    return f"cpu  {user} {nice} 200 {idle} 100 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


def _free_cores(stats: list[str], own: list[float], *, nice_is_free: bool, cores: int = 2) -> FreeCores:
    stat, own_cpu, clock = iter(stats), iter(own), iter(float(t) for t in range(len(stats)))
    return FreeCores(cores, read_stat=lambda: next(stat), own_cpu=lambda: next(own_cpu), clock=lambda: next(clock),
                     ticks_per_s=100, nice_is_free=nice_is_free)


def test_the_aggregate_line_splits_into_busy_and_free_ticks():
    assert cpu_ticks(BOOT, nice_is_free=False) == (1000 + 500 + 200, 8000 + 100)
    assert cpu_ticks(BOOT, nice_is_free=True) == (1000 + 200, 8000 + 100 + 500)


def test_a_quiet_machine_is_every_core_free_whoever_uses_it():
    # 1 s on 2 cores = 200 ticks: we used both cores (2 s of CPU), nobody else did, nothing was idle
    cores = _free_cores([_stat(1000, 0, 8000), _stat(1200, 0, 8000)], [0.0, 2.0], nice_is_free=True)
    assert cores.sample() is None  # the first sample only starts the window
    assert cores.sample() == pytest.approx(2.0)


def test_one_busy_process_per_core_leaves_what_we_got():
    # two spinners and our one thread share 2 cores: we got 2/3 of a core, nothing was idle
    cores = _free_cores([_stat(0, 0, 0), _stat(200, 0, 0)], [0.0, 2 / 3], nice_is_free=True)
    cores.sample()
    assert cores.sample() == pytest.approx(2 / 3)
    assert threads_for(2 / 3, cores=2) == 1


def test_niced_neighbours_count_as_free_only_for_a_process_that_outranks_them():
    stats, own = [_stat(0, 0, 0), _stat(100, 100, 0)], [0.0, 1.0]  # we use one core, a niced job the other
    outranking = _free_cores(stats, own, nice_is_free=True)
    outranking.sample()
    assert outranking.sample() == pytest.approx(2.0)
    niced = _free_cores(stats, own, nice_is_free=False)
    niced.sample()
    assert niced.sample() == pytest.approx(1.0)


def test_an_unreadable_stat_file_gives_no_estimate():
    def broken() -> str:
        raise FileNotFoundError("/proc/stat")

    cores = FreeCores(2, read_stat=broken, ticks_per_s=100)
    assert cores.sample() is None and cores.sample() is None


@pytest.mark.parametrize(("free", "cores", "threads"), [(0.0, 4, 1), (0.49, 4, 1), (1.5, 4, 2), (3.4, 4, 3),
                                                         (9.0, 4, 4)])
def test_threads_are_the_free_cores_rounded_within_one_and_the_ceiling(free, cores, threads):
    assert threads_for(free, cores=cores) == threads
