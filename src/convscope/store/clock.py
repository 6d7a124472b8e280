"""How long a run has been training: wall time since it started, without the time it lay dead.

A resumed run records ``active_before`` (the seconds of the epochs it kept) and ``resumed_at`` in its
info (``Store.restart_clock``); a search's trial times (``tuning/results.py``) read them through
:func:`active_seconds`.

Example:
    >>> active_seconds({"created": 0.0, "finished": 100.0, "info": {}})
    100.0
    >>> active_seconds({"created": 0.0, "finished": 5000.0, "info": {"active_before": 40.0, "resumed_at": 4950.0}})
    90.0
"""

from __future__ import annotations

import time
from typing import Any


def active_seconds(row: dict[str, Any], now: float | None = None) -> float:
    """How long a run (a decoded row) has been training, without the time it lay dead before a resume."""
    end = row["finished"] or (now if now is not None else time.time())
    info = row.get("info") or {}
    if "resumed_at" in info:
        return float(info["active_before"]) + max(0.0, end - float(info["resumed_at"]))
    return end - row["created"]


__all__ = ["active_seconds"]
