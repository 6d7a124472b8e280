"""Rewrite 1 — signals as images: a 1D model run as 2D layers on ``(N, C, 1, L)`` in channels_last.

PyTorch's CPU kernels for 1D convolution, batchnorm and pooling work in ``(N, C, L)`` order, and for
batchnorm that order is several times slower than the NHWC kernels oneDNN has for 2D (docs/performance.md).
A signal is an image of height 1, so the twin reshapes the input once and calls each 1D layer's weights
through its 2D function. Which layers can do that is each module class's ``as_image`` trait
(:mod:`convscope.models.module_traits`), registered next to the layer: a model keeps this fast path
only when every one of its modules says yes.

Example:
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8, 2))
    >>> twin = signals_as_images(net)
    >>> x = torch.randn(2, 1, 10)
    >>> torch.allclose(twin(x), net(x), atol=1e-5)
    True
    >>> signals_as_images(nn.Sequential(nn.Conv1d(1, 4, 3), nn.Softmax(dim=1))) is None  # Softmax: no trait
    True
"""

from __future__ import annotations

import torch
from torch import nn

from convscope.models.module_traits import as_image, is_conv
from convscope.train.speedups.walker import each_child, rewrite


def signals_as_images(model: nn.Module) -> nn.Module | None:
    """A twin of a 1D model that runs its layers as 2D ones on ``(N, C, 1, L)`` in channels_last, or None.

    The twin shares every parameter, buffer and activation module with ``model`` (gradients, running
    statistics and hooks land where they always do) and computes the same function up to float rounding.
    None when the model has no 1D conv to speed up, or a module whose class does not declare ``as_image``
    (Keras-'same' or causal convs, blocks with their own ``forward``) or declines it.
    """
    images = {}
    for module in model.modules():
        twin = as_image(module)
        if twin is None:
            return None
        images[module] = twin
    if not any(is_conv(m) and images[m] is not m for m in images):  # no 1D conv: nothing to gain
        return None
    return _AsImages(rewrite(model, each_child(lambda m: images[m] if images[m] is not m else None)))


class _AsImages(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L)
        out = self.body(x.unsqueeze(2).contiguous(memory_format=torch.channels_last))  # (N, C, 1, L) in
        return out.squeeze(2) if out.dim() == 4 else out  # (N, K) after a global pool or flatten
