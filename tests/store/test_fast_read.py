"""store/fast_read.py and store/queries.py: `convscope runs` reads SQLite without SQLAlchemy, exactly as Store reads."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys

import pytest

from convscope.store import Store, queries, schema
from convscope.store.engine import dispose_engines
from convscope.store.fast_read import read_runs

NO_SUCH_PID = 2**22 + 12345


def _fill(home, count: int = 5) -> Store:
    store = Store(home)
    for i in range(count):
        search = "grid" if i % 2 else None
        run_id = store.create_run(name=f"run{i}", config_yaml=f"name: run{i}\n", seed=i, env={"torch": "x"},
                                  monitor="val_loss", search=search, trial=i if search else None,
                                  params={"lr": 0.1 * i} if search else None, notes=["synthetic"] if i == 2 else None)
        store.log_epoch(run_id, 1, {"val_loss": 0.5 + i}, 0.1, best_epoch=1, best_value=0.5 + i)
        store.finish_run(run_id, status="completed", reason="done", test={"test_accuracy": 0.9} if i != 3 else None,
                         info={"objective": {"metric": "val_loss", "value": 0.5 + i}} if search else None)
    store.close()
    return store


def _sql(home, statement: str, *params) -> None:
    with sqlite3.connect(home / "runs.db") as conn:
        conn.execute(statement, params)


@pytest.mark.parametrize("search, limit", [(None, None), (None, 2), ("grid", None), ("grid", 1), ("none", None)])
def test_reads_what_the_store_reads(tmp_path, search, limit):
    store = _fill(tmp_path)
    location, rows = read_runs(tmp_path, search=search, limit=limit)
    assert location == store.location
    assert rows == store.runs(search=search, limit=limit)  # every column, JSON decoded the same way
    assert json.dumps(rows) == json.dumps(store.runs(search=search, limit=limit))  # same types and key order


def test_the_store_runs_the_shared_sql_on_both_backends(tmp_path, store_backend):
    _fill(tmp_path)
    store = Store(tmp_path)
    assert [r["id"] for r in store.runs()] == [5, 4, 3, 2, 1]
    assert [r["id"] for r in store.runs(search="grid")] == [4, 2]
    assert [r["id"] for r in store.runs(search="grid", limit=1)] == [4]
    assert store.runs(limit=1)[0]["notes"] == [] and store.run(3)["notes"] == ["synthetic"]


def test_answers_while_another_process_writes(tmp_path):
    _fill(tmp_path)
    writer = sqlite3.connect(tmp_path / "runs.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what every Store write takes; Store(home) itself would wait for it
    writer.execute("UPDATE runs SET name = 'renamed' WHERE id = 5")
    try:
        location, rows = read_runs(tmp_path)
        assert rows[0]["name"] == "run4"  # the last committed state, at once
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_leaves_the_home_as_it_found_it(tmp_path):
    _fill(tmp_path)
    dispose_engines()  # this process's Store connections close: SQLite removes runs.db-wal and runs.db-shm
    before = sorted(p.name for p in tmp_path.iterdir())
    assert read_runs(tmp_path) is not None
    after = sorted(p.name for p in tmp_path.iterdir())
    assert after == before and "runs.db-wal" not in after


def test_defers_to_the_store_when_it_would_write_or_parse(tmp_path, monkeypatch):
    assert read_runs(tmp_path) is None  # no store yet: Store(home) creates it
    _fill(tmp_path)
    monkeypatch.setenv("CONVSCOPE_STORE", f"sqlite:///{tmp_path / 'runs.db'}")  # a URL: SQLAlchemy parses it
    assert read_runs(tmp_path) is None
    monkeypatch.delenv("CONVSCOPE_STORE")
    monkeypatch.setenv("CONVSCOPE_HOME", str(tmp_path))
    assert read_runs() is not None  # the home from the environment, as Store() finds it


@pytest.mark.parametrize("version", ["1", "3"])
def test_another_schema_version_is_left_to_the_store(tmp_path, version):
    _fill(tmp_path)
    _sql(tmp_path, "UPDATE meta SET value = ? WHERE key = 'schema'", version)
    assert read_runs(tmp_path) is None  # Store migrates version 1 and refuses version 3 with a hint


def test_the_version_it_reads_is_the_one_migrations_reach():
    assert queries.SCHEMA_VERSION == schema.SCHEMA_VERSION == len(schema.MIGRATIONS)


def test_a_dead_run_is_left_to_the_store_which_marks_it(tmp_path):
    store = _fill(tmp_path, 1)
    run_id = store.create_run(name="dead", config_yaml="name: dead\n", seed=0, env={})
    store.close()
    assert read_runs(tmp_path)[1][0]["status"] == "running"  # this process is alive: nothing to mark
    _sql(tmp_path, "UPDATE runs SET pid = ? WHERE id = ?", NO_SUCH_PID, run_id)
    assert read_runs(tmp_path) is None
    Store(tmp_path)  # marks it interrupted
    assert read_runs(tmp_path)[1][0]["status"] == "interrupted"


def test_a_silent_run_on_another_node_is_left_to_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_HEARTBEAT", "1")  # stale after 4 s
    store = _fill(tmp_path, 1)
    run_id = store.create_run(name="remote", config_yaml="name: remote\n", seed=0, env={})
    store.close()
    _sql(tmp_path, "UPDATE runs SET host = 'another-node', heartbeat = heartbeat - 3 WHERE id = ?", run_id)
    assert read_runs(tmp_path) is not None  # beat 3 s ago: alive
    _sql(tmp_path, "UPDATE runs SET heartbeat = heartbeat - 10 WHERE id = ?", run_id)
    assert read_runs(tmp_path) is None


def test_a_dead_search_driver_is_left_to_the_store(tmp_path):
    store = _fill(tmp_path, 1)
    info = {"host": socket.gethostname(), "pid": NO_SUCH_PID}
    store.create_search("grid", config_yaml="x: 1\n", storage="journal", info=info)
    assert read_runs(tmp_path) is None
    assert Store(tmp_path).search("grid")["status"] == "interrupted"
    assert read_runs(tmp_path) is not None


def test_a_damaged_file_is_left_to_the_store(tmp_path):
    (tmp_path / "runs.db").write_bytes(b"not a database" * 100)
    assert read_runs(tmp_path) is None  # Store(home) words it: "the run store is corrupt"


def test_imports_no_sqlalchemy(tmp_path):
    _fill(tmp_path, 2)
    probe = ("import sys\nfrom convscope.store.fast_read import read_runs\n"
             f"assert len(read_runs({str(tmp_path)!r})[1]) == 2\n"
             "print(sorted(m for m in ('sqlalchemy', 'alembic', 'pydantic', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
