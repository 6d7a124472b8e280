"""How much CPU nobody else wants right now, from ``/proc/stat`` (Linux), without importing torch.

``train.threads: auto`` (:mod:`convscope.train.adaptive_threads`) times training steps to choose a thread
count; probing *more* threads on a machine whose cores are all taken costs a stalled step or more (a barrier
waits for a thread that has no core), so it probes upward only while :class:`SpareCores` says at least
half a core lay idle. No library reports this (psutil reads the same counters as ``/proc/stat``;
``os.getloadavg`` is a minute-long average that counts our own threads), so it is computed here.

Time spent on *niced* processes counts as spare when this process is not niced: the scheduler gives them
little CPU beside ours (other users' background jobs on a shared machine).

Example:
    >>> stat = iter(["cpu  100 0 50 850 0 0 0 0 0 0\\n", "cpu  250 0 50 900 0 0 0 0 0 0\\n"])
    >>> clock = iter([0.0, 1.0])
    >>> spare = SpareCores(read_stat=lambda: next(stat), clock=lambda: next(clock), ticks_per_s=100)
    >>> spare.sample() is None              # the first call starts the window
    True
    >>> spare.sample()                      # 50 idle ticks in 1 s at 100 ticks/s: half a core
    0.5
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

STAT = Path("/proc/stat")


def read_stat() -> str:
    return STAT.read_text()


def cpu_ticks(stat: str, *, nice_is_spare: bool) -> tuple[int, int]:
    """(busy, spare) clock ticks of all cores since boot, from the aggregate ``cpu`` line of ``/proc/stat``.

    Fields (proc(5)): user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
    inside user and nice, so it is not added again.
    """
    fields = [int(v) for v in next(line for line in stat.splitlines() if line.startswith("cpu ")).split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    spare = idle + iowait + (nice if nice_is_spare else 0)
    busy = user + system + irq + softirq + steal + (0 if nice_is_spare else nice)
    return busy, spare


class SpareCores:
    """Cores that lay idle (or ran only niced work) over the window since the previous :meth:`sample`.

    Args:
        read_stat, clock: where the counters and the time come from (``/proc/stat``, ``time.monotonic``);
            tests pass fakes.
        ticks_per_s: the kernel's clock ticks per second (``SC_CLK_TCK``).
        nice_is_spare: count time of niced processes as spare (default: when this process is not niced).
    """

    def __init__(self, *, read_stat: Callable[[], str] = read_stat, clock: Callable[[], float] = time.monotonic,
                 ticks_per_s: int | None = None, nice_is_spare: bool | None = None) -> None:
        self._read, self._clock = read_stat, clock
        self._hz = ticks_per_s or os.sysconf("SC_CLK_TCK")
        self._nice_is_spare = os.getpriority(os.PRIO_PROCESS, 0) <= 0 if nice_is_spare is None else nice_is_spare
        self._last: tuple[float, int] | None = None

    def sample(self) -> float | None:
        """Spare cores since the last call (None on the first call, or where ``/proc/stat`` cannot be read)."""
        try:
            _, spare = cpu_ticks(self._read(), nice_is_spare=self._nice_is_spare)
        except (OSError, StopIteration, ValueError):
            return None
        now = self._clock()
        last, self._last = self._last, (now, spare)
        if last is None or now <= last[0]:
            return None
        return max(0.0, (spare - last[1]) / self._hz / (now - last[0]))


__all__ = ["SpareCores", "cpu_ticks", "read_stat"]
