"""Filesystem and database faults as one line: a read-only store, a full disk, a corrupt checkpoint.

SQLite and the OS report these as ``sqlite3.OperationalError("attempt to write a readonly database")``
or ``OSError(ENOSPC)`` from deep inside a write; :func:`explain_fault` turns each into a
:class:`~convscope.errors.StorageError` (exit code 3) that names the place and the fix, and returns
``None`` for anything else (a real bug keeps its traceback).

Example:
    >>> import errno
    >>> print(explain_fault(OSError(errno.ENOSPC, "No space left on device", "/runs/3/last.safetensors")))
    /runs/3/last.safetensors: the disk is full
      hint: free some space (or point --home / CONVSCOPE_HOME at another disk), then resume with --resume
    >>> explain_fault(ValueError("a bug")) is None
    True
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from convscope.errors import StorageError, StoreError

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_FULL_HINT = "free some space (or point --home / CONVSCOPE_HOME at another disk), then resume with --resume"
_READ_ONLY_HINT = "point --home (or CONVSCOPE_HOME) at a writable folder, or make this one writable"


def explain_fault(exc: BaseException, *, where: str | Path | None = None) -> StorageError | None:
    """A one-line :class:`StorageError` for a disk or database fault, else None."""
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        place = where or "the run store (runs.db)"
        if "full" in text:
            return StorageError(f"{place}: the disk is full", hint=_FULL_HINT)
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return StorageError(f"{place}: the run store is read-only or cannot be opened", hint=_READ_ONLY_HINT)
        if "malformed" in text or "not a database" in text:
            return StorageError(f"{place}: the run store is corrupt ({exc})",
                                hint="restore runs.db from a backup, or start a new store with --home")
        if "locked" in text or "busy" in text:
            return StorageError(f"{place}: the run store stayed locked by another process",
                                hint="retry when the other convscope command has finished")
        return None
    if isinstance(exc, OSError) and exc.errno is not None:
        place = where or exc.filename or "a file"
        if exc.errno in _FULL:
            return StorageError(f"{place}: the disk is full", hint=_FULL_HINT)
        if exc.errno in _READ_ONLY:
            return StorageError(f"{place}: read-only or not writable ({exc.strerror})", hint=_READ_ONLY_HINT)
    return None


def is_read_only_fault(exc: BaseException, fault: StoreError | None) -> bool:
    """True when opening failed because the store cannot be written (then it opens read-only)."""
    return (fault is not None and "read-only" in fault.message) or "not writable" in str(exc) \
        or "read-only" in str(exc).lower() or "readonly" in str(exc).lower()


def read_only_engine(path: Path) -> tuple[sa.Engine, str | None]:
    """An engine on an existing SQLite store that cannot be written, and its schema version (None when
    unreadable). ``mode=ro`` first, which reads the WAL too when its ``-shm`` file is there; then
    ``immutable=1`` (a WAL database without ``-shm``; on a read-only filesystem nothing changes it)."""
    engine, version = None, None
    for query in ("mode=ro", "immutable=1"):
        engine = sa.create_engine(f"sqlite:///file:{path.resolve()}?{query}&uri=true")
        try:
            with engine.connect() as conn:
                version = conn.execute(sa.text("SELECT value FROM meta WHERE key='schema'")).scalar()
            break
        except sa.exc.OperationalError:
            continue
    assert engine is not None
    return engine, version


def corrupt_checkpoint(path: Path, exc: BaseException) -> StorageError:
    """The error for a safetensors file that is truncated or not a checkpoint."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StorageError(f"{path}: not a readable checkpoint ({first})",
                        hint="it was truncated or overwritten; retrain the run (or restore the file from a backup)")


__all__ = ["corrupt_checkpoint", "explain_fault", "is_read_only_fault", "read_only_engine"]
