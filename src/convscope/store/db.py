"""The run store: runs, epochs, artifacts and searches in one database, plus a folder per run.

The database is the embedded SQLite file ``<home>/runs.db`` (the default), or a PostgreSQL server
that every node of a cluster shares (``CONVSCOPE_STORE=postgresql://...`` or ``--store``); see
``engine.py``. Both get the same tables and migrations (``schema.py``, SQLAlchemy Core) and the
same guarantees:

- every epoch is written in its own transaction, so a worker killed with SIGKILL keeps every
  finished epoch;
- a ``running`` row whose process is gone becomes ``interrupted``: by heartbeat from any node
  (``heartbeat.py``), at once by process id on the node that ran it;
- a run's epochs can only be written by the process that owns it, so a run resumed elsewhere after
  its node was declared dead is never written by two processes.

Run folders live under the artifact root (``artifacts.py``): ``<home>`` by default.

Example:
    >>> store = Store("/tmp/convscope-doc")           # doctest: +SKIP
    >>> [r["name"] for r in store.runs()]             # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from convscope.errors import StorageError, StoreError
from convscope.store import faults, queries, schema
from convscope.store.artifacts import ARTIFACTS_ENV, ArtifactRoot
from convscope.store.engine import READ_OPTION, database_url, engine_for, explain, shown
from convscope.store.faults import explain_fault, is_read_only_fault, read_only_engine
from convscope.store.heartbeat import (
    Heartbeat,
    dead_driver,
    dead_run,
    heartbeat_seconds,
    stale_after,
)
from convscope.store.location import default_home
from convscope.store.queries import decode_run
from convscope.store.schema import SCHEMA_VERSION
from convscope.store.status import RunStatus

FINISHED = RunStatus.finished_values()  # what finish_run accepts
RUNNING, INTERRUPTED = RunStatus.RUNNING.value, RunStatus.INTERRUPTED.value

R, E, A, S = schema.runs, schema.epochs, schema.artifacts, schema.searches


class RunTakenOver(StoreError):
    """This process wrote to a run that another process took over (its heartbeat had gone stale)."""


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
    """The run store.

    Args:
        home: the local folder (default ``$CONVSCOPE_HOME`` or ``./convscope-runs``): the SQLite file,
            search journals, and run folders unless ``artifacts`` says otherwise.
        url: the database (default ``$CONVSCOPE_STORE``, else ``<home>/runs.db``).
        artifacts: the artifact root, a folder or an fsspec URL (default ``$CONVSCOPE_ARTIFACTS``, else ``home``).

    Example:
        >>> import tempfile
        >>> store = Store(tempfile.mkdtemp())
        >>> run_id = store.create_run(name="demo", config_yaml="name: demo", seed=0, env={})
        >>> [(r["id"], r["name"], r["status"]) for r in store.runs()]
        [(1, 'demo', 'running')]
        >>> # a PostgreSQL store: not run by the test suite, it needs a server
        >>> store = Store("/tmp/convscope-doc", url="postgresql://me:pw@db.lan/runs")   # doctest: +SKIP
    """

    def __init__(self, home: str | Path | None = None, *, url: str | None = None,
                 artifacts: str | Path | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.url = database_url(self.home, url)
        self.is_server = self.url.get_backend_name() != "sqlite"
        # where rows say they are: the SQLite file, or the server URL without its password
        self.path = Path(self.url.database) if not self.is_server else None
        self.location = str(self.path) if self.path else shown(self.url)
        self.read_only, self._refusal = False, None  # _refusal: why a read-only server store refuses writes
        self._beats: dict[int, Heartbeat] = {}
        self.artifact_root = ArtifactRoot(artifacts or os.environ.get(ARTIFACTS_ENV) or self.home,
                                          staging=self.home / "staging")
        try:
            if not self.is_server:
                self.home.mkdir(parents=True, exist_ok=True)
            self.artifact_root.check_writable()
            self._engine = engine_for(self.url)
            if self.is_server and self._open_server_read_only():
                return
            with self._tx() as conn:
                if self.is_server:
                    # two nodes opening a fresh database at once must not both create the tables
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key("convscope-schema"))))
                schema.upgrade(conn, source=self.location)
        except (sa.exc.DBAPIError, OSError, StoreError) as exc:
            cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
            fault = None if isinstance(exc, StoreError) else explain_fault(cause, where=self.location if self.is_server else self.home)
            if self.is_server or self.path is None or not self.path.is_file() or not is_read_only_fault(exc, fault):
                raise (fault or (explain(self.url, exc) if isinstance(exc, sa.exc.OperationalError) else exc)) from None
            # an existing SQLite store that cannot be written (a read-only mount, a backup): queries only
            self.read_only, self._engine = True, read_only_engine(self.path)
            return
        self._mark_interrupted()

    def _open_server_read_only(self) -> bool:
        """True (and queries only from now on) when the server lets this role read the store but not write it."""
        with self._read() as conn:
            self._refusal = faults.server_write_refusal(conn, where=self.location)
            if self._refusal is not None:
                faults.require_current_schema(str(schema.version(conn)), where=self.location)
        self.read_only = self._refusal is not None
        return self.read_only

    def check_writable(self) -> None:
        """A StorageError (exit code 3) when this store was opened read-only."""
        if self.read_only:
            raise self._refusal or StorageError(f"{self.home}: the run store is read-only",
                                                hint="point --home (or CONVSCOPE_HOME) at a writable folder, or make this one writable")

    # -- connections -------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        """One write transaction (SQLite: BEGIN IMMEDIATE, see engine.py); rolled back on any error."""
        self.check_writable()
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._engine.connect().execution_options(**{READ_OPTION: True}) as conn:
            yield conn

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock named ``name`` across every process using this store, on any node.

        PostgreSQL: a session advisory lock; SQLite: an ``flock`` on a file next to the database.
        Both are released by the server or the kernel when their holder dies.
        """
        if self.is_server:
            with self._engine.connect() as conn:
                key = _lock_key(name)
                conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    conn.commit()
            return
        assert self.path is not None
        path = self.path.parent / "locks" / f"{hashlib.sha1(name.encode()).hexdigest()[:16]}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _mark_interrupted(self) -> None:
        host, now = socket.gethostname(), time.time()
        cutoff = now - stale_after()
        with self._read() as conn:
            rows = conn.execute(sa.text(queries.RUNNING_RUNS_SQL)).all()
        for r in rows:
            how = dead_run(pid=r.pid, host=r.host, heartbeat=r.heartbeat, here=host, cutoff=cutoff)
            if how == "pid":
                guard, reason = (R.c.pid == r.pid) & (R.c.host == host), "process ended during training"
            elif how == "heartbeat":
                # the same test inside the UPDATE: a beat that landed since the SELECT keeps the run alive
                guard = R.c.heartbeat < cutoff
                reason = f"no heartbeat from {r.host} for {now - r.heartbeat:.0f} s: its process or node died"
            else:
                continue
            with self._tx() as conn:
                conn.execute(R.update().where((R.c.id == r.id) & (R.c.status == RUNNING) & guard)
                             .values(status=INTERRUPTED, reason=reason, finished=now))
        # a search whose driver process on this machine is gone reads `interrupted`, like its runs
        with self._read() as conn:
            searches = conn.execute(sa.text(queries.RUNNING_SEARCHES_SQL)).all()
        for name, info_text in searches:
            if dead_driver(json.loads(info_text or "{}"), here=host):
                with self._tx() as conn:
                    conn.execute(S.update().where((S.c.name == name) & (S.c.status == RUNNING))
                                 .values(status=INTERRUPTED))

    def close(self) -> None:
        """Stop this store's heartbeats (the engine is shared by the process and stays open)."""
        for beat in self._beats.values():
            beat.stop()
        self._beats.clear()

    # -- runs --------------------------------------------------------------------------------

    def run_dir(self, run_id: int) -> Path:
        """The local folder of run ``run_id``'s files (with a remote artifact root: its staging copy)."""
        return self.artifact_root.run_dir(run_id)

    def fetch_run_dir(self, run_id: int) -> Path:
        """Run ``run_id``'s local folder with its files in it (from a remote artifact root: downloaded once)."""
        return self.artifact_root.pull(run_id, only_missing=True)

    def _owned(self, run_id: int) -> sa.ColumnElement[bool]:
        return (R.c.id == run_id) & (R.c.status == RUNNING) & (R.c.host == socket.gethostname()) & (
            R.c.pid == os.getpid())

    def _start_heartbeat(self, run_id: int) -> None:
        def beat() -> bool:
            with self._tx() as conn:
                return conn.execute(R.update().where(self._owned(run_id))
                                    .values(heartbeat=time.time())).rowcount > 0

        self._stop_heartbeat(run_id)
        self._beats[run_id] = Heartbeat(beat, interval=heartbeat_seconds())

    def _stop_heartbeat(self, run_id: int) -> None:
        beat = self._beats.pop(run_id, None)
        if beat is not None:
            beat.stop()

    def create_run(self, *, name: str, config_yaml: str, seed: int, env: dict, notes: list[str] | None = None,
                   info: dict | None = None, monitor: str | None = None, search: str | None = None,
                   trial: int | None = None, params: dict | None = None) -> int:
        now = time.time()
        with self._tx() as conn:
            result = conn.execute(R.insert().values(
                name=name, status=RUNNING, config=config_yaml, seed=seed, created=now, pid=os.getpid(),
                host=socket.gethostname(), env=_json(env), notes=_json(notes or []), info=_json(info or {}),
                monitor=monitor, search=search, trial=trial, params=_json(params), heartbeat=now))
            run_id = int(result.inserted_primary_key[0])
            conn.execute(R.update().where(R.c.id == run_id).values(artifacts=self.artifact_root.location(run_id)))
        folder = self.run_dir(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(config_yaml)
        self._start_heartbeat(run_id)
        return run_id

    def reopen_run(self, run_id: int) -> None:
        """Mark an interrupted run as running again in this process (resume), with its files at hand."""
        with self._tx() as conn:
            conn.execute(R.update().where(R.c.id == run_id).values(
                status=RUNNING, reason=None, finished=None, pid=os.getpid(), host=socket.gethostname(),
                heartbeat=time.time()))
        self.artifact_root.pull(run_id)
        self._start_heartbeat(run_id)

    def relink_trial(self, run_id: int, trial: int) -> None:
        """Record that run ``run_id`` now continues as trial ``trial`` of its search (a retried trial)."""
        with self._tx() as conn:
            conn.execute(R.update().where(R.c.id == run_id).values(trial=trial))

    def log_epoch(self, run_id: int, epoch: int, metrics: dict[str, float], seconds: float, *,
                  health: dict | None = None, best_epoch: int | None = None,
                  best_value: float | None = None) -> None:
        """Write one finished epoch (and the run's progress) in a single transaction.

        Raises StoreError when this process no longer owns the run (it was declared dead and resumed
        elsewhere): the transaction is rolled back and nothing is written.
        """
        values: dict[str, Any] = {"epochs": epoch, "heartbeat": time.time()}
        if best_epoch is not None:
            values["best_epoch"] = best_epoch
        if _finite(best_value) is not None:
            values["best_value"] = _finite(best_value)
        with self._tx() as conn:
            if conn.execute(R.update().where(self._owned(run_id)).values(**values)).rowcount == 0:
                raise RunTakenOver(f"run {run_id} is no longer this process's to write ({self.location})",
                                 hint="its heartbeat went stale and another worker resumed it; this copy stops")
            conn.execute(E.delete().where((E.c.run_id == run_id) & (E.c.epoch == epoch)))
            conn.execute(E.insert().values(run_id=run_id, epoch=epoch, metrics=_json(metrics), seconds=seconds,
                                           health=_json(health)))

    def truncate_epochs(self, run_id: int, after: int) -> None:
        """Forget epochs past ``after`` (a resumed run repeats the epoch that was in flight)."""
        with self._tx() as conn:
            conn.execute(E.delete().where((E.c.run_id == run_id) & (E.c.epoch > after)))
            conn.execute(R.update().where(R.c.id == run_id).values(epochs=after))

    def restart_clock(self, run_id: int) -> None:
        """Start a resumed run's clock again: its time so far is the seconds of the epochs it kept, not the
        wall time since it was created (which includes the time it lay dead)."""
        with self._read() as conn:
            kept = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(E.c.seconds), 0.0))
                                .where(E.c.run_id == run_id)).scalar()
        self.update_info(run_id, active_before=float(kept or 0.0), resumed_at=time.time())

    def finish_run(self, run_id: int, *, status: str, reason: str | None = None, test: dict | None = None,
                   info: dict | None = None) -> bool:
        """Record how run ``run_id`` ended; False (and nothing written) when this process no longer owns
        it, e.g. the old copy of a run that was taken over by another node ends with an error."""
        assert status in FINISHED, status
        self._stop_heartbeat(run_id)
        values: dict[str, Any] = {"status": status, "reason": reason, "finished": time.time()}
        if test is not None:
            values["test"] = _json(test)
        with self._tx() as conn:
            if info:
                values["info"] = _json({**self._info(conn, run_id), **info})
            if conn.execute(R.update().where(self._owned(run_id)).values(**values)).rowcount == 0:
                return False
        self.push_artifacts(run_id)
        return True

    def push_artifacts(self, run_id: int) -> None:
        """Upload run ``run_id``'s changed files to a remote artifact root (a folder root: nothing to do)."""
        if self.run_dir(run_id).exists():
            self.artifact_root.push(run_id)

    def update_info(self, run_id: int, **info: Any) -> None:
        with self._tx() as conn:
            conn.execute(R.update().where(R.c.id == run_id).values(info=_json({**self._info(conn, run_id), **info})))

    @staticmethod
    def _info(conn: sa.Connection, run_id: int) -> dict:
        text = conn.execute(sa.select(R.c.info).where(R.c.id == run_id)).scalar()
        return json.loads(text) if text else {}

    def add_artifact(self, run_id: int, kind: str, path: str | Path) -> None:
        with self._tx() as conn:
            conn.execute(A.delete().where((A.c.run_id == run_id) & (A.c.kind == kind)))
            conn.execute(A.insert().values(run_id=run_id, kind=kind, path=str(path), created=time.time()))

    def artifacts(self, run_id: int) -> dict[str, Path]:
        with self._read() as conn:
            rows = conn.execute(sa.select(A.c.kind, A.c.path).where(A.c.run_id == run_id)).all()
        return {r.kind: Path(r.path) for r in rows}

    # -- queries -----------------------------------------------------------------------------

    def run(self, run_id: int | str) -> dict[str, Any]:
        try:
            key = int(run_id)
        except (TypeError, ValueError):
            raise StoreError(f"'{run_id}' is not a run id", hint="run ids are numbers: see `convscope runs`") from None
        with self._read() as conn:
            row = conn.execute(sa.select(R).where(R.c.id == key)).mappings().first()
        if row is None:
            raise StoreError(f"no run {key} in {self.location}", hint="list runs with `convscope runs`")
        return decode_run(row)

    def runs(self, *, search: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Runs, newest first (one search's with ``search``): the query ``fast_read`` runs without SQLAlchemy."""
        sql, params = queries.runs_query(search=search, limit=limit)
        with self._read() as conn:
            return [decode_run(r) for r in conn.execute(sa.text(sql), params).mappings().all()]

    def epochs(self, run_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(sa.select(E).where(E.c.run_id == run_id).order_by(E.c.epoch)).all()
        out = []
        for r in rows:
            entry = {"epoch": r.epoch, **json.loads(r.metrics), "seconds": r.seconds}
            if r.health:
                entry["health"] = json.loads(r.health)
            out.append(entry)
        return out

    # -- searches ----------------------------------------------------------------------------

    def create_search(self, name: str, *, config_yaml: str, storage: str, info: dict | None = None) -> None:
        with self._tx() as conn:
            conn.execute(S.delete().where(S.c.name == name))
            conn.execute(S.insert().values(name=name, config=config_yaml, created=time.time(), status="running",
                                           storage=storage, info=_json(info or {})))

    def set_search_status(self, name: str, status: str, info: dict | None = None) -> None:
        values: dict[str, Any] = {"status": status}
        if info is not None:
            values["info"] = _json(info)
        with self._tx() as conn:
            conn.execute(S.update().where(S.c.name == name).values(**values))

    def search(self, name: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(sa.select(S).where(S.c.name == name)).mappings().first()
            known = [] if row else list(conn.execute(sa.select(S.c.name)).scalars())
        if row is None:
            raise StoreError(f"no search named '{name}' in {self.location}",
                             hint=f"known searches: {', '.join(known)}" if known else "start one with `convscope search CONFIG`")
        out = dict(row)
        out["info"] = json.loads(out["info"]) if out["info"] else {}
        return out

    def searches(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return [dict(r) for r in conn.execute(sa.select(S).order_by(S.c.created.desc())).mappings().all()]


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)


__all__ = ["FINISHED", "SCHEMA_VERSION", "RunTakenOver", "Store", "default_home"]
