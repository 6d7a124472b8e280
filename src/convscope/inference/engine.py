"""The one inference function: logits and class probabilities of a model on a batch of samples.

Evaluation in the trainer, every picture of ``look``/the report, ``ensemble`` and ``predict`` call
:func:`infer`, so a stored test metric, the report's confusion matrix and a prediction on a new record
come from the same network, in the same precision, batched the same way. It runs the inference twin of
the model the trainer evaluates with (:mod:`convscope.train.speedups`: batchnorm folded, conv+ReLU
fused, NHWC layouts, 1D nets as 1-pixel-high images) under the precision the run was trained in
(a bf16-trained run is evaluated in bf16, as it would be deployed).

Example:
    >>> import torch
    >>> from convscope.models import build_model
    >>> net = build_model([{"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "flatten",
    ...                    {"dense": {"units": 3, "activation": "softmax"}}], (1, 8, 8))
    >>> logits, prob = infer(net, torch.zeros(5, 1, 8, 8), batch_size=2)
    >>> tuple(logits.shape), prob.sum(dim=1).allclose(torch.ones(5))
    ((5, 3), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from torch import nn

from convscope.inference.outputs import probabilities
from convscope.train.speedups import (
    as_layout,
    autocast,
    fold_batchnorm,
    fuse_for_inference,
    has_2d_convs,
    resolve_precision,
    signals_as_images,
    use_channels_last,
    window_convs,
)

if TYPE_CHECKING:
    from convscope.api import Run


@dataclass(frozen=True)
class InferenceSettings:
    """How a run's model is evaluated: what :func:`infer` needs besides the model and the samples.

    ``for_run`` reads them from a stored run, so pictures and predictions repeat its evaluation exactly.
    """

    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # the training precision (bf16/fp16: autocast convs/matmuls)
    batch_size: int = 1024  # train.eval_batch_size: oneDNN may pick other kernels for other batch sizes
    channels_last: bool | Literal["auto"] = "auto"  # train.channels_last
    device: str = "cpu"

    @classmethod
    def for_run(cls, run: Run) -> InferenceSettings:
        """The settings the run's trainer evaluated with (precision as resolved on the training machine)."""
        train = run.config.train
        stored = run.info.env.get("precision")
        device = "cuda" if train.device.startswith("cuda") and torch.cuda.is_available() else "cpu"
        precision = stored or resolve_precision(train.precision, run.model, torch.device(device))
        return cls(precision=precision, batch_size=train.eval_batch_size, channels_last=train.channels_last,
                   device=device)


def inference_net(model: nn.Module, *, channels_last: bool) -> nn.Module:
    """The eval-mode twin of ``model`` that :func:`infer` runs (shares its weights; ``model`` is unchanged
    except that a 2D net's weights move to channels_last in place, as the trainer keeps them)."""
    model.eval()
    if channels_last and has_2d_convs(model):
        model.to(memory_format=torch.channels_last)  # the weights' layout only; the values stay
    net = fold_batchnorm(model)
    if channels_last and not has_2d_convs(model):
        net = signals_as_images(net) or net
    if channels_last:
        net = window_convs(net)
    return fuse_for_inference(net)


class Predictor:
    """``model``'s inference twin, built once, called on batch after batch: what :func:`infer` does per call.

    Building the twin (folding, fusing, NHWC conversion) costs about 2 ms on the bench's beat model, more
    than its batch-1 forward pass; a program predicting one sample at a time keeps a ``Predictor``.
    Rebuild it after the weights change (the folded layers are snapshots).

    Example:
        >>> import torch
        >>> from convscope.models import build_model
        >>> net = build_model([{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 2}], (1, 16))
        >>> predictor = Predictor(net)
        >>> [tuple(predictor(torch.zeros(n, 1, 16))[1].shape) for n in (1, 3)]
        [(1, 2), (3, 2)]
    """

    def __init__(self, model: nn.Module, *, precision: str = "fp32", batch_size: int = 1024,
                 channels_last: bool | Literal["auto"] = "auto", device: torch.device | str | None = None) -> None:
        first = next(model.parameters(), None)
        self.device = torch.device(device) if device is not None else (first.device if first is not None
                                                                        else torch.device("cpu"))
        # a GPU's fp16 run evaluated on a CPU: oneDNN's float16 convolutions need AVX512-FP16, which most CPUs lack
        # (train.precision refuses fp16 there for the same reason), so it runs in float32 (last bits may differ)
        self.precision = "fp32" if precision == "fp16" and self.device.type == "cpu" else precision
        self.batch_size = batch_size
        # the model is moved, laid out and folded under no_grad, not inference mode: parameters touched in
        # inference mode become inference tensors, and a later backward pass (Grad-CAM) would refuse them
        with torch.no_grad():
            model.to(self.device)
            auto = channels_last == "auto"
            self.channels_last = use_channels_last(model, channels_last, self.device) if auto else bool(channels_last)
            self.net = inference_net(model, channels_last=self.channels_last)

    def __call__(self, x: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(N, K)`` (float32) and class probabilities ``(N, K>=2)`` on the predictor's device."""
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        context = autocast(self.device, self.precision)
        logits = []
        with torch.inference_mode():
            for start in range(0, len(x), self.batch_size):
                xb = as_layout(x[start:start + self.batch_size].to(self.device), self.channels_last)  # (B, C, ...)
                if context is None:
                    logits.append(self.net(xb).float())  # (B, K)
                else:
                    with context:
                        logits.append(self.net(xb).float())
            out = torch.cat(logits) if logits else torch.empty(0, 1, device=self.device)
            return out, probabilities(out)


def infer(model: nn.Module, x: torch.Tensor | np.ndarray, *, precision: str = "fp32", batch_size: int = 1024,
          channels_last: bool | Literal["auto"] = "auto",
          device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(N, K)`` (float32) and class probabilities ``(N, K>=2)`` of ``model`` on ``x``, in eval mode.

    Args:
        model: a network returning one score per class (e.g. :class:`~convscope.models.build.ConvNet`).
        x: samples ``(N, C, L)`` or ``(N, C, H, W)``.
        precision: ``fp32``, ``bf16`` or ``fp16`` (autocast, as training ran).
        batch_size: samples per forward pass.
        channels_last: NHWC kernels (``auto``: where :func:`~convscope.train.speedups.use_channels_last`
            says they pay).
        device: where to run (default: where the model's weights are).

    Returns:
        ``(logits, probabilities)`` on ``device``.
    """
    return Predictor(model, precision=precision, batch_size=batch_size, channels_last=channels_last, device=device)(x)


def infer_run(run: Run, x: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits and probabilities ``(N, K)`` of a stored run's best weights, evaluated as its trainer did."""
    settings = InferenceSettings.for_run(run)
    model = run.model
    home = next(model.parameters()).device
    try:
        logits, prob = infer(model, x, precision=settings.precision, batch_size=settings.batch_size,
                             channels_last=settings.channels_last, device=settings.device)
    finally:  # a GPU run is evaluated on the GPU; run.model stays where the caller had it (the pictures use it)
        model.to(home)
    return logits.cpu().numpy(), prob.cpu().numpy()
