"""A PostgreSQL store the user may only read: runs, show, look and report work; run exits 3 in one line (issue 13, 5).

Two ways a server store is read-only: the session (``default_transaction_read_only``, as on a hot standby) and
the role (SELECT granted, nothing else). Both need $CONVSCOPE_TEST_POSTGRES (``.ci/postgres.sh``); the role
case also needs a connecting role with CREATEROLE, which that script grants.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import yaml
from tests.conftest import postgres_test_schema
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.errors import StorageError
from convscope.store.faults import explain_fault

runner = CliRunner()
TINY_CONV = {"name": "tiny", "seed": 0, "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
             "model": {"layers": [{"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "flatten",
                                  {"dense": {"units": 10, "activation": "softmax"}}]},
             "train": {"epochs": 1, "batch_size": 256}}


class _ServerError(Exception):
    """What psycopg raises: an exception carrying the server's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("cannot execute INSERT in a read-only transaction")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["25006", "42501"])
def test_a_write_the_server_refuses_is_a_read_only_storage_error(sqlstate):
    fault = explain_fault(sa.exc.InternalError("INSERT ...", {}, _ServerError(sqlstate)), where="pg://db")
    assert isinstance(fault, StorageError) and fault.exit_code == 3
    assert fault.message.startswith("pg://db: the run store is read-only") and "INSERT and UPDATE" in fault.hint


def test_other_server_errors_keep_their_traceback():
    assert explain_fault(sa.exc.IntegrityError("INSERT ...", {}, _ServerError("23505"))) is None


@pytest.fixture
def postgres_schema(monkeypatch) -> Iterator[tuple[sa.Engine, str, str]]:
    """A schema of its own on the test server: (admin engine, schema name, store URL of the owner)."""
    with postgres_test_schema(monkeypatch) as made:
        yield made


def _read_only_url(admin: sa.Engine, schema: str, owner: str, how: str) -> str:
    if how == "session":  # every transaction read-only, as on a hot standby
        return owner.replace(f"csearch_path%3D{schema}", f"csearch_path%3D{schema}%20-cdefault_transaction_read_only%3Don")
    with admin.connect() as conn:
        if not conn.exec_driver_sql("SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user").scalar():
            pytest.skip("the test server's role lacks CREATEROLE (rerun .ci/postgres.sh, which grants it)")
    role = f"ro_{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'ro'")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    url = sa.engine.make_url(owner).set(username=role, password="ro")
    return url.render_as_string(hide_password=False)


def _rows(admin: sa.Engine, schema: str) -> list[tuple]:
    with admin.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT r.id, r.status, r.epochs, count(e.epoch) FROM {schema}.runs r "
            f"LEFT JOIN {schema}.epochs e ON e.run_id = r.id GROUP BY r.id ORDER BY r.id")]


@pytest.mark.parametrize("how", ["session", "select-only role"])
def test_a_read_only_postgres_store_reads_and_refuses_a_run_in_one_line(postgres_schema, monkeypatch, tmp_path, how):
    admin, schema, owner = postgres_schema
    trained = convscope.run(TINY_CONV)
    before = _rows(admin, schema)
    monkeypatch.setenv("CONVSCOPE_STORE", _read_only_url(admin, schema, owner, how))
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0 and "tiny" in listing.output, listing.output
    show = runner.invoke(app, ["show", str(trained.id)])
    assert show.exit_code == 0 and "per-epoch history" in show.output, show.output
    look = runner.invoke(app, ["look", str(trained.id), "kernels"])
    assert look.exit_code == 0 and "kernels-" in look.output, look.output
    report = runner.invoke(app, ["report", str(trained.id), "--out", str(tmp_path / "r.html")])
    assert report.exit_code == 0 and (tmp_path / "r.html").is_file(), report.output
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(TINY_CONV))
    refused = runner.invoke(app, ["run", str(tmp_path / "t.yaml"), "--no-report"])
    assert refused.exit_code == 3, refused.output
    error = refused.output[refused.output.index("error: "):]
    assert "the run store is read-only" in error and "Traceback" not in refused.output
    assert len(error.strip().splitlines()) == 2, error  # the line and its hint
    assert _rows(admin, schema) == before
