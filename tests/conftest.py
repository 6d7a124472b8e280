"""Shared fixtures: every test gets its own run store and dataset cache."""

from __future__ import annotations

import contextlib
import os

import pytest
import torch


def pytest_collection_modifyitems(items):
    # a test marked cuda needs a GPU: skipped, by name, where there is none
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="no CUDA GPU on this machine (tests marked cuda run where there is one)")
        for item in items:
            if item.get_closest_marker("cuda"):
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _cpu_unless_marked_cuda(request, monkeypatch):
    """Every test but those marked ``cuda`` sees a CPU-only machine (``device: auto`` picks the CPU), so that the
    suite means the same on a GPU machine; the ``cuda`` tests train on the GPU (bench/gpu_check.sh runs them)."""
    if request.node.get_closest_marker("cuda") is None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_HOME", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))
    for name in ("CONVSCOPE_STORE", "CONVSCOPE_ARTIFACTS", "CONVSCOPE_HEARTBEAT"):
        # the embedded store unless a test asks for another; setenv first so that teardown also undoes
        # what the test itself set (`convscope --store URL` writes os.environ, for its workers to inherit)
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    torch.set_num_threads(1)  # identical numbers run to run, and 2 cores shared by tests stay calm
    yield


DIGITS_CNN = {
    "name": "digits-cnn",
    "seed": 0,
    "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
    "params": {"lr": 0.01, "filters": 8},
    "model": {"layers": [
        {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same", "activation": "relu"}},
        {"maxpool": 2},
        "flatten",
        {"dense": {"units": 32, "activation": "relu"}},
        {"dense": {"units": 10, "activation": "softmax"}},
    ]},
    "train": {"epochs": 3, "batch_size": 64, "optimizer": {"name": "adam", "lr": "${lr}"}},
}


@pytest.fixture
def digits_cfg():
    import copy

    return copy.deepcopy(DIGITS_CNN)


POSTGRES_ENV = "CONVSCOPE_TEST_POSTGRES"  # exported by .ci/run (.ci/postgres.sh starts the server)


@contextlib.contextmanager
def postgres_test_schema(monkeypatch):
    """A schema of its own on the test server, set as ``CONVSCOPE_STORE``: yields (admin engine, schema, store
    URL); afterwards the schema and any role named ``ro_<schema>`` (read-only tests make one) are dropped.
    Skips when $CONVSCOPE_TEST_POSTGRES is unset."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"${POSTGRES_ENV} is unset (.ci/run starts a PostgreSQL server and sets it)")
    import uuid

    import sqlalchemy as sa

    from convscope.store.engine import dispose_engines
    from convscope.tuning.study import close_storages

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("CONVSCOPE_STORE", url)
    try:
        yield admin, schema, url
    finally:
        close_storages()
        dispose_engines()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            for (role,) in conn.exec_driver_sql(f"SELECT rolname FROM pg_roles WHERE rolname = 'ro_{schema}'"):
                conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request, monkeypatch):
    """Runs a test once on the embedded SQLite store and once on a real PostgreSQL server.

    The PostgreSQL run gets a schema of its own (dropped afterwards) through ``CONVSCOPE_STORE``, which
    every Store, search worker and Optuna storage of the test reads; it skips when $CONVSCOPE_TEST_POSTGRES
    is unset. Yields the store URL (None for SQLite).
    """
    if request.param == "sqlite":
        yield None
        return
    with postgres_test_schema(monkeypatch) as (_, _, url):
        yield url
