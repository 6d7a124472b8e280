"""The optimisers ``train.optimizer.name`` can name: one registered builder each.

A builder takes the parameters, the ``optimizer:`` section and the extra keyword arguments the trainer
chose (``fused=True`` on CPU and CUDA: PyTorch's default updates each parameter with ~10 separate
element-wise ops, and for small models those launches cost as much as the math, docs/performance.md).
A new optimiser is one more ``@OPTIMIZERS.register("name")`` function here; the config accepts it at once.

Example:
    >>> import torch
    >>> from convscope.config import OptimizerConfig
    >>> make_optimizer([torch.nn.Parameter(torch.zeros(2))], OptimizerConfig(name="sgd", lr=0.1))
    SGD (...
    >>> OPTIMIZERS.names()
    ['adam', 'adamw', 'sgd']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from convscope.registry import Registry

OptimizerBuilder = Callable[..., torch.optim.Optimizer]
OPTIMIZERS: Registry[OptimizerBuilder] = Registry("optimizer", field="train.optimizer.name")


@OPTIMIZERS.register("sgd")
def sgd(params: list[torch.nn.Parameter], cfg: Any, **extra: Any) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                           weight_decay=cfg.weight_decay, **extra)


@OPTIMIZERS.register("adam")
def adam(params: list[torch.nn.Parameter], cfg: Any, **extra: Any) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **extra)


@OPTIMIZERS.register("adamw")
def adamw(params: list[torch.nn.Parameter], cfg: Any, **extra: Any) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **extra)


def make_optimizer(params: Any, cfg: Any, *, device: torch.device | None = None) -> torch.optim.Optimizer:
    """The optimizer ``cfg.name`` names; with fused kernels on CPU and CUDA (one launch per parameter tensor)."""
    params = list(params)
    fused = device is not None and device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in params)
    return OPTIMIZERS.get(cfg.name)(params, cfg, **({"fused": True} if fused else {}))


__all__ = ["OPTIMIZERS", "make_optimizer"]
