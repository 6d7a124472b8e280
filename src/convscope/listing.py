"""What ``convscope runs`` and ``convscope show`` say about a stored run, as plain data (and JSON).

One place turns a store row into the fields a listing shows, so the table and ``--json`` agree. It reads
the store only (no torch, and no SQLAlchemy for a SQLite store that needs no writing: ``stored_runs``).

Example:
    >>> row = {"id": 3, "name": "grid", "created": 0.0, "status": "completed", "epochs": 15, "monitor": "val_loss",
    ...        "best_value": 0.31, "best_epoch": 11, "test": {"test_accuracy": 0.92, "test_loss": 0.3},
    ...        "search": "grid-20260101-120000", "trial": 2, "params": {"blocks": 2},
    ...        "info": {"objective": {"metric": "val_accuracy", "direction": "maximize", "value": 0.86,
    ...                               "epoch": 11}}}
    >>> summary = run_summary(row)
    >>> summary["best"]
    {'metric': 'val_accuracy', 'value': 0.86, 'epoch': 11}
    >>> best_text(summary), headline_test(summary)
    ('val_accuracy 86.0% (epoch 11)', 'test_accuracy 92.0%')
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from convscope import formatting as fmt


def stored_runs(home: str | Path | None = None, *, limit: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    """``(where the store is, its newest runs)``: read with the stdlib's ``sqlite3`` when the store needs nothing
    but reading (``store/fast_read.py``), else through the :class:`~convscope.store.db.Store`."""
    from convscope.store.fast_read import read_runs

    quick = read_runs(home, limit=limit)
    if quick is not None:
        return quick
    from convscope.store.db import Store

    store = Store(home)
    return store.location, store.runs(limit=limit)


def run_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A run's listing fields; ``best`` is the search objective for a trial, else the monitored metric."""
    objective = (row.get("info") or {}).get("objective") or {}
    if objective.get("value") is not None:
        best = {"metric": objective["metric"], "value": objective["value"],
                "epoch": objective.get("epoch", row.get("best_epoch"))}
    else:
        best = {"metric": row.get("monitor") or "val_loss", "value": row.get("best_value"),
                "epoch": row.get("best_epoch")}
    return {"id": row["id"], "name": row["name"],
            "created": datetime.fromtimestamp(row["created"], UTC).isoformat(timespec="seconds"),
            "status": row["status"], "reason": row.get("reason"), "epochs": row["epochs"], "best": best,
            "test": row.get("test") or {}, "search": row.get("search"), "trial": row.get("trial"),
            "params": row.get("params") or {}}


def best_text(summary: dict[str, Any]) -> str:
    """``val_accuracy 86.0% (epoch 11)``: the metric, its value as the one formatter writes it, and its epoch."""
    best = summary["best"]
    if best["value"] is None:
        return "-"
    epoch = f" (epoch {best['epoch']})" if best.get("epoch") is not None else ""
    return f"{best['metric']} {fmt.metric(best['metric'], best['value'])}{epoch}"


def headline_test(summary: dict[str, Any]) -> str:
    """The headline test number: accuracy if measured, else the loss."""
    test = summary["test"]
    key = next((k for k in ("test_accuracy", "test_loss") if k in test), None)
    return f"{key} {fmt.metric(key, test[key])}" if key else "-"


__all__ = ["best_text", "headline_test", "run_summary", "stored_runs"]
