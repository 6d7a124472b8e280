"""A model's cost measured before it is built: parameters and activation memory, against the limits.

The network is built on PyTorch's ``meta`` device, where a tensor has a shape and no storage, and one
batch runs through it there: the exact parameter count and every layer's output size, in milliseconds
and without allocating, so ``dense: 1000000`` after a large map is refused before 4 TB are asked for.
(The number of layers is bounded earlier, while the spec is expanded: see ``build._expand``.)

Example:
    >>> cost = estimate([{"conv": {"filters": 8, "kernel": 3}}, "flatten", {"dense": 10}], (1, 28, 28),
    ...                 batch_size=128)
    >>> cost.params, cost.activation_bytes
    (54170, 5542912)
    >>> check_budget([{"dense": 100000}, {"dense": 100000}], (1, 100, 100), batch_size=1)
    Traceback (most recent call last):
    ...
    convscope.errors.BuildError: model: about 11,000,200,000 parameters, over the limit of 500,000,000
      hint: make the model smaller (fewer units or filters, more pooling), or raise CONVSCOPE_MAX_PARAMS
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from convscope.config_limits import Limits, env_name
from convscope.errors import BuildError

FLOAT32 = 4  # bytes: training keeps activations in float32 (bf16 autocast halves some of them)


@dataclass(frozen=True)
class Cost:
    """What a model costs: ``params`` weights and ``activation_bytes`` of layer outputs for one batch."""

    params: int
    activation_bytes: int


def estimate(spec: Any, input_shape: Sequence[int], *, num_classes: int | None = None, batch_size: int = 1) -> Cost:
    """The parameters and activation memory (every leaf module's output, float32) of ``spec`` on ``input_shape``."""
    from convscope.models.build import build_model

    with torch.device("meta"):
        net = build_model(spec, input_shape, num_classes=num_classes)
    params = sum(p.numel() for p in net.parameters())
    elements = 0

    def count(module: torch.nn.Module, inputs: Any, output: Any) -> None:
        nonlocal elements
        if isinstance(output, torch.Tensor) and not list(module.children()):
            elements += output.numel()

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    try:
        with torch.no_grad():
            net(torch.empty(batch_size, *input_shape, device="meta"))  # (N, C, L) or (N, C, H, W), no storage
    except (RuntimeError, NotImplementedError, TypeError):
        # an operator without a meta kernel: fall back to the inputs and outputs the builder knows
        elements = batch_size * (math.prod(input_shape) + math.prod(net.output_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return Cost(params=params, activation_bytes=elements * FLOAT32)


def check_budget(spec: Any, input_shape: Sequence[int], *, num_classes: int | None = None,
                 batch_size: int = 1, limits: Limits | None = None) -> Cost:
    """:func:`estimate`, then a BuildError when the model is over :class:`~convscope.config_limits.Limits`."""
    limits = limits or Limits.from_env()
    cost = estimate(spec, input_shape, num_classes=num_classes, batch_size=batch_size)
    if limits.params and cost.params > limits.params:
        raise BuildError(f"model: about {cost.params:,} parameters, over the limit of {limits.params:,}",
                         hint=f"make the model smaller (fewer units or filters, more pooling), "
                              f"or raise {env_name('params')}")
    if limits.activation_bytes and cost.activation_bytes > limits.activation_bytes:
        raise BuildError(f"model: a batch of {batch_size} needs about {cost.activation_bytes / 1e9:,.1f} GB of "
                         f"activations, over the limit of {limits.activation_bytes / 1e9:,.1f} GB",
                         hint=f"lower train.batch_size, pool earlier or use fewer filters, "
                              f"or raise {env_name('activation_bytes')}")
    return cost


__all__ = ["Cost", "check_budget", "estimate"]
