"""Rewrite 4 — evaluation with each batchnorm folded into the conv/dense before it.

In eval mode a batchnorm is ``y = (x - mean) / sqrt(var + eps) * gamma + beta``: an affine map per
channel, which folds into the preceding layer's weights and bias (Jacob et al. 2018, section 3.2), so
evaluation skips one pass over every normalized activation. PyTorch's ``fuse_conv_bn_eval`` /
``fuse_linear_bn_eval`` do the arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from convscope.models.module_traits import is_conv
from convscope.train.speedups.walker import Children, has_hooks, rewrite

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode twin of ``model`` in which each conv/dense directly followed by a batchnorm is one layer.

    Only pairs inside an ``nn.Sequential`` (how convscope builds ``conv, batchnorm, relu``) are folded; a
    pair with hooks on it is left alone. The twin shares every module it does not fold with ``model`` (so
    forward hooks on activations, such as the health monitor's, still fire) and takes no copy of the rest;
    ``model`` itself is not changed. Fold again after the weights change: the folded layers are snapshots.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
        >>> folded = fold_batchnorm(net)
        >>> type(folded[1]).__name__, folded[2] is net[2]
        ('Identity', True)
        >>> x = torch.randn(2, 1, 8, 8)
        >>> torch.allclose(folded(x), net(x), atol=1e-6)
        True
    """
    if model.training:
        raise ValueError("fold_batchnorm folds running statistics: call model.eval() first")
    if not any(isinstance(m, NORMS) for m in model.modules()):
        return model
    return rewrite(model, _fold_pairs)


def _fold_pairs(parent: nn.Module, children: Children) -> dict[str, nn.Module]:
    """{layer: folded layer, norm: Identity} for each foldable (layer, batchnorm) pair of a Sequential."""
    if not isinstance(parent, nn.Sequential):
        return {}
    swaps: dict[str, nn.Module] = {}
    i = 0
    while i < len(children):
        name, child = children[i]
        norm_name, norm = children[i + 1] if i + 1 < len(children) else (None, None)
        if child is not None and norm is not None and _foldable(child, norm):
            fuse: Callable[..., nn.Module] = fuse_conv_bn_eval if is_conv(child) else fuse_linear_bn_eval
            fused = fuse(child, norm)
            _keep_layout(fused, child)
            swaps[name] = fused
            swaps[norm_name] = nn.Identity()  # same names and positions as the original
            i += 2
            continue
        i += 1
    return swaps


def _foldable(layer: nn.Module, norm: nn.Module) -> bool:
    if not isinstance(norm, NORMS) or not norm.track_running_stats or norm.running_mean is None:
        return False
    if has_hooks(layer) or has_hooks(norm):
        return False
    if is_conv(layer):
        return layer.out_channels == norm.num_features
    return isinstance(layer, nn.Linear) and layer.out_features == norm.num_features


def _keep_layout(fused: nn.Module, original: nn.Module) -> None:
    """Give the folded weight the original's memory format (folding arithmetic returns NCHW)."""
    weight = fused.weight
    if weight.dim() == 4 and original.weight.is_contiguous(memory_format=torch.channels_last):
        fused.weight = nn.Parameter(weight.detach().contiguous(memory_format=torch.channels_last),
                                    requires_grad=False)
