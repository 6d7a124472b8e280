"""What each module class tells the rest of convscope: is it a convolution, its MACs, its receptive field,
and whether the speed rewrites may run it as a 2D layer on a signal.

A layer file registers its module classes here, next to the word that builds them (``models/layers/``
is imported on first lookup, so nothing is listed by hand)::

    @register_module(macs=..., receptive=..., as_image=same_module)
    class Scale(nn.Module): ...

Traits (every one optional):

- ``conv``: ``True`` for convolutions — the one definition the summary, the speed rewrites, the health
  monitor and the pictures share (:func:`is_conv`).
- ``macs(module, output) -> int``: multiply-accumulates of one sample, given the module's output on it.
  Unregistered modules count 0 (pooling, activations, bias additions).
- ``receptive(module, rank) -> list[Step] | None``: the (kernel, stride, dilation) steps along the module's
  main path, or ``None`` when every output sees the whole input (flatten, dense, global pools). Without it a
  module with children contributes its children in order and a leaf contributes nothing (element-wise).
- ``as_image(module) -> nn.Module | None``: the module that computes the same on a signal run as a
  1-pixel-high image ``(N, C, 1, L)`` in channels_last — the module itself when it already does
  (:func:`same_module`), a 2D twin sharing its parameters, or ``None`` to decline. A model keeps that fast
  path only when every one of its modules says yes; this trait is looked up for the exact class only
  (a subclass with its own ``forward`` must say so itself).

MACs and receptive field are looked up along the class's MRO, so ``SameConv2d`` counts as a ``Conv2d``.

Example:
    >>> from torch import nn
    >>> is_conv(nn.Conv1d(1, 4, 3)), is_conv(nn.Linear(3, 4))
    (True, False)
    >>> macs_of(nn.Linear(3, 4), torch.zeros(1, 4))
    12
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from convscope.registry import Registry

M = TypeVar("M", bound=type)
# One step of a receptive path: (kernel, stride, dilation), one int per spatial dim.
Step = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
MODULE_TRAITS: Registry[type] = Registry("module class", discover="convscope.models.layers")


def key(cls: type) -> str:
    """The registry name of a module class: its import path, so two classes never share one."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register_module(**traits: Any) -> Callable[[M], M]:
    """Class decorator: register a module class with its traits (see the module docstring)."""

    def deco(cls: M) -> M:
        MODULE_TRAITS.add(key(cls), cls, **traits)
        return cls

    return deco


def add_module(cls: type, **traits: Any) -> None:
    """Register a class defined elsewhere (PyTorch's own ``nn.Conv1d`` ...) with its traits."""
    MODULE_TRAITS.add(key(cls), cls, **traits)


def traits_of(module: nn.Module, *, exact: bool = False) -> dict[str, Any]:
    """The traits of the nearest registered class of ``module`` (only its own class when ``exact``)."""
    for cls in type(module).__mro__[:1] if exact else type(module).__mro__:
        name = key(cls)
        if name in MODULE_TRAITS:
            entry = MODULE_TRAITS.entry(name)
            if entry.obj is cls:
                return entry.traits
    return {}


def is_conv(module: nn.Module) -> bool:
    """Whether ``module`` is a convolution (1D, 2D or 3D, Keras-'same' and causal variants included)."""
    return bool(traits_of(module).get("conv", False))


def macs_of(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates of ``module`` for one sample whose output is ``output`` (0 when it registered none)."""
    rule = traits_of(module).get("macs")
    return int(rule(module, output)) if rule is not None else 0


def receptive_steps(module: nn.Module, rank: int) -> list[Step] | None:
    """(kernel, stride, dilation) steps along ``module``'s main path; ``None`` once it sees the whole input."""
    traits = traits_of(module)
    if "receptive" in traits:
        return traits["receptive"](module, rank)
    steps: list[Step] = []
    for child in module.children():  # a container: its children in order; element-wise leaves add nothing
        child_steps = receptive_steps(child, rank)
        if child_steps is None:
            return None
        steps += child_steps
    return steps


def as_image(module: nn.Module) -> nn.Module | None:
    """The module computing ``module`` on ``(N, C, 1, L)``, or ``None`` when its class did not say it can."""
    rule = traits_of(module, exact=True).get("as_image")
    return rule(module) if rule is not None else None


# -- ready-made trait values ---------------------------------------------------------------------


def same_module(module: nn.Module) -> nn.Module:
    """``as_image`` of a module that computes the same on ``(N, C, 1, L)``: element-wise, or acting on dim 1
    or the last dim only (a Linear sees what it saw before, plus a size-1 dim)."""
    return module


def whole_input(module: nn.Module, rank: int) -> None:
    """``receptive`` of a module whose every output sees the whole input (flatten, dense, global pools)."""
    return None


def nd(value: int | tuple[int, ...] | list[int], rank: int) -> tuple[int, ...]:
    """``value`` as one int per spatial dim."""
    return tuple(value) if isinstance(value, tuple | list) else (value,) * rank


# Containers whose forward only runs their children in order.
add_module(nn.Sequential, as_image=same_module)
add_module(nn.Identity, as_image=same_module)
