"""Precision and threads: bf16 autocast where the CPU has bf16 units, fp16 with loss scaling, and the thread count.

Example:
    >>> from torch import nn
    >>> resolve_precision("auto", nn.Linear(3, 2), torch.device("cpu"))  # dense-only: float32 everywhere
    'fp32'
"""

from __future__ import annotations

import torch
from torch import nn

from convscope.errors import ConfigError
from convscope.models.module_traits import is_conv
from convscope.train.speedups.private_ops import bf16_queries


def native_bf16(device: torch.device) -> bool:
    """True when bf16 matmuls and convolutions run on hardware units of ``device``.

    On the CPU that is AMX (Intel Sapphire Rapids and later) or AVX-512 BF16 (Cooper Lake, AMD Zen 4);
    without either, bf16 is emulated and slower than float32. On CUDA, Ampere or newer.
    """
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    return any(query() for query in bf16_queries())


def configure_threads(threads: int | str | None) -> None:
    """``torch.set_num_threads(threads)`` for a number; otherwise (``auto``, ``None``) leave the process's setting alone.

    ``auto`` starts from the process's setting and picks the fastest count while training
    (:mod:`convscope.train.adaptive_threads`, which the trainer adds).

    Leaving it alone matters: a search worker sets its own share of the cores before it builds a trainer,
    and PyTorch's default (one thread per physical core) is already right for a lone run.
    Inter-op threads are not touched: eager training runs no inter-op parallel work, and PyTorch
    refuses to change their number once any has started.
    """
    if isinstance(threads, int) and threads != torch.get_num_threads():
        torch.set_num_threads(threads)


def resolve_precision(setting: str, model: nn.Module, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``train.precision``; ``auto`` picks bf16 for conv nets on a CPU with native bf16.

    Conv nets train 1.6-2.2x faster in bf16 on AMX and reach the same MNIST test accuracy (docs/
    performance.md); dense-only nets are too small for the matrix units and lose time to the casts.
    GPUs are left in float32 under ``auto``; ``precision: bf16`` and ``fp16`` work there too
    (docs/performance.md, "On a GPU", has what they measured on an H200).
    """
    if setting == "fp16" and device.type == "cpu":
        # oneDNN's float16 convolutions need AVX512-FP16 or AVX-NE-CONVERT and fail mid-step without them; where a CPU
        # has them, bf16 (same speed, float32's range, no loss scaling) is the better choice anyway
        raise ConfigError("train.precision: fp16 is for GPUs, and this run trains on the CPU",
                          hint="use precision: bf16 (native on AMX / AVX-512 BF16 CPUs), fp32, or auto")
    if setting != "auto":
        return setting
    has_convs = any(is_conv(m) for m in model.modules())
    return "bf16" if has_convs and device.type == "cpu" and native_bf16(device) else "fp32"


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, precision: str) -> torch.autocast | None:
    """The autocast context for ``precision`` (``None`` for float32, which needs none)."""
    dtype = AUTOCAST_DTYPES.get(precision)
    return None if dtype is None else torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """PyTorch's loss scaler for ``fp16`` (its 5 exponent bits underflow small gradients without one), else None.

    bf16 has float32's exponent range and needs no scaling.

    Example:
        >>> grad_scaler(torch.device("cpu"), "bf16") is None, type(grad_scaler(torch.device("cpu"), "fp16")).__name__
        (True, 'GradScaler')
    """
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None
