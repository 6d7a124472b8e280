"""Training: the loop, its callbacks, and metrics.

The names load on first use (PEP 562), so ``convscope.train.metrics`` (numbers from stored confusion
matrices, e.g. for ``convscope show``) imports without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {"Callback": "convscope.train.callbacks", "Checkpoint": "convscope.train.callbacks",
           "EarlyStopping": "convscope.train.callbacks", "Trainer": "convscope.train.trainer",
           "pick_device": "convscope.train.trainer", "probabilities": "convscope.train.trainer"}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'convscope.train' has no attribute {name!r}")


__all__ = list(_PUBLIC)
