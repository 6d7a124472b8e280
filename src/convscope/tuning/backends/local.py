"""The local backend: N worker processes on this machine, no Ray needed.

Workers are *spawned* (a fresh interpreter), not forked: a forked child inherits the parent's
OpenMP/MKL thread pools and locks mid-state, which deadlocks PyTorch (pytorch#17199), and it would
share the parent's open SQLite connections. Each worker's trials run with ``train.threads`` set to its
share of the cores, so that workers × threads ≤ cores: oversubscribed cores make every trial slower than running them in turn.

A worker dies with its search process (``PR_SET_PDEATHSIG`` on Linux, a watchdog elsewhere): after
a ``kill -9`` of the search, no orphan keeps training trials that ``--resume`` will also continue.

Because workers are spawned, a script that calls :func:`convscope.search` must guard its
entry point with ``if __name__ == "__main__":`` (the spawned interpreter imports the main module).

Example (one spawned worker runs a two-point grid; ``search()`` does this for you):
    >>> import tempfile
    >>> from convscope.store import Store
    >>> from convscope.tuning.study import open_storage, open_study, storage_path
    >>> home, config = tempfile.mkdtemp(), {"data": {"source": "builtin:digits"},
    ...     "params": {"lr": {"grid": [0.01, 0.001]}}, "search": {"strategy": "grid"},
    ...     "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]},
    ...     "train": {"epochs": 1, "optimizer": {"lr": "${lr}"}}}
    >>> study = open_study("demo", open_storage(storage_path(home, "demo")), direction="minimize")
    >>> backend = LocalBackend()
    >>> backend.start([WorkerSpec(name="demo", home=home, config=config, threads=1)])
    >>> while backend.running(): time.sleep(0.5)
    >>> backend.close()
    >>> sorted(run["status"] for run in Store(home).runs(search="demo"))
    ['completed', 'completed']
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from convscope.tuning.backends import BACKENDS
from convscope.tuning.worker import WorkerSpec, work

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def available_cores() -> int:
    """The cores this process may run on (the affinity mask, e.g. a container's CPU set), not the host's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid`` (the search process) is gone, however it ended."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="convscope-parent-watch", daemon=True).start()


def _entry(spec: WorkerSpec, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    try:
        work(spec)
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole process group: the run is already stored `interrupted`; no traceback
        sys.exit(130)


@BACKENDS.register("local", takes_address=False)
class LocalBackend:
    """Runs worker loops in spawned processes on this machine.

    Example:
        >>> LocalBackend().running()
        False
    """

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[multiprocessing.process.BaseProcess] = []

    def start(self, specs: Sequence[WorkerSpec]) -> None:
        """Start one process per spec."""
        for spec in specs:
            process = self._context.Process(target=_entry, args=(spec, os.getpid()),
                                            name=f"convscope-worker-{spec.index}", daemon=True)
            process.start()
            self._processes.append(process)

    def running(self) -> bool:
        """True while any worker is still working."""
        return any(p.is_alive() for p in self._processes)

    def close(self) -> None:
        """Wait for the workers; a worker whose loop crashed (not a trial: trials are isolated) raises."""
        for p in self._processes:
            p.join()
        failed = [p for p in self._processes if p.exitcode != 0]
        self._processes = []
        if failed:
            codes = ", ".join(f"{p.name} exit code {p.exitcode}" for p in failed)
            raise RuntimeError(f"search worker ended abnormally ({codes}); its traceback is printed above. "
                               "Completed trials are kept: continue with --resume")

    def stop(self) -> None:
        """Interrupt the workers (their runs are stored `interrupted`, resumable) and reap them."""
        for p in self._processes:
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        for p in self._processes:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        self._processes = []


__all__ = ["LocalBackend", "available_cores", "die_with_parent"]
