"""``flatten``: a feature map to a flat ``(F,)`` vector (the builder also puts one before a dense after a map).

Example:
    >>> build_flatten({}, (8, 5, 5))[1]
    (200,)
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from convscope.models.checks import Shape
from convscope.models.module_traits import add_module, whole_input
from convscope.models.vocabulary import register


@register("flatten")
def build_flatten(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return nn.Flatten(), (math.prod(shape),)


def _flatten_as_image(flatten: nn.Flatten) -> nn.Module | None:
    # (N, C, 1, L) flattened from dim 1 holds the same numbers in the same order as (N, C, L)
    return flatten if (flatten.start_dim, flatten.end_dim) == (1, -1) else None


add_module(nn.Flatten, receptive=whole_input, as_image=_flatten_as_image)
