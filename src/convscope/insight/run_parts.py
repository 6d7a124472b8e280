"""What every picture reads from a run: its data (reloaded, never retrained), its layers, activations, predictions.

The pictures work on any run the store holds: the model comes from the run's best weights
(``run.model``) and the data from the run's own config (:func:`convscope.api.prepare`), so the
split is the one the run was trained and validated on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from convscope.errors import ConvscopeError
from convscope.inference.engine import infer_run
from convscope.models.module_traits import is_conv
from convscope.train import metrics as M
from convscope.train.health import activation_kind, layer_root

if TYPE_CHECKING:
    from convscope.api import Run
    from convscope.data.base import Dataset

_DATA: dict[tuple[str, int], Dataset] = {}


def run_data(run: Run) -> Dataset:
    """The run's train/val/test tensors, loaded once per process (the same split the run used)."""
    key = (str(run.home), run.id)
    if key not in _DATA:
        from convscope.api import prepare

        _DATA[key] = prepare(run.config)[0]
    return _DATA[key]


def scalar_names(run: Run) -> list[str]:
    """The names of the K scalar inputs (RR and beat features) a run's source packs as the last K values of
    lead 0 of every sample (``[]`` for none); a run stored before the names were kept has ``scalar 1..K``."""
    meta = run.info.meta
    count = int(meta.get("scalar_inputs") or 0)
    names = [str(n) for n in meta.get("scalar_names") or []]
    return names if len(names) == count else [f"scalar {i}" for i in range(1, count + 1)]


def split_scalars(x: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples ``(N, C, L + K)`` as their signal ``(N, C, L)`` and their ``count`` = K packed scalars ``(N, K)``
    (the layout the ``with_scalars`` block reads); ``count`` 0: the samples themselves and ``(N, 0)``.

    Example:
        >>> signal, scalars = split_scalars(torch.arange(10.0).reshape(1, 1, 10), 3)
        >>> signal.shape, scalars.tolist()
        (torch.Size([1, 1, 7]), [[7.0, 8.0, 9.0]])
    """
    if not count:
        return x, x.new_zeros(len(x), 0)
    return x[..., :-count], x[:, 0, -count:]


def is_signal(shape: tuple[int, ...]) -> bool:
    """True for one sample shaped (C, L), False for (C, H, W)."""
    return len(shape) == 2


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The conv layers in network order, with the names a user wrote (``conv1``, ``inception1.tower2.0``)."""
    return [(name, m) for name, m in layer_root(model).named_modules() if is_conv(m)]


def feature_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """For each conv layer, the module whose output is its feature map: the activation that follows it
    (``conv1`` → ``relu1``) when there is one before the next conv, else the conv itself."""
    out: list[tuple[str, nn.Module]] = []
    pending: tuple[str, nn.Module] | None = None
    for name, module in layer_root(model).named_modules():
        if is_conv(module) or isinstance(module, nn.Linear):
            if pending is not None:
                out.append(pending)
            pending = (name, module) if is_conv(module) else None
        elif pending is not None and activation_kind(module) is not None:
            out.append((pending[0], module))
            pending = None
    if pending is not None:
        out.append(pending)
    return out


@contextmanager
def capture(modules: list[tuple[str, nn.Module]], *, inputs: bool = False) -> Iterator[dict[str, torch.Tensor]]:
    """Record each module's output (or first input) by name while the block runs."""
    seen: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in modules:
        def hook(_m: nn.Module, args: tuple, out: torch.Tensor, name: str = name) -> None:
            seen[name] = (args[0] if inputs else out).detach()
        hooks.append(module.register_forward_hook(hook))
    try:
        yield seen
    finally:
        for h in hooks:
            h.remove()


def predict(run: Run, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, K) and class probabilities (N, K>=2) of the run's best weights, evaluated exactly as its
    trainer evaluated them (:func:`convscope.inference.infer_run`: same twin, precision and batch size), so a
    picture's numbers are the stored metrics' numbers."""
    return infer_run(run, x)


def class_score(logits: torch.Tensor, target: int) -> torch.Tensor:
    """The score whose increase raises class ``target``'s probability (N,): its logit minus the mean of the
    others (softmax ignores a shift shared by all logits, so a lone logit can rise while p falls), or
    ±the one logit of a binary sigmoid model."""
    if logits.shape[1] == 1:
        return logits[:, 0] if target == 1 else -logits[:, 0]
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)  # (N, K-1)
    return logits[:, target] - others.mean(dim=1)


def pick_sample(run: Run, index: int = 0, *, path: str | Path | None = None) -> tuple[torch.Tensor, int | None]:
    """One validation sample ``(1, C, ...)`` and its label, or the sample in ``path`` (.npy, or an image file
    for image models) with no label."""
    data = run_data(run)
    if path is not None:
        return load_input(path, data.input_shape), None
    if not -len(data.y_val) <= index < len(data.y_val):
        raise ConvscopeError(f"--index {index}: the validation split has {len(data.y_val)} samples",
                             hint=f"use 0..{len(data.y_val) - 1}")
    return data.x_val[index:index + 1], int(data.y_val[index])


def explained_samples(run: Run, index: int, count: int,
                      input_path: str | Path | None) -> list[tuple[int | None, torch.Tensor, int | None]]:
    """(validation index or None, sample (1, C, ...), label or None) for each sample a picture explains:
    validation samples ``index .. index + count - 1``, or the one in ``input_path``."""
    if input_path is not None:
        x, _ = pick_sample(run, path=input_path)
        return [(None, x, None)]
    n = len(run_data(run).y_val)
    return [(i, *pick_sample(run, i)) for i in range(index, min(index + count, n))]


def explained_class(run: Run, x: torch.Tensor, y: int | None) -> int:
    """The class to explain: the label when known, else the class the run predicts (its own inference path
    and decision threshold, as ``convscope predict`` would say)."""
    if y is not None:
        return y
    _, prob = predict(run, x)
    return int(M.predictions(prob, float(run.info.threshold))[0])


def load_input(path: str | Path, shape: tuple[int, ...]) -> torch.Tensor:
    """A sample from a file: a .npy array of the model's input shape, or an image (resized, scaled to [0, 1])."""
    path = Path(path)
    if not path.is_file():
        raise ConvscopeError(f"{path}: no such file", hint="give a .npy array or an image file")
    if path.suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False).astype(np.float32)
        except (ValueError, OSError, EOFError) as exc:  # object arrays need pickle, which could run code
            raise ConvscopeError(f"{path}: not a plain numeric .npy array ({str(exc).splitlines()[0]})",
                                 hint=f"save a float array of shape {list(shape)} with numpy.save") from None
    else:
        if is_signal(shape):
            raise ConvscopeError(f"{path}: a signal model needs a .npy array of shape {list(shape)}")
        from PIL import Image

        mode = "L" if shape[0] == 1 else "RGB"
        img = Image.open(path).convert(mode).resize((shape[2], shape[1]))
        x = np.asarray(img, dtype=np.float32) / 255.0
        x = x[None] if shape[0] == 1 else x.transpose(2, 0, 1)  # (C, H, W)
    if tuple(x.shape) != tuple(shape):
        raise ConvscopeError(f"{path}: shape {list(x.shape)} does not match the model's input {list(shape)}")
    return torch.from_numpy(x)[None]


def class_name(run: Run, k: int | None) -> str:
    if k is None:
        return "?"
    names = run_data(run).class_names
    return names[k] if 0 <= k < len(names) else str(k)


def pick_layers(layers: list[tuple[str, nn.Module]], name: str | None, *, what: str = "conv"
                ) -> list[tuple[str, nn.Module]]:
    """``layers`` itself, or only the one named ``name`` (a clear error naming the choices)."""
    if name is None:
        return layers
    chosen = [(n, m) for n, m in layers if n == name]
    if not chosen:
        names = ", ".join(n for n, _ in layers) or "none"
        raise ConvscopeError(f"--layer {name}: not a {what} layer of this model", hint=f"{what} layers: {names}")
    return chosen
