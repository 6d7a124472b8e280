"""Put a trained model to work: the one inference path, prediction on new files, export.

- :mod:`~convscope.inference.engine`: :func:`infer`, the one function every evaluation calls.
- :mod:`~convscope.inference.outputs`: logits to class probabilities.
- :mod:`~convscope.inference.recipe`: what a run's data pipeline was, read back from the run, replayed.
- :mod:`~convscope.inference.readers`: input files of each kind (WFDB, CSV/npz, images, UCR), registered.
- :mod:`~convscope.inference.predict`: files in, one row per record (or per window/beat) out.
- :mod:`~convscope.inference.writers`: those rows as a terminal table, CSV or JSON, written atomically.
- :mod:`~convscope.inference.export`: ONNX / TorchScript files with a JSON sidecar, verified.

Names are imported on first use (PEP 562): the trainer imports ``inference.outputs`` while
``convscope.train`` itself is still being imported, so this package must not import the engine eagerly.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"infer": "engine", "Predictor": "engine", "infer_run": "engine", "InferenceSettings": "engine", "probabilities": "outputs",
            "predict_inputs": "predict", "export_run": "export", "Recipe": "recipe"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'convscope.inference' has no attribute {name!r}")
    return getattr(importlib.import_module(f"convscope.inference.{_EXPORTS[name]}"), name)
