"""The run store: one SQLite file (stdlib ``sqlite3``, WAL) plus a folder per run.

Layout of ``$CONVSCOPE_HOME`` (default ``./convscope-runs``)::

    runs.db            runs, epochs, artifacts, searches (schema versioned, migrated on open)
    runs/<id>/         config.yaml, best.safetensors, last.safetensors, curves.png, report.html ...

Every epoch is written in its own transaction, so a run killed with SIGKILL keeps every finished
epoch; the next open finds its ``running`` row whose process is gone and marks it ``interrupted``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from convscope.errors import StorageError, StoreError
from convscope.store.faults import explain_fault
from convscope.store.status import RunStatus

SCHEMA_VERSION = 1

# Each entry upgrades the schema from version i to i+1; index 0 creates it from nothing.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        status TEXT NOT NULL,            -- running | completed | early_stopped | pruned | diverged | failed | interrupted
        reason TEXT,                     -- why it stopped, in words
        config TEXT NOT NULL,            -- the resolved config as YAML
        seed INTEGER,
        created REAL NOT NULL,
        finished REAL,
        pid INTEGER,
        host TEXT,
        env TEXT,                        -- JSON: versions, device, threads
        epochs INTEGER NOT NULL DEFAULT 0,
        best_epoch INTEGER,
        monitor TEXT,
        best_value REAL,
        test TEXT,                       -- JSON: test metrics at the best epoch
        notes TEXT,                      -- JSON list: data warnings ("synthetic", leakage)
        info TEXT,                       -- JSON: split assignment, thresholds, diagnosis ...
        search TEXT,                     -- search name if this run is a trial
        trial INTEGER,
        params TEXT                      -- JSON: the trial's sampled params
    );
    CREATE INDEX runs_search ON runs(search);
    CREATE TABLE epochs (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        metrics TEXT NOT NULL,           -- JSON: train_loss, val_loss, val_accuracy, lr ...
        seconds REAL NOT NULL,
        health TEXT,                     -- JSON: compact per-layer gradient/activation summary
        PRIMARY KEY (run_id, epoch)
    );
    CREATE TABLE artifacts (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (run_id, kind)
    );
    CREATE TABLE searches (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        created REAL NOT NULL,
        status TEXT NOT NULL,
        storage TEXT,                    -- the Optuna storage path holding the search state
        info TEXT
    );
    """,
]

FINISHED = RunStatus.finished_values()  # what finish_run accepts


def default_home() -> Path:
    return Path(os.environ.get("CONVSCOPE_HOME", "convscope-runs"))


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=_jsonable, allow_nan=True)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


class Store:
    """The run store at ``home``.

    Example:
        >>> store = Store("/tmp/convscope-doc")           # doctest: +SKIP
        >>> [r["name"] for r in store.runs()]             # doctest: +SKIP
    """

    def __init__(self, home: str | Path | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.path = self.home / "runs.db"
        self.read_only = False
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=60000")
            self._migrate()
            self._mark_interrupted()
        except (sqlite3.OperationalError, OSError) as exc:
            fault = explain_fault(exc, where=self.home)
            if not self.path.is_file() or fault is None or "read-only" not in fault.message:
                raise fault or exc from None  # a full disk or a locked store is not a reason to go read-only
            self._open_read_only(exc)

    def _open_read_only(self, cause: BaseException) -> None:
        """Open an existing store that cannot be written (a read-only mount, a backup): queries work,
        writes raise a StorageError. ``immutable=1`` because a WAL database without its ``-shm`` file
        cannot be opened ``mode=ro``; on a read-only filesystem nothing can change it under us."""
        self.read_only = True
        for query in ("mode=ro", "immutable=1"):
            try:
                self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?{query}", uri=True, timeout=60,
                                             isolation_level=None)
                self._conn.row_factory = sqlite3.Row
                row = self._conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                break
            except sqlite3.OperationalError:
                continue
        else:
            raise explain_fault(cause, where=self.path) or cause from None
        if row is None or int(row["value"]) != SCHEMA_VERSION:
            raise StorageError(f"{self.path}: the store is read-only and needs a schema upgrade",
                               hint="open it once with write access, or copy it to a writable folder")

    # -- schema ------------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._tx():
            self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            version = int(row["value"]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: schema version {version} is newer than this convscope "
                                 f"({SCHEMA_VERSION})", hint="upgrade convscope, or use another --home")
            for step in MIGRATIONS[version:]:
                for statement in filter(str.strip, step.split(";")):
                    self._conn.execute(statement)
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def check_writable(self) -> None:
        """A StorageError (exit code 3) when this store was opened read-only."""
        if self.read_only:
            raise StorageError(f"{self.home}: the run store is read-only",
                               hint="point --home (or CONVSCOPE_HOME) at a writable folder, or make this one writable")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.check_writable()
        # BEGIN IMMEDIATE takes the write lock up front: concurrent writers queue instead of failing
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _mark_interrupted(self) -> None:
        """Runs and searches left ``running`` by a process of this machine that is gone become ``interrupted``."""
        host = socket.gethostname()
        rows = self._conn.execute("SELECT id, pid, host FROM runs WHERE status='running'").fetchall()
        dead = [r["id"] for r in rows if r["host"] == host and r["pid"] and not pid_alive(r["pid"])]
        searches = self._conn.execute("SELECT name, info FROM searches WHERE status='running'").fetchall()
        drivers = {r["name"]: json.loads(r["info"] or "{}") for r in searches}
        dead_searches = [name for name, info in drivers.items()
                         if info.get("host") == host and info.get("pid") and not pid_alive(int(info["pid"]))]
        if dead or dead_searches:
            with self._tx() as db:
                db.executemany("UPDATE runs SET status='interrupted', reason=?, finished=? WHERE id=?",
                               [("process ended during training", time.time(), i) for i in dead])
                db.executemany("UPDATE searches SET status='interrupted' WHERE name=? AND status='running'",
                               [(name,) for name in dead_searches])

    def close(self) -> None:
        self._conn.close()

    # -- runs --------------------------------------------------------------------------------

    def run_dir(self, run_id: int) -> Path:
        return self.home / "runs" / str(run_id)

    def create_run(self, *, name: str, config_yaml: str, seed: int, env: dict, notes: list[str] | None = None,
                   info: dict | None = None, monitor: str | None = None, search: str | None = None,
                   trial: int | None = None, params: dict | None = None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs (name, status, config, seed, created, pid, host, env, notes, info, monitor,"
                " search, trial, params) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, config_yaml, seed, time.time(), os.getpid(), socket.gethostname(), _json(env),
                 _json(notes or []), _json(info or {}), monitor, search, trial, _json(params)))
            run_id = int(cur.lastrowid)
        folder = self.run_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(config_yaml)
        return run_id

    def reopen_run(self, run_id: int) -> None:
        """Mark an interrupted run as running again (resume in this process)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET status='running', reason=NULL, finished=NULL, pid=?, host=? WHERE id=?",
                       (os.getpid(), socket.gethostname(), run_id))

    def log_epoch(self, run_id: int, epoch: int, metrics: dict[str, float], seconds: float, *,
                  health: dict | None = None, best_epoch: int | None = None,
                  best_value: float | None = None) -> None:
        """Write one finished epoch (and the run's progress) in a single transaction."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?)",
                       (run_id, epoch, _json(metrics), seconds, _json(health)))
            db.execute("UPDATE runs SET epochs=?, best_epoch=COALESCE(?, best_epoch),"
                       " best_value=COALESCE(?, best_value) WHERE id=?",
                       (epoch, best_epoch, _finite(best_value), run_id))

    def truncate_epochs(self, run_id: int, after: int) -> None:
        """Forget epochs past ``after`` (a resumed run repeats the epoch that was in flight)."""
        with self._tx() as db:
            db.execute("DELETE FROM epochs WHERE run_id=? AND epoch>?", (run_id, after))
            db.execute("UPDATE runs SET epochs=? WHERE id=?", (after, run_id))

    def restart_clock(self, run_id: int) -> None:
        """Start a resumed run's clock again: its time so far is the seconds of the epochs it kept, not the
        wall time since it was created (which includes the time it lay dead)."""
        row = self._conn.execute("SELECT COALESCE(SUM(seconds), 0) AS s FROM epochs WHERE run_id=?",
                                 (run_id,)).fetchone()
        self.update_info(run_id, active_before=float(row["s"]), resumed_at=time.time())

    def finish_run(self, run_id: int, *, status: str, reason: str | None = None, test: dict | None = None,
                   info: dict | None = None) -> None:
        assert status in FINISHED, status
        with self._tx() as db:
            if info:
                merged = {**self._info(run_id), **info}
                db.execute("UPDATE runs SET info=? WHERE id=?", (_json(merged), run_id))
            db.execute("UPDATE runs SET status=?, reason=?, test=COALESCE(?, test), finished=? WHERE id=?",
                       (status, reason, _json(test), time.time(), run_id))

    def update_info(self, run_id: int, **info: Any) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET info=? WHERE id=?", (_json({**self._info(run_id), **info}), run_id))

    def _info(self, run_id: int) -> dict:
        row = self._conn.execute("SELECT info FROM runs WHERE id=?", (run_id,)).fetchone()
        return json.loads(row["info"]) if row and row["info"] else {}

    def add_artifact(self, run_id: int, kind: str, path: str | Path) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?)", (run_id, kind, str(path), time.time()))

    def artifacts(self, run_id: int) -> dict[str, Path]:
        rows = self._conn.execute("SELECT kind, path FROM artifacts WHERE run_id=?", (run_id,)).fetchall()
        return {r["kind"]: Path(r["path"]) for r in rows}

    # -- queries -----------------------------------------------------------------------------

    def run(self, run_id: int | str) -> dict[str, Any]:
        try:
            key = int(run_id)
        except (TypeError, ValueError):
            raise StoreError(f"'{run_id}' is not a run id", hint="run ids are numbers: see `convscope runs`") from None
        row = self._conn.execute("SELECT * FROM runs WHERE id=?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"no run {key} in {self.path}", hint="list runs with `convscope runs`")
        return _decode(row)

    def runs(self, *, search: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        query = "SELECT * FROM runs"
        args: tuple = ()
        if search is not None:
            query += " WHERE search=?"
            args = (search,)
        query += " ORDER BY id DESC"
        if limit:
            query += f" LIMIT {int(limit)}"
        return [_decode(r) for r in self._conn.execute(query, args).fetchall()]

    def epochs(self, run_id: int) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT * FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,)).fetchall()
        out = []
        for r in rows:
            entry = {"epoch": r["epoch"], **json.loads(r["metrics"]), "seconds": r["seconds"]}
            if r["health"]:
                entry["health"] = json.loads(r["health"])
            out.append(entry)
        return out

    # -- searches ----------------------------------------------------------------------------

    def create_search(self, name: str, *, config_yaml: str, storage: str, info: dict | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO searches VALUES (?, ?, ?, 'running', ?, ?)",
                       (name, config_yaml, time.time(), storage, _json(info or {})))

    def set_search_status(self, name: str, status: str, info: dict | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE searches SET status=?, info=COALESCE(?, info) WHERE name=?", (status, _json(info), name))

    def search(self, name: str) -> dict[str, Any]:
        row = self._conn.execute("SELECT * FROM searches WHERE name=?", (name,)).fetchone()
        if row is None:
            known = [r["name"] for r in self._conn.execute("SELECT name FROM searches").fetchall()]
            raise StoreError(f"no search named '{name}' in {self.path}",
                             hint=f"known searches: {', '.join(known)}" if known else "start one with `convscope search CONFIG`")
        out = dict(row)
        out["info"] = json.loads(out["info"]) if out["info"] else {}
        return out

    def searches(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM searches ORDER BY created DESC").fetchall()]


def active_seconds(row: dict[str, Any], now: float | None = None) -> float:
    """How long a run (a decoded row) has been training, without the time it lay dead before a resume."""
    end = row["finished"] or (now if now is not None else time.time())
    info = row.get("info") or {}
    if "resumed_at" in info:
        return float(info["active_before"]) + max(0.0, end - float(info["resumed_at"]))
    return end - row["created"]


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("env", "test", "notes", "info", "params"):
        out[key] = json.loads(out[key]) if out.get(key) else ({} if key != "notes" else [])
    return out
