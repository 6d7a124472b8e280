"""``convscope dashboard [SEARCH]``: optuna-dashboard on a search's own Optuna storage, live.

The dashboard reads the search's Optuna storage while its workers write it, so trials appear as they
start and finish: the journal ``<home>/searches/<name>.journal`` beside an embedded store, or Optuna's
RDB tables inside the PostgreSQL database when ``CONVSCOPE_STORE=postgresql://...`` (a cluster search). Each trial carries its convscope run as user attributes
(``run_id``, ``status``, ``show: convscope show ID``; set by the search's workers), so a person goes
from a trial in the browser to ``convscope show ID`` and ``convscope report ID``.

It binds 127.0.0.1 only: the dashboard has no authentication and can edit a study (notes, trial
states), so it is not offered on other interfaces; reach it from another machine through an SSH
tunnel (``ssh -L 8080:127.0.0.1:8080 HOST``).

Example (not run by the test suite: it serves until Ctrl-C):
    >>> from convscope.dashboard import serve
    >>> serve("digits-grid", port=8080)   # doctest: +SKIP
    optuna-dashboard for search digits-grid: http://127.0.0.1:8080/dashboard/ (Ctrl-C stops it)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from optuna.storages import BaseStorage

from convscope.errors import ConfigError, StoreError
from convscope.store import Store
from convscope.tuning.study import IN_STORE, open_storage, storage_path

HOST = "127.0.0.1"


def search_storage(search: str | None = None, *, home: str | Path | None = None) -> tuple[str, BaseStorage]:
    """The search's name (the newest search when ``search`` is None) and its Optuna storage: the journal
    file beside an embedded store, or the RDB storage inside a PostgreSQL store (``CONVSCOPE_STORE``)."""
    store = Store(home)
    try:
        if search is None:
            searches = store.searches()
            if not searches:
                raise StoreError(f"no search in {store.location}", hint="start one with `convscope search CONFIG`")
            row = searches[0]
        else:
            row = store.search(search)  # a StoreError naming the known searches when there is no such search
        name = str(row["name"])
        # the location the search recorded; an old row without one had its journal at the default place
        location = row.get("storage") or str(storage_path(store.home.resolve(), name))
        if location != IN_STORE and not Path(location).exists():
            raise StoreError(f"search '{name}' has no Optuna journal at {location}",
                             hint="the search was recorded but never started its study; run it again")
        # the RDB storage keeps only the database URL: closing the store below leaves it usable
        return name, open_storage(location, store=store)
    finally:
        store.close()


def serve(search: str | None = None, *, home: str | Path | None = None, port: int = 8080,
          announce: Callable[[str], None] = print) -> None:
    """Serve optuna-dashboard for ``search`` on http://127.0.0.1:``port``/dashboard/ until interrupted.

    Args:
        search: the search's name (default: the newest search in the store).
        home: the run store (default ``$CONVSCOPE_STORE``, else ``$CONVSCOPE_HOME`` or ``./convscope-runs``).
        port: the local port.
        announce: receives the one line saying where the dashboard is.
    """
    if importlib.util.find_spec("optuna_dashboard") is None:
        raise ConfigError("convscope dashboard needs the 'optuna-dashboard' package: "
                          "pip install \"convscope[dashboard]\"")
    import optuna_dashboard

    name, storage = search_storage(search, home=home)
    announce(f"optuna-dashboard for search {name}: http://{HOST}:{port}/dashboard/ (Ctrl-C stops it)")
    try:
        optuna_dashboard.run_server(storage, host=HOST, port=port)
    except OSError as exc:  # the port is taken
        raise ConfigError(f"--port {port}: cannot listen on {HOST}:{port} ({exc.strerror or exc})",
                          hint="pick another port, e.g. --port 8081") from None


__all__ = ["HOST", "search_storage", "serve"]
