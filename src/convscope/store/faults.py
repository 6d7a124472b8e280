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
from convscope.store import queries, schema

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_FULL_HINT = "free some space (or point --home / CONVSCOPE_HOME at another disk), then resume with --resume"
_READ_ONLY_HINT = "point --home (or CONVSCOPE_HOME) at a writable folder, or make this one writable"
_SERVER_HINT = ("connect as a role that may INSERT and UPDATE the convscope tables, outside a read-only session "
                "or standby; or point --store (CONVSCOPE_STORE) at a writable database")
# PostgreSQL's SQLSTATEs for a write the server refuses: read_only_sql_transaction, insufficient_privilege
_WRITE_REFUSED = {"25006": "the session is read-only", "42501": "this role may not write it"}


def explain_fault(exc: BaseException, *, where: str | Path | None = None) -> StorageError | None:
    """A one-line :class:`StorageError` for a disk or database fault, else None."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig  # the driver's own error: sqlite3's message, psycopg's SQLSTATE
    refused = _WRITE_REFUSED.get(getattr(exc, "sqlstate", None) or "")
    if refused:
        return StorageError(f"{where or 'the run store'}: the run store is read-only ({refused})", hint=_SERVER_HINT)
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


def read_only_engine(path: Path) -> sa.Engine:
    """An engine on an existing SQLite store that cannot be written (its schema checked to be current).

    ``mode=ro`` first, which reads the WAL too when its ``-shm`` file is there; then ``immutable=1`` (a WAL
    database without ``-shm``; on a read-only filesystem nothing changes it)."""
    engine, version = None, None
    for query in ("mode=ro", "immutable=1"):
        engine = sa.create_engine(f"sqlite:///file:{path.resolve()}?{query}&uri=true")
        try:
            with engine.connect() as conn:
                version = conn.execute(sa.text(queries.SCHEMA_VERSION_SQL)).scalar()
            break
        except sa.exc.OperationalError:
            continue
    assert engine is not None
    require_current_schema(version, where=path)
    return engine


def require_current_schema(version: str | None, *, where: str | Path) -> None:
    """A StorageError unless a read-only store is at this convscope's schema version (it cannot be upgraded)."""
    if version is None or int(version) != schema.SCHEMA_VERSION:
        raise StorageError(f"{where}: the store is read-only and needs a schema upgrade",
                           hint="open it once with write access, or copy it to a writable folder")


def server_write_refusal(conn: sa.Connection, *, where: str) -> StorageError | None:
    """Why this PostgreSQL connection may read but not write the store, as the error a write would get; else None.

    Asked once when the store opens, so ``runs``, ``show``, ``look`` and ``report`` work on a store the user may
    only read, and ``run`` stops before anything is written instead of half-way through an INSERT. Two causes:
    a read-only session (``default_transaction_read_only``, a hot standby) and a role without INSERT/UPDATE on
    the convscope tables (a SELECT-only grant); tables that do not exist yet are for the schema upgrade to
    create (and a role that cannot create them gets 42501 from it, which :func:`explain_fault` words).
    """
    if conn.execute(sa.text("SELECT current_setting('transaction_read_only')")).scalar() == "on":
        why = "sessions are read-only: default_transaction_read_only, or a standby server"
    else:
        denied = conn.execute(sa.text(
            "SELECT t FROM unnest(CAST(:tables AS text[])) AS t WHERE to_regclass(t) IS NOT NULL AND NOT "
            "(has_table_privilege(to_regclass(t), 'INSERT') AND has_table_privilege(to_regclass(t), 'UPDATE'))"),
            {"tables": [table.name for table in schema.metadata.sorted_tables]}).scalars().all()
        if not denied:
            return None
        why = f"this role may not INSERT and UPDATE {', '.join(sorted(denied))}"
    return StorageError(f"{where}: the run store is read-only ({why})", hint=_SERVER_HINT)


def corrupt_checkpoint(path: Path, exc: BaseException) -> StorageError:
    """The error for a safetensors file that is truncated or not a checkpoint."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StorageError(f"{path}: not a readable checkpoint ({first})",
                        hint="it was truncated or overwritten; retrain the run (or restore the file from a backup)")


__all__ = ["corrupt_checkpoint", "explain_fault", "is_read_only_fault", "read_only_engine", "require_current_schema",
           "server_write_refusal"]
