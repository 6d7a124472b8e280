"""Put a trained model to work: the one inference path, prediction on new files, export.

- :mod:`~convscope.inference.engine`: :func:`infer`, the one function every evaluation calls.
- :mod:`~convscope.inference.recipe`: what a run's data pipeline was, read back from the run.
- :mod:`~convscope.inference.readers`: input files of each kind (WFDB, CSV/npz, images, UCR), registered.
- :mod:`~convscope.inference.predict`: files in, one row per record (or per window/beat) out.
- :mod:`~convscope.inference.writers`: those rows as a terminal table, CSV or JSON, written atomically.
- :mod:`~convscope.inference.export`: ONNX / TorchScript files with a JSON sidecar, verified.
"""

from convscope.inference.engine import InferenceSettings, infer, infer_run, probabilities

__all__ = ["InferenceSettings", "infer", "infer_run", "probabilities"]
