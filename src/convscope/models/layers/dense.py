"""``dense``: a fully connected layer (``nn.Linear``) on a flat ``(F,)`` input.

Example:
    >>> from convscope.models.vocabulary import normalize_args
    >>> build_dense(normalize_args("dense", {"units": 10}), (128,))[1]
    (10,)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convscope.models.checks import Shape, positive_int
from convscope.models.initializers import initialize
from convscope.models.module_traits import add_module, same_module, whole_input
from convscope.models.vocabulary import REQUIRED, register


@register("dense", args={"units": REQUIRED, "bias": None, "initializer": "glorot_uniform"}, shorthand="units",
          post_ops=True, example="- dense: {units: 128, activation: relu}")
def build_dense(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    """Needs a flat ``(F,)`` input: the builder inserts a ``flatten`` before a dense that follows a map."""
    units = positive_int(args["units"], "units")
    bias = True if args["bias"] is None else args["bias"]
    return initialize(nn.Linear(shape[0], units, bias=bias), args["initializer"]), (units,)


def linear_macs(linear: nn.Linear, out: torch.Tensor) -> int:
    return out.numel() * linear.in_features


# A Linear acts on the last dim only, so on a signal run as an image it sees what it saw before.
add_module(nn.Linear, macs=linear_macs, receptive=whole_input, as_image=same_module)
