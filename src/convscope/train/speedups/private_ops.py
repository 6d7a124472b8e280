"""The private PyTorch operators the speed rewrites call, each checked on a tiny input at first use.

``torch.ops.mkldnn._convolution_pointwise`` (conv + ReLU as one oneDNN primitive) and
``torch.ops.mkldnn._linear_pointwise`` (matmul + ReLU) are not public API: a PyTorch release may rename
them, drop them or change their arguments. So each is looked up and compared with the plain computation it
replaces the first time it is needed; when it is missing or disagrees, the rewrite that needs it is
skipped (the model runs the plain way) and a note says so — printed once as a :class:`SpeedupUnavailable`
warning and kept in :func:`notes`, which ``api.run`` stores with the run (:func:`check_all`). The CPU-feature
queries behind ``precision: auto`` have nothing to compare against, so only their existence is checked.

Example:
    >>> conv_relu_op() is None or callable(conv_relu_op())
    True
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

# Where each private operator lives: (namespace under torch.ops, name). Tests point these elsewhere to
# simulate a PyTorch that lacks them.
CONV_RELU = ("mkldnn", "_convolution_pointwise")
LINEAR_RELU = ("mkldnn", "_linear_pointwise")
BF16_QUERIES = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # on torch.cpu

_NOTES: list[str] = []


class SpeedupUnavailable(UserWarning):
    """A speed rewrite is off because the private PyTorch API it needs is missing or computes wrongly."""


def notes() -> list[str]:
    """What is off on this machine and why, one line each (empty when every fast path works)."""
    return list(_NOTES)


def note(message: str) -> None:
    """Record and print ``message`` once per process."""
    if message not in _NOTES:
        _NOTES.append(message)
        warnings.warn(message, SpeedupUnavailable, stacklevel=3)


def _lookup(where: tuple[str, str]) -> Callable[..., Any]:
    namespace, name = where
    if not torch.backends.mkldnn.is_available():
        raise RuntimeError("this PyTorch build has no oneDNN")
    return getattr(getattr(torch.ops, namespace), name)  # AttributeError / RuntimeError when it is gone


def _checked(where: tuple[str, str], what: str, run: Callable[[Callable[..., Any]], torch.Tensor],
             expected: torch.Tensor) -> Callable[..., Any] | None:
    """The operator at ``where`` if ``run(op)`` matches ``expected``; otherwise None and a note."""
    label = f"torch.ops.{where[0]}.{where[1]}"
    try:
        op = _lookup(where)
        got = run(op)
    except Exception as exc:  # missing, or its arguments changed: any failure means "do not use it"
        note(f"fast path off: {what} needs {label}, which this PyTorch lacks ({type(exc).__name__}); "
             f"it runs unfused")
        return None
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-4, atol=1e-4):
        note(f"fast path off: {what} via {label} disagreed with the plain computation on a test input; "
             f"it runs unfused")
        return None
    return op


def _sample(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


@functools.cache
def conv_relu_op() -> Callable[..., Any] | None:
    """``torch.ops.mkldnn._convolution_pointwise`` once checked against ``relu(conv2d(...))``, else None."""
    x, w, b = _sample(2, 3, 6, 6), _sample(4, 3, 3, 3), _sample(4)
    run = lambda op: op(x, w, b, [1, 1], [1, 1], [1, 1], 1, "relu", [], "")  # noqa: E731
    return _checked(CONV_RELU, "conv+ReLU fusion in evaluation", run, F.relu(F.conv2d(x, w, b, padding=1)))


@functools.cache
def linear_relu_op() -> Callable[..., Any] | None:
    """``torch.ops.mkldnn._linear_pointwise`` once checked against ``relu(linear(...))``, else None."""
    x, w, b = _sample(5, 3), _sample(4, 3), _sample(4)
    run = lambda op: op(x, w, b, "relu", [], "")  # noqa: E731
    return _checked(LINEAR_RELU, "window conv+ReLU fusion in evaluation", run, F.relu(F.linear(x, w, b)))


@functools.cache
def bf16_queries() -> tuple[Callable[[], bool], ...]:
    """torch.cpu's AMX / AVX-512 BF16 queries that exist in this PyTorch (a note when none does)."""
    found = tuple(getattr(torch.cpu, name) for name in BF16_QUERIES if callable(getattr(torch.cpu, name, None)))
    if not found:
        note(f"precision: auto cannot ask the CPU for bf16 units (torch.cpu lacks {', '.join(BF16_QUERIES)}); "
             f"it trains in float32")
    return found


def check_all() -> list[str]:
    """Run every self-check now (each runs once per process) and return :func:`notes`, for a run's record."""
    conv_relu_op()
    linear_relu_op()
    bf16_queries()
    return notes()


def reset() -> None:
    """Forget the checks and notes (tests simulate a PyTorch without the operators)."""
    _NOTES.clear()
    for check in (conv_relu_op, linear_relu_op, bf16_queries):
        check.cache_clear()
