"""The one walk every model rewrite shares: a *twin* of a model with some descendants swapped.

A twin is a shallow copy of each container on the path to a swapped module; every other module, parameter,
buffer and hook is the original's, so gradients, running statistics and the health monitor's hooks land
where they always do, and the user's model is never changed. torch.fx would trace the model into a graph
instead, but it cannot trace the blocks' Python control flow and its graph modules lose the layer names
the health monitor and the pictures report; swapping children keeps both.

Example:
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    >>> twin = rewrite(net, each_child(lambda m: nn.Tanh() if type(m) is nn.ReLU else None))
    >>> type(twin[1][0]).__name__, twin[0] is net[0], type(net[1][0]).__name__
    ('Tanh', True, 'ReLU')
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from torch import nn

Children = list[tuple[str, nn.Module | None]]
# (parent, its children in order) → {name: replacement} for the children to swap; the rest are walked into.
ReplaceChildren = Callable[[nn.Module, Children], dict[str, nn.Module]]


def rewrite(module: nn.Module, replace: ReplaceChildren) -> nn.Module:
    """A twin of ``module`` with the children ``replace`` names swapped, at every depth; ``module`` when none is."""
    children: Children = list(module._modules.items())
    if not children:
        return module
    swaps = replace(module, children)
    new = {name: swaps[name] if name in swaps else (rewrite(child, replace) if child is not None else None)
           for name, child in children}
    if all(new[name] is child for name, child in children):
        return module
    twin = copy.copy(module)  # shallow: parameters, buffers and hooks are shared, only children differ
    twin.__dict__["_modules"] = new
    return twin


def each_child(swap: Callable[[nn.Module], nn.Module | None]) -> ReplaceChildren:
    """A ``replace`` that looks at one child at a time: ``swap(child)`` is its replacement, or None to keep it."""

    def replace(parent: nn.Module, children: Children) -> dict[str, nn.Module]:
        swaps = {}
        for name, child in children:
            new = swap(child) if child is not None else None
            if new is not None:
                swaps[name] = new
        return swaps

    return replace


def has_hooks(module: nn.Module) -> bool:
    """Whether anyone (the health monitor, a user) hooked ``module``: a rewrite must then leave it alone."""
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)
