"""``batchnorm``: BatchNorm1d over features ``(F,)`` or signal channels ``(C, L)``; BatchNorm2d over image channels.

Example:
    >>> type(build_batchnorm({}, (8, 100))[0]).__name__
    'BatchNorm1d'
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convscope.models.checks import Shape
from convscope.models.module_traits import add_module
from convscope.models.modules import BATCHNORM
from convscope.models.vocabulary import register


@register("batchnorm")
def build_batchnorm(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    """PyTorch's defaults (momentum 0.1, eps 1e-5) rather than Keras' (momentum 0.99, i.e. 0.01 here, eps 1e-3)."""
    return BATCHNORM[len(shape) - 1](shape[0]), shape


class BatchNorm1dAs2d(nn.Module):
    """``nn.BatchNorm1d.forward`` on ``(N, C, 1, L)``: the same statistics, buffers and momentum rule
    (the signals-as-images rewrite; oneDNN's NHWC batchnorm is several times faster than the NCL one)."""

    def __init__(self, norm: nn.BatchNorm1d) -> None:
        super().__init__()
        self.__dict__["norm"] = norm  # shared, not owned

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, 1, L)
        bn = self.norm
        momentum = 0.0 if bn.momentum is None else bn.momentum
        if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
            bn.num_batches_tracked.add_(1)
            momentum = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        use_batch_stats = bn.training or bn.running_mean is None
        keep_running = not bn.training or bn.track_running_stats
        return F.batch_norm(x, bn.running_mean if keep_running else None, bn.running_var if keep_running else None,
                            bn.weight, bn.bias, use_batch_stats, momentum, bn.eps)


add_module(nn.BatchNorm1d, as_image=BatchNorm1dAs2d)
