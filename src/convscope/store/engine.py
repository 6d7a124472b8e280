"""Where the run store's database is, and one SQLAlchemy engine per database per process.

``CONVSCOPE_STORE`` (or ``--store``) names the database as a SQLAlchemy URL; without it the store is
the embedded SQLite file ``<home>/runs.db``:

=================================================  ==================================================
``sqlite:///path/runs.db`` (default)               one machine; WAL, ``BEGIN IMMEDIATE`` per write
``postgresql://user:password@host:5432/db``        shared by every node; driver psycopg 3
=================================================  ==================================================

Connection failures become one-line :class:`~convscope.errors.StoreError` s naming the server and
the fix (unreachable, wrong credentials, no such database, driver not installed).

Example:
    >>> database_url("/tmp/runs", None).render_as_string()
    'sqlite:////tmp/runs/runs.db'
    >>> database_url("/tmp/runs", "postgresql://me@db.lan/runs").drivername
    'postgresql+psycopg'
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL

from convscope.errors import StoreError
from convscope.store.location import STORE_ENV, default_database, store_url

READ_OPTION = "convscope_read"  # execution option of a read-only connection

_engines: dict[tuple[int, str], sa.Engine] = {}
_lock = threading.Lock()


def database_url(home: str | Path, url: str | None) -> URL:
    """The store's database: ``url``, else ``$CONVSCOPE_STORE``, else ``<home>/runs.db``."""
    text = store_url(url)
    if not text:
        return sa.engine.make_url(f"sqlite:///{default_database(home)}")
    try:
        parsed = sa.engine.make_url(text)
    except sa.exc.ArgumentError:
        raise StoreError(f"{STORE_ENV}/--store: '{text}' is not a database URL",
                         hint="use postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or unset it for the "
                              "embedded SQLite store") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # SQLAlchemy's bare default is psycopg2
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"{STORE_ENV}/--store: '{backend}' databases are not supported",
                         hint="use postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or sqlite:///PATH/runs.db")
    return parsed


def shown(url: URL) -> str:
    """``url`` without its password: safe to print and to store."""
    return url.render_as_string(hide_password=True)


def engine_for(url: URL) -> sa.Engine:
    """This process's engine for ``url`` (created once; a forked or spawned child makes its own)."""
    key = (os.getpid(), url.render_as_string(hide_password=False))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _sqlite_engine(url) if url.get_backend_name() == "sqlite" else _server_engine(url)
            _engines[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every engine this process opened (their pooled connections included)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _sqlite_engine(url: URL) -> sa.Engine:
    assert url.database, url
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    # pysqlite's own transaction handling starts transactions lazily and as DEFERRED, so two writers
    # can both read, then fail to upgrade their lock ("database is locked"). SQLAlchemy's documented
    # recipe: hand transaction control to us and begin every transaction IMMEDIATE (the write lock up
    # front: concurrent writers queue for busy_timeout instead of failing).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # reads (execution option convscope_read) take no write lock: WAL readers never wait
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_OPTION) else "BEGIN IMMEDIATE")

    return engine


def _server_engine(url: URL) -> sa.Engine:
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        raise StoreError(f"{shown(url)}: the PostgreSQL driver psycopg is not installed",
                         hint="pip install 'convscope[postgres]'") from None
    # pool_pre_ping: a connection the server closed (restart, idle timeout) is replaced, not raised
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4,
                            connect_args={"connect_timeout": 10, "application_name": "convscope"})


def explain(url: URL, exc: sa.exc.OperationalError) -> StoreError:
    """A one-line StoreError for a database that cannot be opened, with the fix."""
    text = str(exc.orig or exc).strip()
    where = shown(url)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low or "role" in low and "does not exist" in low:
        return StoreError(f"{where}: wrong credentials ({text.splitlines()[0]})",
                          hint=f"fix the user and password in {STORE_ENV}/--store "
                               "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)")
    if "database" in low and "does not exist" in low:
        return StoreError(f"{where}: {text.splitlines()[0]}",
                          hint=f"create it (createdb -h HOST -U USER {url.database}) or fix the name in --store")
    if url.get_backend_name() == "sqlite":
        return StoreError(f"{url.database}: cannot open the run store ({text.splitlines()[0]})",
                          hint="check that the folder exists and is writable, or pass another --home")
    return StoreError(f"{where}: database unreachable ({text.splitlines()[0]})",
                      hint="check that the server runs and listens on that host and port, and that this node "
                           "can reach it (firewall, pg_hba.conf)")


__all__ = ["READ_OPTION", "STORE_ENV", "database_url", "dispose_engines", "engine_for", "explain", "shown"]
