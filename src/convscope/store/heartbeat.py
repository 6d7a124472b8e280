"""How the store tells a dead worker from a live one on any node: heartbeats.

A running run's process writes ``runs.heartbeat = now`` every ``CONVSCOPE_HEARTBEAT`` seconds
(default 10) from a daemon thread, and with every finished epoch. A ``running`` row whose beat is
older than :func:`stale_after` (4 beats) belongs to a process that is gone — killed, or on a node
that died — and the next store opened anywhere marks it ``interrupted``. On the machine that ran it,
a process id that no longer exists says so at once, without waiting for the beats to go stale.

Example:
    >>> dead_run(pid=1, host="node2", heartbeat=100.0, here="node1", cutoff=160.0)
    'heartbeat'
    >>> dead_run(pid=1, host="node2", heartbeat=190.0, here="node1", cutoff=160.0) is None
    True
    >>> beats = []
    >>> heart = Heartbeat(lambda: beats.append(1) or len(beats) < 3, interval=0.01)
    >>> heart.join(timeout=5)
    >>> len(beats)
    3
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

HEARTBEAT_ENV = "CONVSCOPE_HEARTBEAT"


def heartbeat_seconds() -> float:
    """Seconds between two beats (``$CONVSCOPE_HEARTBEAT``, default 10)."""
    return float(os.environ.get(HEARTBEAT_ENV) or 10.0)


def stale_after() -> float:
    """A beat older than this many seconds means the run's process is gone.

    Four beats: a database that is briefly slow (a checkpoint, a vacuum, a busy SQLite writer) delays
    a beat or two, never four in a row.
    """
    return 4 * heartbeat_seconds()


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_run(*, pid: int | None, host: str | None, heartbeat: float | None, here: str, cutoff: float) -> str | None:
    """How a ``running`` row is known dead: ``"pid"`` (its process on this host ``here`` is gone), ``"heartbeat"``
    (its last beat is older than ``cutoff``, any host), or None while it may be alive."""
    if host == here and pid and not pid_alive(pid):
        return "pid"
    if heartbeat is not None and heartbeat < cutoff:
        return "heartbeat"
    return None


def dead_driver(info: dict, *, here: str) -> bool:
    """True when a ``running`` search's driver process (its ``info`` pid and host) was on host ``here`` and is gone."""
    return info.get("host") == here and bool(info.get("pid")) and not pid_alive(int(info["pid"]))


class Heartbeat:
    """Calls ``beat()`` every ``interval`` seconds in a daemon thread until stopped or it returns False.

    A beat that raises (the database briefly unreachable) is skipped; the next one tries again.

    Args:
        beat: writes one beat; returns False when there is nothing left to beat for (the run ended).
        interval: seconds between beats.
    """

    def __init__(self, beat: Callable[[], bool], *, interval: float) -> None:
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="convscope-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._beat():
                    return
            except Exception:  # noqa: BLE001 - a missed beat is harmless; four in a row mark the run dead
                continue

    def stop(self) -> None:
        self._stop.set()
        self.join(timeout=self._interval + 5)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


__all__ = ["HEARTBEAT_ENV", "Heartbeat", "dead_driver", "dead_run", "heartbeat_seconds", "pid_alive", "stale_after"]
