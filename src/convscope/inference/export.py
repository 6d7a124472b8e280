"""A run's model as a file another program can use without convscope: ONNX or TorchScript, plus a JSON
sidecar saying how to feed it and read it (input shape, sampling rate, leads, window/beat settings, class
names, threshold, logits or probabilities).

Every export is verified before it is kept: the written file is loaded back by its own runtime
(onnxruntime, ``torch.jit.load``), run on real validation samples of the run at two batch sizes (so the
batch dimension is proven dynamic), and compared with the PyTorch model; the largest difference is
reported and stored in the sidecar. Both files are written to temp names and renamed into place only
after the check passed.

A format is one function pair registered in :data:`EXPORTERS` (``write(model, example, path)`` and
``trait load=(path) -> (x -> logits)``).

Example:
    >>> import tempfile
    >>> import convscope
    >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}})
    >>> result = export_run(run, fmt="onnx", out=Path(tempfile.mkdtemp()) / "digits.onnx")
    >>> result.max_abs_diff < 1e-4, result.sidecar.name
    (True, 'digits.onnx.json')
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

import convscope
from convscope.errors import ConvscopeError
from convscope.inference.engine import InferenceSettings, infer_run, probabilities
from convscope.inference.predict import check_weights
from convscope.inference.recipe import Recipe
from convscope.inference.writers import write_atomic
from convscope.registry import Registry

if TYPE_CHECKING:
    from convscope.api import Run

Runner = Callable[[np.ndarray], np.ndarray]  # (N, *input_shape) float32 -> logits (N, K)
Write = Callable[[torch.nn.Module, torch.Tensor, Path], None]
EXPORTERS: Registry[Write] = Registry("export format", field="--format")
TOLERANCE = 1e-3  # largest |logit difference| accepted; float32 re-orderings give ~1e-6


@dataclass
class ExportResult:
    path: Path  # the model file
    sidecar: Path  # its JSON description
    max_abs_diff: float  # largest |logit difference| from the PyTorch model on the verification samples
    samples: int  # how many real validation samples were compared
    max_prob_diff_vs_evaluation: float  # largest |probability difference| from the run's evaluation path
    evaluation_precision: str  # that path's precision (bf16 runs are evaluated in bf16, the export is fp32)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch.onnx prints progress lines and logs that torchvision's ops are absent, torch.jit warns of its
    deprecation: keep the CLI's output to the result."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def _write_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    try:
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError:
        raise ConvscopeError("ONNX export needs the onnx, onnxscript and onnxruntime packages",
                             hint='pip install "convscope[export]"') from None
    batch = torch.export.Dim("batch", min=1)
    with _quiet():
        torch.onnx.export(model, (example,), str(path), input_names=["x"], output_names=["logits"],
                          dynamic_shapes={"x": {0: batch}}, dynamo=True, verbose=False)


def _load_onnx(path: Path) -> Runner:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConvscopeError("verifying an ONNX export needs onnxruntime", hint='pip install "convscope[export]"') from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]


def _write_torchscript(model: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    # tracing records the ops of one forward; the verification below runs the file at two batch sizes,
    # which catches a batch size baked into the trace
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
        torch.jit.save(traced, str(path))


def _load_torchscript(path: Path) -> Runner:
    with _quiet():
        loaded = torch.jit.load(str(path)).eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return loaded(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    return run


EXPORTERS.add("onnx", _write_onnx, suffix=".onnx", load=_load_onnx, runtime="onnxruntime")
EXPORTERS.add("torchscript", _write_torchscript, suffix=".pt", load=_load_torchscript, runtime="torch.jit.load")


def verification_samples(run: Run, n: int = 64) -> np.ndarray:
    """Up to ``n`` real validation samples of the run (its own split, reloaded as the pictures do)."""
    from convscope.insight.run_parts import run_data

    with warnings.catch_warnings():  # the data's own warnings (leakage ...) were shown when the run trained
        warnings.simplefilter("ignore")
        return run_data(run).x_val[:n].numpy()


def export_run(run: Run, *, fmt: str = "onnx", out: str | Path | None = None, samples: int = 64) -> ExportResult:
    """Write ``run``'s model as ``fmt`` with a JSON sidecar, verify it, and return where and how close.

    Args:
        run: a stored run with weights.
        fmt: ``onnx`` or ``torchscript``.
        out: the model file (default ``<run dir>/export/model.onnx`` or ``.pt``); the sidecar is
            ``<out>.json``.
        samples: validation samples to verify on.

    Raises:
        ConvscopeError: no weights, a missing runtime, or an export that disagrees with PyTorch.
    """
    check_weights(run)
    traits = EXPORTERS.traits(fmt)
    path = Path(out) if out is not None else run.dir / "export" / f"model{traits['suffix']}"
    path.parent.mkdir(parents=True, exist_ok=True)
    model = run.model.float().eval()
    x = verification_samples(run, samples)  # (n, *input_shape)
    example = torch.from_numpy(x[:2].copy())
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        EXPORTERS.get(fmt)(model, example, tmp)
        runner = traits["load"](tmp)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()  # (n, K) the float32 PyTorch model
        got = np.concatenate([runner(x[:1]), runner(x[1:])]) if len(x) > 1 else runner(x)  # two batch sizes
        diff = float(np.abs(got - expected).max())
        if not diff <= TOLERANCE:
            raise ConvscopeError(f"{path}: the {fmt} model differs from PyTorch by {diff:.3g} on run {run.id}'s "
                                 f"validation samples (tolerance {TOLERANCE:g}); nothing was written",
                                 hint="report it with the run's config; try the other --format")
        evaluated = infer_run(run, x)[1]  # (n, K) as the run's test metrics were computed
        prob_gap = float(np.abs(probabilities(torch.from_numpy(got)).numpy() - evaluated).max())
        sidecar_path = path.with_name(path.name + ".json")
        sidecar = describe(run, fmt=fmt, path=path, diff=diff, samples=len(x), prob_gap=prob_gap)
        write_atomic(sidecar_path, lambda stream: json.dump(sidecar, stream, indent=1))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(path=path, sidecar=sidecar_path, max_abs_diff=diff, samples=len(x),
                        max_prob_diff_vs_evaluation=prob_gap,
                        evaluation_precision=InferenceSettings.for_run(run).precision)


def describe(run: Run, *, fmt: str, path: Path, diff: float, samples: int, prob_gap: float) -> dict[str, Any]:
    """The sidecar: everything a program without convscope needs to feed the model and read its output."""
    recipe = Recipe.for_run(run)
    k = len(recipe.class_names)
    binary_logit = tuple(run.model.output_shape) == (1,)
    layout = "NCL" if recipe.kind == "signal" else "NCHW"
    return {
        "format": fmt,
        "file": path.name,
        "runtime": EXPORTERS.traits(fmt)["runtime"],
        "convscope": convscope.__version__,
        "run": {"id": run.id, "name": run.name, "test_metrics": run.test_metrics},
        "input": {"name": "x", "dtype": "float32", "layout": layout, "shape": ["batch", *recipe.input_shape]},
        "output": {"name": "logits", "kind": "logits", "shape": ["batch", 1 if binary_logit else k],
                   "to_probabilities": "sigmoid: P(class 1) = 1 / (1 + exp(-logit))" if binary_logit
                   else "softmax over axis 1"},
        "class_names": recipe.class_names,
        "threshold": recipe.threshold if k == 2 else None,
        "decision": (f"class {recipe.class_names[1]!r} when P({recipe.class_names[1]}) >= {recipe.threshold:g}"
                     if k == 2 else "argmax of the probabilities"),
        "preprocessing": recipe.describe(),
        "record_aggregation": "mean of a record's sample probabilities" if recipe.aggregate == "mean" else "none",
        "trained_precision": InferenceSettings.for_run(run).precision,
        "verification": {"samples": samples, "max_abs_logit_diff_vs_pytorch_fp32": diff,
                         "max_prob_diff_vs_run_evaluation": prob_gap},
    }
