"""The run store's tables (SQLAlchemy Core) and the migrations between schema versions.

One description serves every backend: SQLAlchemy renders the DDL for SQLite and PostgreSQL alike,
and Alembic's ``Operations`` renders each ``ALTER TABLE`` of a migration for the dialect at hand
(SQLite's limited ``ALTER`` included), so there is no hand-written SQL dialect here.

JSON fields are TEXT holding JSON, not a JSON column type: the rows read the same on both backends,
and NaN/inf metrics (which PostgreSQL's JSON types reject) survive.

Versions:

====  =====================================================================================
1     runs, epochs, artifacts, searches (what convscope 0.1 wrote with raw ``sqlite3``)
2     ``runs.heartbeat`` (a live run's last sign of life: how another node tells it is dead) and
      ``runs.artifacts`` (where the run's folder lives: a path or an fsspec URL)
====  =====================================================================================

Adding a version is one function appended to :data:`MIGRATIONS` plus the new columns in the tables, and
``queries.SCHEMA_VERSION`` raised to match (``convscope runs`` reads a store at that version without SQLAlchemy).

Example:
    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> with engine.begin() as conn:
    ...     upgrade(conn, source="memory")
    0
    >>> sorted(sa.inspect(engine).get_table_names())
    ['artifacts', 'epochs', 'meta', 'runs', 'searches']
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from convscope.errors import StoreError
from convscope.store import queries

metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text),
)

def _run_columns() -> list[sa.Column]:
    """The ``runs`` columns of version 1 (fresh objects: a Column belongs to one Table)."""
    return [
        # AUTOINCREMENT on SQLite (table option below): an id is never reused, run folders are named by id
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # running | completed | early_stopped | pruned | diverged | failed | interrupted
        sa.Column("reason", sa.Text),                  # why it stopped, in words
        sa.Column("config", sa.Text, nullable=False),  # the resolved config as YAML
        sa.Column("seed", sa.Integer),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("finished", sa.Float),
        sa.Column("pid", sa.Integer),                  # the training process, on `host`
        sa.Column("host", sa.Text),
        sa.Column("env", sa.Text),                     # JSON: versions, device, threads
        sa.Column("epochs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("best_epoch", sa.Integer),
        sa.Column("monitor", sa.Text),
        sa.Column("best_value", sa.Float),
        sa.Column("test", sa.Text),                    # JSON: test metrics at the best epoch
        sa.Column("notes", sa.Text),                   # JSON list: data warnings ("synthetic", leakage)
        sa.Column("info", sa.Text),                    # JSON: split assignment, thresholds, diagnosis ...
        sa.Column("search", sa.Text),                  # search name if this run is a trial
        sa.Column("trial", sa.Integer),
        sa.Column("params", sa.Text),                  # JSON: the trial's sampled params
        sa.Index("runs_search", "search"),
    ]


runs = sa.Table(
    "runs", metadata, *_run_columns(),
    sa.Column("heartbeat", sa.Float),  # v2: time of the last beat while running
    sa.Column("artifacts", sa.Text),   # v2: the run's folder (a path or an fsspec URL)
    sqlite_autoincrement=True,
)

epochs = sa.Table(
    "epochs", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: train_loss, val_loss, val_accuracy, lr ...
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("health", sa.Text),                   # JSON: compact per-layer gradient/activation summary
)

artifacts = sa.Table(
    "artifacts", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)

searches = sa.Table(
    "searches", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("storage", sa.Text),                  # where the Optuna state is: a journal path, or "rdb"
    sa.Column("info", sa.Text),
)

def _create_v1(conn: sa.Connection) -> None:
    v1 = sa.MetaData()
    sa.Table("runs", v1, *_run_columns(), sqlite_autoincrement=True)
    for table in (epochs, artifacts, searches):
        table.to_metadata(v1)
    v1.create_all(conn)


def _add_heartbeat_and_artifacts(conn: sa.Connection) -> None:
    # imported here: only an old store needs Alembic, and `convscope runs` should not pay 70 ms for it
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    ops = Operations(MigrationContext.configure(conn))
    ops.add_column("runs", sa.Column("heartbeat", sa.Float))
    ops.add_column("runs", sa.Column("artifacts", sa.Text))


# MIGRATIONS[i] upgrades the schema from version i to i + 1 (index 0 creates it from nothing)
MIGRATIONS: list[Callable[[sa.Connection], None]] = [_create_v1, _add_heartbeat_and_artifacts]
SCHEMA_VERSION = len(MIGRATIONS)


def version(conn: sa.Connection) -> int:
    """The schema version recorded in ``meta`` (0 for an empty database)."""
    meta.create(conn, checkfirst=True)
    row = conn.execute(sa.text(queries.SCHEMA_VERSION_SQL)).first()
    return int(row.value) if row else 0


def upgrade(conn: sa.Connection, *, source: str) -> int:
    """Bring the database behind ``conn`` to :data:`SCHEMA_VERSION`, inside the caller's transaction.

    Returns the version it found. A database newer than this convscope is refused before anything is
    written, so an old convscope never half-upgrades (or corrupts) a newer store.
    """
    found = version(conn)
    if found > SCHEMA_VERSION:
        raise StoreError(f"{source}: schema version {found} is newer than this convscope ({SCHEMA_VERSION})",
                         hint="upgrade convscope (pip install -U convscope), or point --store/--home elsewhere")
    for step in MIGRATIONS[found:]:
        step(conn)
    if found == 0:
        conn.execute(meta.insert().values(key="schema", value=str(SCHEMA_VERSION)))
    elif found < SCHEMA_VERSION:
        conn.execute(meta.update().where(meta.c.key == "schema").values(value=str(SCHEMA_VERSION)))
    return found


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "artifacts", "epochs", "metadata", "meta", "runs", "searches",
           "upgrade", "version"]
