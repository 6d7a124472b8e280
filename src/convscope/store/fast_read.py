"""Runs read from the default SQLite store through the stdlib ``sqlite3``: ``convscope runs`` without SQLAlchemy.

Opening a :class:`~convscope.store.db.Store` imports SQLAlchemy (about 0.1 s, a third of ``convscope runs``)
and takes SQLite's write lock to check the schema and mark dead runs. A listing needs neither when the store
is already as ``Store`` would leave it, so :func:`read_runs` reads the rows itself, with the same SQL
(``queries.py``) and the same decoding, in one read transaction (one snapshot; no write lock taken). It returns None, and the caller opens the
``Store``, whenever the ``Store`` would do more than read:

- ``CONVSCOPE_STORE``/``--store`` names the database (PostgreSQL, or a SQLite URL for SQLAlchemy to parse);
- the file does not exist yet (the ``Store`` creates it);
- its schema is not this convscope's (the ``Store`` migrates it, or refuses a newer one with a hint);
- a ``running`` run or search is known dead (the ``Store`` marks it ``interrupted``, ``heartbeat.py``);
- ``sqlite3`` fails in any way: locked, corrupt, unreadable (the ``Store`` words the fault, or opens read-only).

Example:
    >>> import tempfile
    >>> from convscope.store import Store
    >>> home = tempfile.mkdtemp()
    >>> read_runs(home) is None                       # no store yet: the Store creates it
    True
    >>> store = Store(home)
    >>> run_id = store.create_run(name="demo", config_yaml="name: demo", seed=0, env={})
    >>> _ = store.finish_run(run_id, status="completed", test={"test_accuracy": 0.9})
    >>> location, rows = read_runs(home)
    >>> [(r["id"], r["name"], r["status"], r["test"]) for r in rows] == [
    ...     (r["id"], r["name"], r["status"], r["test"]) for r in store.runs()]
    True
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

from convscope.store.heartbeat import dead_driver, dead_run, stale_after
from convscope.store.location import default_database, default_home, store_url
from convscope.store.queries import (
    RUNNING_RUNS_SQL,
    RUNNING_SEARCHES_SQL,
    SCHEMA_VERSION,
    SCHEMA_VERSION_SQL,
    decode_run,
    runs_query,
)


def read_runs(home: str | Path | None = None, *, search: str | None = None,
              limit: int | None = None) -> tuple[str, list[dict[str, Any]]] | None:
    """``(location, runs)`` as ``Store(home)`` would give ``location`` and ``runs(search=, limit=)``; None when
    only the ``Store`` can answer (see the module's docstring)."""
    if store_url(None):
        return None
    path = default_database(home if home is not None else default_home())
    if not path.is_file():
        return None
    try:
        # mode=rw, not ro: nothing here writes, but as the store's last connection it removes the WAL files when it
        # closes, as the Store's own connection does (a read-only one would leave runs.db-wal and -shm behind);
        # rw also never creates a database that vanished since is_file()
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=60)
    except sqlite3.Error:
        return None
    try:
        connection.row_factory = sqlite3.Row
        connection.isolation_level = None  # transactions by hand: the checks and the rows read in one snapshot
        connection.execute("BEGIN")
        version = connection.execute(SCHEMA_VERSION_SQL).fetchone()
        if version is None or version["value"] != str(SCHEMA_VERSION) or _has_dead_work(connection):
            return None
        sql, params = runs_query(search=search, limit=limit)
        rows = [decode_run(row) for row in connection.execute(sql, params)]
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return str(path), rows


def _has_dead_work(connection: sqlite3.Connection) -> bool:
    """True when a ``running`` run or search is known dead: the ``Store`` would mark it ``interrupted`` first."""
    here, cutoff = socket.gethostname(), time.time() - stale_after()
    for run in connection.execute(RUNNING_RUNS_SQL):
        if dead_run(pid=run["pid"], host=run["host"], heartbeat=run["heartbeat"], here=here, cutoff=cutoff):
            return True
    return any(dead_driver(json.loads(search["info"] or "{}"), here=here)
               for search in connection.execute(RUNNING_SEARCHES_SQL))


__all__ = ["read_runs"]
