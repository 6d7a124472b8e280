"""The run store (SQLite or PostgreSQL, one folder per run under the artifact root) and safetensors checkpoints.

Every public name is loaded on first use (PEP 562, ``lazy_exports.py``): ``convscope runs`` imports
``store.status`` and ``store.fast_read`` without paying for SQLAlchemy (``db.py``) or torch (``checkpoint.py``).
"""

from __future__ import annotations

from convscope.lazy_exports import lazy_exports

_CHECKPOINT = ("load_state", "load_weights", "save_state", "save_weights")

__getattr__ = lazy_exports(globals(), {
    "FINISHED": "convscope.store.db", "Store": "convscope.store.db", "default_home": "convscope.store.location",
    "RunInfo": "convscope.store.run_info", "RunStatus": "convscope.store.status",
    **dict.fromkeys(_CHECKPOINT, "convscope.store.checkpoint"),
})

__all__ = ["FINISHED", "RunInfo", "RunStatus", "Store", "default_home", *_CHECKPOINT]
