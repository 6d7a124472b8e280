"""Memory layout: channels_last (NHWC), which oneDNN's convolution kernels want.

Example:
    >>> as_layout(torch.zeros(2, 3, 4, 4), True).is_contiguous(memory_format=torch.channels_last)
    True
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from convscope.models.module_traits import is_conv
from convscope.train.speedups.as_images import signals_as_images


def has_2d_convs(model: nn.Module) -> bool:
    return any(is_conv(m) and m.weight.dim() == 4 for m in model.modules())  # weight (C', C, kh, kw)


def use_channels_last(model: nn.Module, setting: bool | Literal["auto"], device: torch.device) -> bool:
    """Whether to run ``model`` in channels_last (NHWC) memory format.

    ``auto``: yes on the CPU for models with 2D convolutions, and for 1D conv models that
    :func:`signals_as_images` can run as images, where oneDNN's NHWC kernels won every model we
    measured (docs/performance.md); on CUDA the answer depends on the GPU and cuDNN, so ``auto`` leaves it
    off. ``true`` forces it wherever it applies; dense-only models have no layout to change.
    """
    applies = has_2d_convs(model) or signals_as_images(model) is not None
    if not applies:
        return False
    if setting == "auto":
        return device.type == "cpu"
    return bool(setting)


def as_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in channels_last when asked and it is a batch of images (N, C, H, W); otherwise as it is."""
    if channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each optimizer state tensor its parameter's strides (after loading a checkpoint).

    Checkpoints store contiguous tensors, so a resumed channels_last model gets NCHW moment buffers next
    to NHWC parameters. Element-wise optimizers index both by memory offset (fused Adam does), so
    mismatched strides would silently pair the wrong elements.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)
