"""One writer per run: an exclusive ``flock`` on ``runs/<id>/.lock``, held while the run trains.

Two trainers on one run would interleave its epoch rows and overwrite each other's
``last.safetensors``; ``convscope run --resume ID`` of a run that is still training is refused with a
:class:`~convscope.errors.BusyError` (exit code 4). The kernel drops the lock when its process dies,
``kill -9`` included, so a crashed run never stays locked; the row's pid is checked as well for
stores whose filesystem ignores ``flock``. ``fcntl`` is POSIX; on Windows only the pid check applies.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with RunLock(folder, run_id=7):
    ...     RunLock(folder, run_id=7).acquire()
    Traceback (most recent call last):
    ...
    convscope.errors.BusyError: run 7 is still training in another process (it holds ....lock)
      hint: wait for it to finish, or stop that process, then resume with --resume 7
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from convscope.errors import BusyError

try:
    import fcntl
except ModuleNotFoundError:  # Windows: no flock; the pid check in api.run still refuses a live writer
    fcntl = None  # type: ignore[assignment]


class RunLock:
    """An exclusive, non-blocking lock on one run's folder; a context manager.

    Args:
        folder: the run's folder (``Store.run_dir(id)``).
        run_id: for the message.
    """

    def __init__(self, folder: Path, *, run_id: int) -> None:
        self.path = Path(folder) / ".lock"
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BusyError(f"run {self.run_id} is still training in another process (it holds {self.path})",
                            hint=f"wait for it to finish, or stop that process, then resume with "
                                 f"--resume {self.run_id}") from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


__all__ = ["RunLock"]
