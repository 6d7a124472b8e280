"""Where the run store is: the home folder and its database, read from the environment without SQLAlchemy.

``CONVSCOPE_HOME`` (``--home``) is the local folder, ``./convscope-runs`` by default; ``CONVSCOPE_STORE``
(``--store``) names the database as a URL, and without it the database is the SQLite file ``<home>/runs.db``.
``engine.py`` turns this into a SQLAlchemy URL; ``fast_read.py`` opens the default file with ``sqlite3``.

Example:
    >>> default_database("/tmp/runs")
    PosixPath('/tmp/runs/runs.db')
    >>> store_url(None, environ={"CONVSCOPE_STORE": "postgresql://me@db.lan/runs"})
    'postgresql://me@db.lan/runs'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

HOME_ENV = "CONVSCOPE_HOME"
STORE_ENV = "CONVSCOPE_STORE"


def default_home() -> Path:
    """The home folder: ``$CONVSCOPE_HOME``, else ``./convscope-runs``."""
    return Path(os.environ.get(HOME_ENV, "convscope-runs"))


def default_database(home: str | Path) -> Path:
    """The embedded SQLite store of ``home``."""
    return Path(home) / "runs.db"


def store_url(url: str | None, *, environ: Mapping[str, str] = os.environ) -> str:
    """The database URL asked for: ``url``, else ``$CONVSCOPE_STORE``; empty for the default SQLite file."""
    return url or environ.get(STORE_ENV) or ""


__all__ = ["HOME_ENV", "STORE_ENV", "default_database", "default_home", "store_url"]
