"""Modules PyTorch lacks — Keras' 'same' padding that may be asymmetric, causal padding — and the factories
that pick them: :func:`make_conv` and :func:`make_pool` build the conv or pool a Keras user means.

Example:
    >>> import torch
    >>> conv = make_conv(1, 4, (4,), stride=(2,), padding="same")
    >>> type(conv).__name__, conv(torch.zeros(1, 1, 9)).shape  # (N, C', ceil(L / stride))
    ('SameConv1d', torch.Size([1, 4, 5]))
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import BuildError
from convscope.models.checks import Shape
from convscope.models.initializers import initialize
from convscope.models.module_traits import nd


def same_pads(sizes: Shape, kernel: Shape, stride: Shape, dilation: Shape) -> list[int]:
    """``F.pad`` amounts (last dim first) for Keras/TF 'same': out = ceil(in / stride), odd pixel at the end."""
    pads: list[int] = []
    for n, k, s, d in reversed(list(zip(sizes, kernel, stride, dilation, strict=True))):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


class _SamePadding:
    """Pads like Keras' ``padding='same'`` before the conv/pool; PyTorch's own ``padding='same'`` refuses stride > 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = tuple(x.shape[2:])
        rank = len(sizes)
        pads = same_pads(sizes, nd(self.kernel_size, rank), nd(self.stride, rank),
                         nd(getattr(self, "dilation", 1), rank))
        return super().forward(F.pad(x, pads, value=self.pad_value))


class SameConv1d(_SamePadding, nn.Conv1d):
    """Conv1d with Keras 'same' padding for any stride or kernel: ``(N, C, L)`` → ``(N, C', ceil(L / stride))``."""

    pad_value = 0.0


class SameConv2d(_SamePadding, nn.Conv2d):
    """Conv2d with Keras 'same' padding for any stride or kernel."""

    pad_value = 0.0


class SameMaxPool1d(_SamePadding, nn.MaxPool1d):
    """MaxPool1d with Keras 'same' padding."""

    pad_value = -math.inf  # a padded cell never wins the max, as in Keras


class SameMaxPool2d(_SamePadding, nn.MaxPool2d):
    """MaxPool2d with Keras 'same' padding."""

    pad_value = -math.inf


class _SameAvgPool:
    """Keras averages only the real cells of a window that hangs over the edge: divide by their count."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = tuple(x.shape[2:])
        rank = len(sizes)
        pads = same_pads(sizes, nd(self.kernel_size, rank), nd(self.stride, rank), (1,) * rank)
        total = super().forward(F.pad(x, pads))
        real = super().forward(F.pad(torch.ones_like(x[:1, :1]), pads))  # fraction of real cells per window
        return total / real


class SameAvgPool1d(_SameAvgPool, nn.AvgPool1d):
    """AvgPool1d with Keras 'same' padding (padded cells do not count)."""


class SameAvgPool2d(_SameAvgPool, nn.AvgPool2d):
    """AvgPool2d with Keras 'same' padding (padded cells do not count)."""


class CausalConv1d(nn.Conv1d):
    """A 1D conv whose output at time t sees only inputs <= t (WaveNet; Keras ``padding='causal'``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L)
        left = (self.kernel_size[0] - 1) * self.dilation[0]
        return super().forward(F.pad(x, [left, 0]))  # (N, C', L) for stride 1


CONV = {1: nn.Conv1d, 2: nn.Conv2d}
SAME_CONV = {1: SameConv1d, 2: SameConv2d}
BATCHNORM = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
POOL = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}
SAME_POOL = {("max", 1): SameMaxPool1d, ("max", 2): SameMaxPool2d, ("avg", 1): SameAvgPool1d,
             ("avg", 2): SameAvgPool2d}


def make_conv(in_channels: int, out_channels: int, kernel: tuple[int, ...], *, stride: tuple[int, ...] | None = None,
              padding: str | tuple[int, ...] = "same", dilation: tuple[int, ...] | None = None, groups: int = 1,
              bias: bool = True, initializer: str = "glorot_uniform") -> nn.Module:
    """A Conv1d/Conv2d (rank = ``len(kernel)``) with Keras padding semantics and a Keras initializer."""
    rank = len(kernel)
    stride = stride or (1,) * rank
    dilation = dilation or (1,) * rank
    kwargs = dict(stride=stride, dilation=dilation, groups=groups, bias=bias)
    if padding == "causal":
        conv = CausalConv1d(in_channels, out_channels, kernel, **kwargs)
    elif padding == "same":
        totals = [(k - 1) * d for k, d in zip(kernel, dilation, strict=True)]
        if all(s == 1 for s in stride) and all(t % 2 == 0 for t in totals):
            conv = CONV[rank](in_channels, out_channels, kernel, padding=tuple(t // 2 for t in totals), **kwargs)
        else:  # even kernel or stride > 1: the extra pad goes at the end, as in Keras/TF
            conv = SAME_CONV[rank](in_channels, out_channels, kernel, **kwargs)
    else:
        conv = CONV[rank](in_channels, out_channels, kernel, padding=0 if padding == "valid" else padding, **kwargs)
    return initialize(conv, initializer)


def make_pool(kind: str, size: tuple[int, ...], *, stride: tuple[int, ...], padding: str | tuple[int, ...]) -> nn.Module:
    """A max/avg pool (rank = ``len(size)``) with Keras padding semantics."""
    rank = len(size)
    if padding == "same":
        if all(s == 1 for s in stride) and all(k % 2 == 1 for k in size):
            pad = tuple((k - 1) // 2 for k in size)
            extra = {"count_include_pad": False} if kind == "avg" else {}  # Keras averages real cells only
            return POOL[kind, rank](size, stride, padding=pad, **extra)
        return SAME_POOL[kind, rank](size, stride)
    pad = (0,) * rank if padding == "valid" else padding
    if any(2 * p > k for p, k in zip(pad, size, strict=True)):
        raise BuildError(f"padding {list(pad)} is more than half the pool size {list(size)}; "
                         f"use padding: same, or a smaller padding")
    return POOL[kind, rank](size, stride, padding=pad)
