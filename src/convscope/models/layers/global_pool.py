"""``global_avg_pool`` and ``global_max_pool``: one number per channel (Network-in-Network, Lin et al. 2014).

Example:
    >>> import torch
    >>> GlobalAvgPool()(torch.ones(2, 8, 10, 10)).shape  # (N, C)
    torch.Size([2, 8])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convscope.models.checks import Shape, spatial_rank
from convscope.models.module_traits import add_module, register_module, same_module, whole_input
from convscope.models.vocabulary import register


@register_module(receptive=whole_input, as_image=same_module)
class GlobalAvgPool(nn.Module):
    """Mean over every spatial position: ``(N, C, L)`` or ``(N, C, H, W)`` → ``(N, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=tuple(range(2, x.ndim)))  # (N, C)


@register_module(receptive=whole_input, as_image=same_module)
class GlobalMaxPool(nn.Module):
    """Max over every spatial position: ``(N, C, L)`` or ``(N, C, H, W)`` → ``(N, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=tuple(range(2, x.ndim)))  # (N, C)


@register("global_avg_pool")
def build_global_avg_pool(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    spatial_rank(shape, "global_avg_pool")
    return GlobalAvgPool(), (shape[0],)


@register("global_max_pool")
def build_global_max_pool(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    spatial_rank(shape, "global_max_pool")
    return GlobalMaxPool(), (shape[0],)


for _adaptive in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d):
    add_module(_adaptive, receptive=whole_input)  # PyTorch-built heads summarised like the global pools
