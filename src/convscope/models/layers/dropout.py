"""``dropout`` (single units) and ``spatial_dropout`` (whole channels).

Example:
    >>> from convscope.models.vocabulary import normalize_args
    >>> type(build_spatial_dropout(normalize_args("spatial_dropout", {"rate": 0.2}), (8, 100))[0]).__name__
    'Dropout1d'
"""

from __future__ import annotations

from typing import Any

from torch import nn

from convscope.models.checks import Shape, check_rate, spatial_rank
from convscope.models.module_traits import add_module, same_module
from convscope.models.vocabulary import REQUIRED, register


@register("dropout", args={"rate": REQUIRED}, shorthand="rate", example="- dropout: 0.5")
def build_dropout(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return nn.Dropout(check_rate(args["rate"])), shape


@register("spatial_dropout", args={"rate": REQUIRED}, shorthand="rate", example="- spatial_dropout: 0.2")
def build_spatial_dropout(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    """Drops whole channels: neighbouring cells of a feature map are correlated, so dropping single cells
    barely regularises a conv layer (Tompson et al. 2015)."""
    rank = spatial_rank(shape, "spatial_dropout")
    return (nn.Dropout1d if rank == 1 else nn.Dropout2d)(check_rate(args["rate"])), shape


add_module(nn.Dropout, as_image=same_module)  # element-wise
