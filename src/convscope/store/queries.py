"""The SQL of the store's reads that ``convscope runs`` needs, written once for SQLAlchemy and the stdlib alike.

:class:`~convscope.store.db.Store` runs these texts through ``sqlalchemy.text`` (SQLite and PostgreSQL) and
``fast_read.py`` through Python's own ``sqlite3``, so listing a SQLite store needs no SQLAlchemy (about
0.1 s of imports) and both read exactly the same rows. Plain SQL that both databases speak; bound
parameters in the ``:name`` style, which SQLAlchemy's ``text`` and ``sqlite3`` both accept.

Example:
    >>> sql, params = runs_query(search="grid", limit=5)
    >>> sql
    'SELECT * FROM runs WHERE search = :search ORDER BY id DESC LIMIT :limit'
    >>> params
    {'search': 'grid', 'limit': 5}
    >>> decode_run({"id": 1, "env": None, "test": '{"test_accuracy": 0.9}', "notes": None, "info": "{}",
    ...             "params": None})
    {'id': 1, 'env': {}, 'test': {'test_accuracy': 0.9}, 'notes': [], 'info': {}, 'params': {}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# what schema.MIGRATIONS bring a store to (len(MIGRATIONS)); a store at another version is left to `Store`,
# which migrates it or refuses it. tests/store/test_fast_read.py fails when a migration is added without it.
SCHEMA_VERSION = 2

SCHEMA_VERSION_SQL = "SELECT value FROM meta WHERE key = 'schema'"
# what `Store._mark_interrupted` reads to find runs and searches whose process is gone
RUNNING_RUNS_SQL = "SELECT id, pid, host, heartbeat FROM runs WHERE status = 'running'"
RUNNING_SEARCHES_SQL = "SELECT name, info FROM searches WHERE status = 'running'"

_JSON_FIELDS = ("env", "test", "notes", "info", "params")  # TEXT columns holding JSON (schema.py says why)


def runs_query(*, search: str | None = None, limit: int | None = None) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of "runs, newest first", optionally one search's trials and at most ``limit``."""
    sql, params = "SELECT * FROM runs", {}
    if search is not None:
        sql, params["search"] = sql + " WHERE search = :search", search
    sql += " ORDER BY id DESC"
    if limit:
        sql, params["limit"] = sql + " LIMIT :limit", int(limit)
    return sql, params


def decode_run(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``runs`` row as a dict with its JSON fields parsed (``notes`` a list, the others dicts; empty when unset)."""
    out = dict(row)
    for key in _JSON_FIELDS:
        out[key] = json.loads(out[key]) if out.get(key) else ({} if key != "notes" else [])
    return out


__all__ = ["RUNNING_RUNS_SQL", "RUNNING_SEARCHES_SQL", "SCHEMA_VERSION", "SCHEMA_VERSION_SQL", "decode_run",
           "runs_query"]
