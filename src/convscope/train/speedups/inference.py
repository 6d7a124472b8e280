"""Rewrite 5 — evaluation kernels: conv+ReLU as one oneDNN primitive, tiling max pools as maxima of views.

Evaluation on a CPU is memory-bound as much as compute-bound, so both swaps save passes over the
activations (docs/performance.md):

- a conv directly followed by a ReLU runs as one oneDNN primitive with the ReLU as a post-op, applied
  while the result is still in registers (TensorFlow's grappler does the same for Keras' ``predict``); run
  it after :func:`~convscope.train.speedups.fold_batchnorm.fold_batchnorm`, so ``conv, batchnorm, relu``
  fuses whole. The operator is private PyTorch API, checked at first use (:mod:`.private_ops`);
- a max pool whose stride is its size becomes the element-wise maximum of strided views of its input:
  PyTorch's CPU max pool also writes an int64 index per output, which only the backward pass needs.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from convscope.models.layers.conv import Conv1dAs2d
from convscope.models.layers.pool import Pool1dAs2d
from convscope.train.speedups.private_ops import conv_relu_op, linear_relu_op
from convscope.train.speedups.walker import Children, has_hooks, rewrite
from convscope.train.speedups.window_convs import WindowConv


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """An inference twin of ``model`` (eval mode, no gradients) with two CPU kernels swapped for faster ones.

    Only layers, ReLUs and pools without hooks are replaced (a hooked ReLU, such as the health monitor's
    during the validation pass, must still see its input). The twin computes the same outputs up to float
    rounding and shares every module it does not replace with ``model``. Without the private conv+ReLU
    operator (a note says so once) the pools are still swapped and the ReLUs run on their own.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2)).eval()
        >>> x = torch.randn(2, 1, 8, 8)
        >>> torch.allclose(fuse_for_inference(net)(x), net(x), atol=1e-5)
        True
    """
    return rewrite(model, _inference_swaps)


def _inference_swaps(parent: nn.Module, children: Children) -> dict[str, nn.Module]:
    if not isinstance(parent, nn.Sequential):
        return {}
    swaps: dict[str, nn.Module] = {}
    for i, (name, child) in enumerate(children):
        if name in swaps:
            continue
        window = _views_pool(child)
        if window is not None:
            swaps[name] = MaxPoolByViews(window)
            continue
        j = i + 1
        while j < len(children) and type(children[j][1]) is nn.Identity:  # a folded batchnorm in between
            j += 1
        if j < len(children) and _relu_fusable(child, children[j][1]):
            if type(child) is WindowConv:
                fused = copy.copy(child)
                fused.relu = True
            else:
                fused = ConvReLU(child)
            swaps[name] = fused
            swaps[children[j][0]] = nn.Identity()
    return swaps


def _relu_fusable(layer: nn.Module | None, relu: nn.Module | None) -> bool:
    if type(relu) is not nn.ReLU or layer is None or has_hooks(relu) or has_hooks(layer):
        return False
    kind = type(layer)
    if kind is nn.Conv2d:
        ok = layer.padding_mode == "zeros" and not isinstance(layer.padding, str)
        return ok and layer.weight.device.type == "cpu" and conv_relu_op() is not None
    if kind is Conv1dAs2d:
        ok = not isinstance(layer.args["padding"], str) and layer.conv.weight.device.type == "cpu"
        return ok and conv_relu_op() is not None
    return kind is WindowConv and not layer.relu and linear_relu_op() is not None


def _views_pool(pool: nn.Module | None) -> tuple[int, int] | None:
    """The (height, width) window of a max pool that tiles its input (stride = size, no padding), else None."""
    if pool is None or has_hooks(pool):
        return None
    if type(pool) is nn.MaxPool2d:
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        size, stride = pair(pool.kernel_size), pair(pool.stride)
        plain = pair(pool.padding) == (0, 0) and pair(pool.dilation) == (1, 1)
        ok = plain and not pool.ceil_mode and not pool.return_indices
    elif type(pool) is Pool1dAs2d and pool.fn is F.max_pool2d:
        size, stride = pool.args["kernel_size"], pool.args["stride"]
        ok = pool.args["padding"] == (0, 0) and pool.args["dilation"] == (1, 1) and not pool.args["ceil_mode"]
    else:
        return None
    return size if ok and size == stride and size[0] * size[1] <= 4 else None


class MaxPoolByViews(nn.Module):
    """Max pool with stride = size as ``torch.maximum`` of the strided views (one per window cell)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        (kh, kw), (h, w) = self.size, (x.shape[2] // self.size[0], x.shape[3] // self.size[1])
        out = None
        for i in range(kh):
            for j in range(kw):
                cell = x[:, :, i:i + kh * h:kh, j:j + kw * w:kw]  # (N, C, H/kh, W/kw) view
                out = cell if out is None else torch.maximum(out, cell)
        return out


class ConvReLU(nn.Module):
    """``relu(conv(x))`` as one oneDNN primitive (the ReLU is a post-op); in autocast's dtype when it is on."""

    def __init__(self, conv: nn.Conv2d | Conv1dAs2d) -> None:
        super().__init__()
        self.__dict__["conv"] = conv
        args = conv.args if type(conv) is Conv1dAs2d else dict(
            stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
        self.args = [list(args["padding"]), list(args["stride"]), list(args["dilation"]), args["groups"]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        weight, bias = self.conv.weight, self.conv.bias
        if torch.is_autocast_enabled("cpu"):  # the pointwise op is not on autocast's lists: cast by hand
            dtype = torch.get_autocast_dtype("cpu")
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        return conv_relu_op()(x, weight, bias, *self.args, "relu", [], "")  # (N, C', H', W')
