"""Argument checks every layer word shares: integers, per-dimension values, padding, window sizes.

Each check raises a :class:`~convscope.errors.BuildError` that says what was given and how to fix it;
the builder prefixes it with where the layer sits in the spec.

Example:
    >>> per_dim(3, "kernel", (1, 28, 28))
    (3, 3)
    >>> window_out_sizes((1, 28, 28), (4, 4), (1, 1), (1, 1), "valid")
    (25, 25)
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import torch
from torch import nn

from convscope.errors import BuildError

Shape = tuple[int, ...]  # one sample, no batch dimension: (C, L), (C, H, W) or (F,)
ORDERS = ("conv-bn-act", "conv-act-bn")  # where batchnorm goes relative to the activation


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def fmt_shape(shape: Shape) -> str:
    return str(tuple(shape))


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BuildError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BuildError(f"{name} must be true or false, got {value!r}")
    return value


def check_order(order: Any) -> str:
    if order not in ORDERS:
        raise BuildError(f"order must be one of {', '.join(ORDERS)}, got {order!r}{did_you_mean(order, ORDERS)}")
    return order


def check_rate(value: Any) -> float:
    """A dropout rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise BuildError(f"rate must be a number in [0, 1), got {value!r}", hint="e.g. - dropout: 0.5")
    return float(value)


def spatial_rank(shape: Shape, word: str) -> int:
    """1 for a ``(C, L)`` signal, 2 for a ``(C, H, W)`` image; a flat feature vector is an error."""
    if len(shape) not in (2, 3):
        raise BuildError(f"input {fmt_shape(shape)} is a flat feature vector, but {word} needs a (C, L) signal "
                         f"or a (C, H, W) image; put it before flatten/dense, or give a signal's input as (1, L)")
    return len(shape) - 1


def per_dim(value: Any, name: str, shape: Shape, *, minimum: int = 1) -> tuple[int, ...]:
    """An int (same for every spatial dim) or a list with one int per spatial dim of ``shape``.

    This is where a 2D-only option given to a 1D input (``kernel: [3, 3]`` on a signal) is caught.
    """
    rank = len(shape) - 1
    if isinstance(value, int) and not isinstance(value, bool):
        values = [value] * rank
    elif isinstance(value, list | tuple):
        values = list(value)
        if len(values) != rank:
            kind = "a 1D signal (C, L)" if rank == 1 else "a 2D image (C, H, W)"
            fix = f"give one number, e.g. {name}: {values[0] if values else 3}" if rank == 1 else \
                f"give one number or two, e.g. {name}: [{values[0] if values else 3}, {values[0] if values else 3}]"
            raise BuildError(f"{name} {list(values)} is {len(values)}D but the input {fmt_shape(shape)} is {kind}; {fix}")
    else:
        raise BuildError(f"{name} must be an integer or a list of {rank} integers, got {value!r}")
    for v in values:
        positive_int(v, name, minimum=minimum)
    return tuple(values)


def check_padding(padding: Any, shape: Shape, *, causal_ok: bool = True) -> str | tuple[int, ...]:
    """``same`` | ``valid`` | ``causal`` (1D conv only) | an int or one int per spatial dim."""
    if isinstance(padding, str):
        choices = ("same", "valid", "causal") if causal_ok else ("same", "valid")
        if padding not in choices:
            raise BuildError(f"padding must be {', '.join(choices)} or an integer, got '{padding}'"
                             f"{did_you_mean(padding, choices)}")
        if padding == "causal" and len(shape) != 2:
            raise BuildError(f"padding: causal pads only the past of a 1D signal, but the input {fmt_shape(shape)} "
                             f"is a (C, H, W) image; use padding: same")
        return padding
    return per_dim(padding, "padding", shape, minimum=0)


def window_out_sizes(shape: Shape, window: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                     padding: str | tuple[int, ...], *, what: str = "kernel") -> tuple[int, ...]:
    """Output length/height/width of a conv or pool; a window larger than its padded input is an error."""
    sizes = shape[1:]
    if padding in ("same", "causal"):  # Keras: out = ceil(in / stride), whatever the window
        return tuple(math.ceil(n / s) for n, s in zip(sizes, stride, strict=True))
    pads = (0,) * len(sizes) if padding == "valid" else padding
    out = []
    for n, k, s, d, p in zip(sizes, window, stride, dilation, pads, strict=True):
        span = (k - 1) * d + 1
        if n + 2 * p < span:
            raise BuildError(f"input {fmt_shape(shape)} is smaller than the {what}; use padding: same, "
                             f"a smaller {what}, or fewer pooling layers")
        out.append((n + 2 * p - span) // s + 1)
    return tuple(out)


def conv_geometry(args: dict[str, Any], shape: Shape, word: str) -> tuple[int, tuple[int, ...], tuple[int, ...],
                                                                         tuple[int, ...], str | tuple[int, ...]]:
    """The checked (filters, kernel, stride, dilation, padding) of a convolution-like word on ``shape``."""
    spatial_rank(shape, word)
    filters = positive_int(args["filters"], "filters")
    kernel = per_dim(args["kernel"], "kernel", shape)
    stride = per_dim(args["stride"], "stride", shape)
    dilation = per_dim(args["dilation"], "dilation", shape)
    return filters, kernel, stride, dilation, check_padding(args["padding"], shape)


def probe(module: nn.Module, shape: Shape) -> Shape:
    """Output shape of ``module`` on a zero batch of one (eval mode: batchnorm statistics stay untouched)."""
    training = module.training
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(1, *shape))
    module.train(training)
    return tuple(out.shape[1:])
