"""``maxpool`` and ``avgpool``: 1D or 2D pooling with Keras' padding words.

Example:
    >>> from convscope.models.vocabulary import normalize_args
    >>> build_maxpool(normalize_args("maxpool", {"size": 2}), (8, 28, 28))[1]
    (8, 14, 14)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convscope.models.checks import Shape, check_padding, per_dim, spatial_rank, window_out_sizes
from convscope.models.module_traits import Step, add_module, nd
from convscope.models.modules import make_pool
from convscope.models.vocabulary import register


def _build_pool(kind: str, args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    spatial_rank(shape, f"{kind}pool")
    size = per_dim(args["size"], "size", shape)
    stride = size if args["stride"] is None else per_dim(args["stride"], "stride", shape)
    padding = check_padding(args["padding"], shape, causal_ok=False)
    out = window_out_sizes(shape, size, stride, (1,) * len(size), padding, what="pool window")
    return make_pool(kind, size, stride=stride, padding=padding), (shape[0], *out)


_POOL_ARGS = {"size": 2, "stride": None, "padding": "valid"}


@register("maxpool", args=_POOL_ARGS, shorthand="size", example="- maxpool: 2")
def build_maxpool(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return _build_pool("max", args, shape)


@register("avgpool", args=_POOL_ARGS, shorthand="size", example="- avgpool: 2")
def build_avgpool(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return _build_pool("avg", args, shape)


def pool_steps(pool: nn.Module, rank: int) -> list[Step]:
    return [(nd(pool.kernel_size, rank), nd(pool.stride, rank), nd(getattr(pool, "dilation", 1), rank))]


class Pool1dAs2d(nn.Module):
    """A MaxPool1d/AvgPool1d as its ``(1, k)`` 2D pool on ``(N, C, 1, L)`` (the signals-as-images rewrite)."""

    def __init__(self, pool: nn.MaxPool1d | nn.AvgPool1d) -> None:
        super().__init__()
        first = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
        self.args: dict = dict(kernel_size=(1, first(pool.kernel_size)), stride=(1, first(pool.stride)),
                               padding=(0, first(pool.padding)), ceil_mode=pool.ceil_mode)
        if isinstance(pool, nn.MaxPool1d):
            self.fn = F.max_pool2d
            self.args["dilation"] = (1, first(pool.dilation))
        else:
            self.fn = F.avg_pool2d
            self.args["count_include_pad"] = pool.count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, 1, L)
        return self.fn(x, **self.args)  # (N, C, 1, L')


def _max_pool1d_as_image(pool: nn.MaxPool1d) -> nn.Module | None:
    return None if pool.return_indices else Pool1dAs2d(pool)


add_module(nn.MaxPool1d, receptive=pool_steps, as_image=_max_pool1d_as_image)
add_module(nn.AvgPool1d, receptive=pool_steps, as_image=Pool1dAs2d)
add_module(nn.MaxPool2d, receptive=pool_steps)
add_module(nn.AvgPool2d, receptive=pool_steps)
