"""Rewrite 2 — single-channel 1D convs as matmuls over sliding windows (after :mod:`.as_images`).

The first conv of a one-lead signal net reduces over only ``k`` numbers per output; oneDNN's direct
kernels vectorise over input channels and run it at 3-4 GFLOP/s, slower than the rest of the net
together. Copying the sliding windows once (im2col: ``(N * L', k)``, small next to the output) and
multiplying by the ``(k, C')`` weight writes the output directly in NHWC order: 1.5x the whole 1D
net's training and inference throughput (docs/performance.md). 2D single-channel convs (MNIST's first
layer) measured slower this way, so they stay oneDNN convs.

Example:
    >>> from torch import nn
    >>> from convscope.train.speedups.as_images import signals_as_images
    >>> net = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten())
    >>> twin = window_convs(signals_as_images(net))
    >>> x = torch.randn(2, 1, 10)
    >>> torch.allclose(twin(x), net(x), atol=1e-5)
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convscope.models.layers.conv import Conv1dAs2d
from convscope.train.speedups.private_ops import linear_relu_op
from convscope.train.speedups.walker import each_child, has_hooks, rewrite


def window_convs(model: nn.Module) -> nn.Module:
    """A twin of ``model`` (run by :func:`signals_as_images`) whose 1D convs over one input channel are matmuls.

    Needs stride, zero padding, no dilation or groups; shares parameters and everything else.
    """
    return rewrite(model, each_child(lambda m: WindowConv(m) if _window_convertible(m) else None))


def _window_convertible(conv: nn.Module) -> bool:
    if type(conv) is not Conv1dAs2d or has_hooks(conv):
        return False
    base, args = conv.conv, conv.args
    return (base.in_channels == 1 and args["groups"] == 1 and not isinstance(args["padding"], str)
            and all(d == 1 for d in args["dilation"]) and base.weight.device.type == "cpu")


class WindowConv(nn.Module):
    """A one-input-channel conv as ``windows @ weight``; with ``relu``, one oneDNN matmul with a ReLU post-op
    (set by the inference rewrite, only when :func:`linear_relu_op` passed its self-check)."""

    def __init__(self, conv: Conv1dAs2d, *, relu: bool = False) -> None:
        super().__init__()
        base = conv.conv
        self.__dict__["base"] = base  # the Conv1d holding the parameters (shared, not owned)
        self.kernel = (1, base.kernel_size[0])
        self.stride, self.padding = tuple(conv.args["stride"]), tuple(conv.args["padding"])
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, H, W)
        weight, bias = self.base.weight.reshape(self.base.out_channels, -1), self.base.bias  # (C', kh * kw)
        if torch.is_autocast_enabled("cpu"):  # copy the windows in the matmul's dtype, not float32
            x = x.to(torch.get_autocast_dtype("cpu"))
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph))
        windows = x.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, 1, H', W', kh, kw), a view
        n, _, h, w = windows.shape[:4]
        cols = windows.reshape(n * h * w, kh * kw)  # the one copy
        if self.relu:  # inference only (no autograd formula): cast by hand, as autocast would
            weight = weight.to(cols.dtype)
            bias = None if bias is None else bias.to(cols.dtype)
            out = linear_relu_op()(cols, weight, bias, "relu", [], "")
        else:
            out = F.linear(cols, weight, bias)  # (N * H' * W', C')
        return out.view(n, h, w, -1).permute(0, 3, 1, 2)  # (N, C', H', W'), NHWC in memory
