"""Training: the loop, its callbacks, and metrics.

The names below are loaded on first use (PEP 562), so importing a light submodule such as
``convscope.train.metrics`` or ``convscope.train.optimizers`` (the config does, to check names) does
not import the trainer, which imports the config: no import cycle.
"""

from __future__ import annotations

from convscope.lazy_exports import lazy_exports

_PUBLIC = {
    "Callback": "convscope.train.callbacks",
    "Checkpoint": "convscope.train.callbacks",
    "EarlyStopping": "convscope.train.callbacks",
    "Trainer": "convscope.train.trainer",
    "pick_device": "convscope.train.trainer",
    "probabilities": "convscope.train.trainer",
}

__all__ = list(_PUBLIC)


__getattr__ = lazy_exports(globals(), _PUBLIC)
