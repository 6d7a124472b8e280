"""``conv``: a 1D or 2D convolution with Keras' padding words, and what convolutions tell the rest of convscope.

Example:
    >>> from convscope.models.vocabulary import normalize_args
    >>> conv, shape = build_conv(normalize_args("conv", {"filters": 4, "kernel": 3}), (1, 10))
    >>> type(conv).__name__, shape
    ('Conv1d', (4, 8))
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import BuildError
from convscope.models.checks import Shape, conv_geometry, positive_int, window_out_sizes
from convscope.models.module_traits import Step, add_module
from convscope.models.modules import make_conv
from convscope.models.vocabulary import REQUIRED, register


@register("conv", args={"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid", "dilation": 1,
                        "groups": 1, "bias": None, "initializer": "glorot_uniform"},
          shorthand="filters", post_ops=True, example="- conv: {filters: 8, kernel: 3, activation: relu}")
def build_conv(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    filters, kernel, stride, dilation, padding = conv_geometry(args, shape, "conv")
    groups = positive_int(args["groups"], "groups")
    if shape[0] % groups or filters % groups:
        raise BuildError(f"groups: {groups} must divide both the input channels ({shape[0]}) and filters ({filters})")
    out = window_out_sizes(shape, kernel, stride, dilation, padding)
    bias = True if args["bias"] is None else args["bias"]
    conv = make_conv(shape[0], filters, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                     bias=bias, initializer=args["initializer"])
    return conv, (filters, *out)


def conv_macs(conv: nn.Module, out: torch.Tensor) -> int:
    """Output elements x (in_channels / groups) x kernel cells: one multiply-accumulate per weight use."""
    return out.numel() * (conv.in_channels // conv.groups) * math.prod(conv.kernel_size)


def conv_steps(conv: nn.Module, rank: int) -> list[Step]:
    return [(tuple(conv.kernel_size), tuple(conv.stride), tuple(conv.dilation))]


class Conv1dAs2d(nn.Module):
    """A Conv1d's own weights as a ``(1, k)`` Conv2d on ``(N, C, 1, L)``; gradients flow to ``conv.weight``
    through a view. Used by the speed rewrite that runs signals as images."""

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        self.__dict__["conv"] = conv  # not a submodule: the twin must not own (or re-register) shared layers
        padding = conv.padding if isinstance(conv.padding, str) else (0, conv.padding[0])
        self.args = dict(stride=(1, conv.stride[0]), padding=padding, dilation=(1, conv.dilation[0]),
                         groups=conv.groups)

    @property
    def weight(self) -> torch.Tensor:
        return self.conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)  # (C', C, 1, k)

    @property
    def bias(self) -> torch.Tensor | None:
        return self.conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, 1, L)
        return F.conv2d(x, self.weight, self.bias, **self.args)  # (N, C', 1, L')


def _conv1d_as_image(conv: nn.Conv1d) -> nn.Module | None:
    return Conv1dAs2d(conv) if conv.padding_mode == "zeros" else None


add_module(nn.Conv1d, conv=True, macs=conv_macs, receptive=conv_steps, as_image=_conv1d_as_image)
add_module(nn.Conv2d, conv=True, macs=conv_macs, receptive=conv_steps)
add_module(nn.Conv3d, conv=True, macs=conv_macs, receptive=conv_steps)
