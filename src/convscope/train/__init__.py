"""Training: the loop, its callbacks, and metrics.

The names below are loaded on first use (PEP 562), so importing a light submodule such as
``convscope.train.metrics`` or ``convscope.train.optimizers`` (the config does, to check names) does
not import the trainer, which imports the config: no import cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Callback": "convscope.train.callbacks",
    "Checkpoint": "convscope.train.callbacks",
    "EarlyStopping": "convscope.train.callbacks",
    "Trainer": "convscope.train.trainer",
    "pick_device": "convscope.train.trainer",
    "probabilities": "convscope.train.trainer",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'convscope.train' has no attribute {name!r}")
