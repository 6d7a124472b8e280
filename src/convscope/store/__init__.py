"""The run store (SQLite or PostgreSQL, one folder per run under the artifact root) and safetensors checkpoints.

The checkpoint functions are loaded on first use (PEP 562): listing and showing runs reads SQLite only
and must not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from convscope.store.db import FINISHED, Store, default_home
from convscope.store.run_info import RunInfo
from convscope.store.status import RunStatus

_CHECKPOINT = ("load_state", "load_weights", "save_state", "save_weights")


def __getattr__(name: str) -> Any:
    if name in _CHECKPOINT:
        return getattr(importlib.import_module("convscope.store.checkpoint"), name)
    raise AttributeError(f"module 'convscope.store' has no attribute {name!r}")


__all__ = ["FINISHED", "RunInfo", "RunStatus", "Store", "default_home", *_CHECKPOINT]
