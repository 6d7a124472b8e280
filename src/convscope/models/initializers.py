"""Weight initializers by name, with Keras' definitions, so a model ported from a Keras notebook starts from the
same distribution. A new initializer is one ``@INITIALIZERS.register(name)`` function here.

Example:
    >>> import torch
    >>> conv = initialize(torch.nn.Conv1d(1, 4, 3), "zeros")
    >>> float(conv.weight.detach().abs().sum()), INITIALIZERS.names()[:2]
    (0.0, ['glorot_normal', 'glorot_uniform'])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from convscope.errors import BuildError
from convscope.models.checks import did_you_mean
from convscope.registry import Registry

INITIALIZERS: Registry[Callable[[torch.Tensor], Any]] = Registry("initializer")


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    receptive = math.prod(weight.shape[2:])  # conv: kernel cells; dense: 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def _variance_scaling(weight: torch.Tensor, *, mode: str, distribution: str, scale: float) -> None:
    # Keras' VarianceScaling; torch.nn.init has no truncated-normal variant with Keras' widening, so it is written out.
    fan_in, fan_out = _fans(weight)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / n)
        nn.init.uniform_(weight, -limit, limit)
    else:
        # Keras draws from a normal truncated at 2 std, widened so the kept part still has the target std.
        std = math.sqrt(scale / n) / 0.87962566103423978
        nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)


@INITIALIZERS.register("glorot_uniform")
def glorot_uniform(weight: torch.Tensor) -> None:
    _variance_scaling(weight, mode="fan_avg", distribution="uniform", scale=1.0)


@INITIALIZERS.register("glorot_normal")
def glorot_normal(weight: torch.Tensor) -> None:
    _variance_scaling(weight, mode="fan_avg", distribution="normal", scale=1.0)


@INITIALIZERS.register("he_normal")
def he_normal(weight: torch.Tensor) -> None:
    _variance_scaling(weight, mode="fan_in", distribution="normal", scale=2.0)


@INITIALIZERS.register("he_uniform")
def he_uniform(weight: torch.Tensor) -> None:
    _variance_scaling(weight, mode="fan_in", distribution="uniform", scale=2.0)


@INITIALIZERS.register("normal")
def normal(weight: torch.Tensor) -> None:
    nn.init.normal_(weight, 0.0, 0.05)  # Keras' kernel_initializer='normal': RandomNormal(0, 0.05)


INITIALIZERS.add("zeros", nn.init.zeros_)


def initialize(module: nn.Module, initializer: Any) -> nn.Module:
    """Draw ``module.weight`` from a Keras initializer; biases start at zero (Keras' default)."""
    if not isinstance(initializer, str) or initializer not in INITIALIZERS:
        names = INITIALIZERS.names()
        raise BuildError(f"unknown initializer '{initializer}'{did_you_mean(initializer, names)}",
                         hint=f"initializers: {', '.join(names)}")
    with torch.no_grad():
        INITIALIZERS.get(initializer)(module.weight)
        if module.bias is not None:
            module.bias.zero_()
    return module
