"""How many CPU cores other processes leave free, from ``/proc/stat`` (Linux), without importing torch.

``train.threads: auto`` (the default) asks :class:`FreeCores` every couple of seconds while training and sets
torch's thread count to the answer (:mod:`convscope.train.adaptive_threads`): a trainer that keeps one
OpenMP thread per core while other processes hold some of them loses most of its speed, because a thread
that loses its core stalls every other one at the next barrier (issue 13; docs/performance.md has the
measurements). No library reports "cores free to me" (psutil gives the same system-wide counters as
``/proc/stat``; ``os.getloadavg`` is a minute-long average that counts our own threads), so it is computed
here: over a window, the cores the kernel left idle plus the cores this process itself used.

Time spent on *niced* processes counts as free when this process is not niced: the scheduler gives them
little CPU beside ours (other users' background jobs on a shared machine).

Example:
    >>> stat = iter(["cpu  100 0 50 850 0 0 0 0 0 0\\n", "cpu  250 0 50 900 0 0 0 0 0 0\\n"])
    >>> own = iter([0.0, 0.5])               # this process used 0.5 s of CPU in the 1 s window
    >>> clock = iter([0.0, 1.0])
    >>> cores = FreeCores(2, read_stat=lambda: next(stat), own_cpu=lambda: next(own), clock=lambda: next(clock),
    ...                   ticks_per_s=100)
    >>> cores.sample() is None              # the first call starts the window
    True
    >>> cores.sample()                      # 0.5 core idle + 0.5 core ours
    1.0
    >>> threads_for(1.0, cores=2), threads_for(1.6, cores=2), threads_for(0.2, cores=2)
    (1, 2, 1)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

STAT = Path("/proc/stat")


def read_stat() -> str:
    return STAT.read_text()


def cpu_ticks(stat: str, *, nice_is_free: bool) -> tuple[int, int]:
    """(busy, free) clock ticks of all cores since boot, from the aggregate ``cpu`` line of ``/proc/stat``.

    Fields (proc(5)): user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
    inside user and nice, so it is not added again.
    """
    fields = [int(v) for v in next(line for line in stat.splitlines() if line.startswith("cpu ")).split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    free = idle + iowait + (nice if nice_is_free else 0)
    busy = user + system + irq + softirq + steal + (0 if nice_is_free else nice)
    return busy, free


class FreeCores:
    """Cores free to this process over the window since the previous :meth:`sample`: idle ones plus its own use.

    Args:
        cores: the cores this process may run on (default: its CPU affinity).
        read_stat, own_cpu, clock: where the counters come from (``/proc/stat``, ``time.process_time``,
            ``time.monotonic``); tests pass fakes.
        ticks_per_s: the kernel's clock ticks per second (``SC_CLK_TCK``).
        nice_is_free: count time of niced processes as free (default: when this process is not niced itself).
    """

    def __init__(self, cores: int | None = None, *, read_stat: Callable[[], str] = read_stat,
                 own_cpu: Callable[[], float] = time.process_time, clock: Callable[[], float] = time.monotonic,
                 ticks_per_s: int | None = None, nice_is_free: bool | None = None) -> None:
        self.cores = cores or available_cores()
        self._read, self._own, self._clock = read_stat, own_cpu, clock
        self._hz = ticks_per_s or os.sysconf("SC_CLK_TCK")
        self._nice_is_free = os.getpriority(os.PRIO_PROCESS, 0) <= 0 if nice_is_free is None else nice_is_free
        self._last: tuple[float, float, int, int] | None = None

    def sample(self) -> float | None:
        """Free cores since the last call (None on the first call, or where ``/proc/stat`` cannot be read)."""
        try:
            busy, free = cpu_ticks(self._read(), nice_is_free=self._nice_is_free)
        except (OSError, StopIteration, ValueError):
            return None
        now, own = self._clock(), self._own()
        last, self._last = self._last, (now, own, busy, free)
        if last is None or now <= last[0]:
            return None
        seconds = now - last[0]
        idle_cores = (free - last[3]) / self._hz / seconds
        own_cores = (own - last[1]) / seconds
        return max(0.0, min(float(self.cores), idle_cores + own_cores))


def threads_for(free: float, *, cores: int) -> int:
    """The thread count for ``free`` cores: rounded half up, at least 1, at most ``cores``."""
    return max(1, min(cores, int(free + 0.5)))


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


__all__ = ["FreeCores", "available_cores", "cpu_ticks", "read_stat", "threads_for"]
