"""Multi-layer blocks from the papers: inception, residual, dilated stack, separable conv — 1D and 2D alike.

Each block is an ``nn.Module`` you can use from Python, and a config word registered in the layer
vocabulary (``- inception: {filters: 16}``). The rank (1D signal or 2D image) comes from the input.
Every block exposes ``receptive_path()``: the (kernel, stride, dilation) of each conv/pool along its
widest path, which the summary folds into a receptive field.

Example:
    >>> import torch
    >>> block = Inception(1, 8, rank=1)
    >>> block(torch.zeros(2, 1, 100)).shape  # (N, 4 * filters, L)
    torch.Size([2, 32, 100])
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from convscope.errors import BuildError
from convscope.models.activations import make_activation
from convscope.models.checks import (
    Shape,
    check_bool,
    check_order,
    conv_geometry,
    did_you_mean,
    positive_int,
    probe,
    spatial_rank,
    window_out_sizes,
)
from convscope.models.module_traits import Step, register_module
from convscope.models.modules import BATCHNORM, make_conv, make_pool
from convscope.models.vocabulary import REQUIRED, register


def _own_path(block: nn.Module, rank: int) -> list[Step]:
    """``receptive`` trait of a block: the path its ``receptive_path()`` reports."""
    return block.receptive_path()


def _step(kernel: int, rank: int, *, stride: int = 1, dilation: int = 1) -> Step:
    return (kernel,) * rank, (stride,) * rank, (dilation,) * rank


@register_module(receptive=_own_path)
class ConvUnit(nn.Sequential):
    """conv → batchnorm → activation (``order="conv-bn-act"``, Ioffe & Szegedy 2015) or conv → activation →
    batchnorm: the unit every block is made of. Batchnorm and activation are optional.

    Args:
        in_channels: input channels.
        out_channels: filters.
        kernel: kernel size (same on every spatial dim).
        rank: 1 for ``(N, C, L)`` signals, 2 for ``(N, C, H, W)`` images.
        stride: conv stride.
        padding: ``same`` (Keras semantics), ``valid`` or ``causal`` (1D).
        dilation: conv dilation.
        groups: conv groups.
        batchnorm: add a batchnorm.
        activation: an activation word, or ``None``.
        order: ``conv-bn-act`` or ``conv-act-bn``.
        initializer: a Keras initializer name for the conv weight.

    Example:
        >>> [name for name, _ in ConvUnit(3, 8, 3, rank=2, batchnorm=True).named_children()]
        ['conv', 'bn', 'act']
        >>> [name for name, _ in ConvUnit(3, 8, 3, rank=2, batchnorm=True, order="conv-act-bn").named_children()]
        ['conv', 'act', 'bn']
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, rank: int, stride: int = 1,
                 padding: str = "same", dilation: int = 1, groups: int = 1, batchnorm: bool = False,
                 activation: str | None = "relu", order: str = "conv-bn-act",
                 initializer: str = "glorot_uniform") -> None:
        check_order(order)
        # A batchnorm right after the conv subtracts the batch mean: a conv bias would be cancelled anyway.
        bias = not (batchnorm and order == "conv-bn-act")
        conv = make_conv(in_channels, out_channels, (kernel,) * rank, stride=(stride,) * rank, padding=padding,
                         dilation=(dilation,) * rank, groups=groups, bias=bias, initializer=initializer)
        norm = [("bn", BATCHNORM[rank](out_channels))] if batchnorm else []
        act_module = make_activation(activation)
        act = [("act", act_module)] if act_module is not None else []
        super().__init__(OrderedDict([("conv", conv), *(norm + act if order == "conv-bn-act" else act + norm)]))
        self.receptive = [_step(kernel, rank, stride=stride, dilation=dilation)]

    def receptive_path(self) -> list[Step]:
        return list(self.receptive)


@register_module(receptive=_own_path)
class Inception(nn.Module):
    """GoogLeNet's inception module (Szegedy et al. 2015, Fig. 2b): four towers concatenated on channels —
    1x1; 1x1 reduce → 3; 1x1 reduce → 5; 3 max-pool (stride 1) → 1x1 projection. Same padding everywhere,
    so the towers' outputs line up for the concatenation.

    Args:
        in_channels: input channels.
        filters: each tower's output channels, an int, or ``{b1, b3, b5, pool}``.
        rank: 1 for ``(N, C, L)`` signals, 2 for ``(N, C, H, W)`` images.
        reduce: width of the 1x1 bottlenecks before the two wide kernels, an int or ``{b3, b5}``;
            ``None`` = the tower's filters.
        kernels: the kernels of the b1, b3 and b5 towers (default ``(1, 3, 5)``, the paper's).
        batchnorm: batchnorm after every conv (Inception-v2), placed by ``order``.
        activation: activation after every conv, reductions included (the paper uses ReLU).
        order: ``conv-bn-act`` or ``conv-act-bn``.
        initializer: a Keras initializer name for the conv weights.

    Example:
        >>> import torch
        >>> Inception(3, {"b1": 8, "b3": 16, "b5": 4, "pool": 4}, rank=2)(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 32, 32, 32])
    """

    TOWERS = ("b1", "b3", "b5", "pool")

    def __init__(self, in_channels: int, filters: int | dict[str, int], *, rank: int,
                 reduce: int | dict[str, int] | None = None, kernels: tuple[int, ...] | list[int] = (1, 3, 5),
                 batchnorm: bool = False, activation: str | None = "relu", order: str = "conv-bn-act",
                 initializer: str = "glorot_uniform") -> None:
        super().__init__()
        width = _per_tower(filters, "filters", self.TOWERS)
        bottleneck = _per_tower(reduce, "reduce", ("b3", "b5")) if reduce is not None else width
        if not isinstance(kernels, list | tuple) or len(kernels) != 3:
            raise BuildError(f"kernels must list the b1, b3 and b5 tower kernels, e.g. [1, 3, 5]; got {kernels!r}")
        k1, k3, k5 = (positive_int(k, "kernels") for k in kernels)

        def unit(c_in: int, c_out: int, kernel: int) -> ConvUnit:
            return ConvUnit(c_in, c_out, kernel, rank=rank, batchnorm=batchnorm, activation=activation, order=order,
                            initializer=initializer)

        self.b1 = unit(in_channels, width["b1"], k1)
        self.b3 = nn.Sequential(unit(in_channels, bottleneck["b3"], 1), unit(bottleneck["b3"], width["b3"], k3))
        self.b5 = nn.Sequential(unit(in_channels, bottleneck["b5"], 1), unit(bottleneck["b5"], width["b5"], k5))
        self.pool = nn.Sequential(make_pool("max", (3,) * rank, stride=(1,) * rank, padding="same"),
                                  unit(in_channels, width["pool"], 1))
        self.out_channels = sum(width.values())
        self.rank = rank
        self.kernels = (k1, k3, k5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L) or (N, C, H, W)
        towers = [self.b1(x), self.b3(x), self.b5(x), self.pool(x)]
        return torch.cat(towers, dim=1)  # (N, b1 + b3 + b5 + pool, ...) same spatial size

    def receptive_path(self) -> list[Step]:
        k1, k3, k5 = self.kernels
        towers = [[_step(k1, self.rank)], [_step(1, self.rank), _step(k3, self.rank)],
                  [_step(1, self.rank), _step(k5, self.rank)], [_step(3, self.rank), _step(1, self.rank)]]
        return max(towers, key=lambda path: sum(k[0] - 1 for k, _, _ in path))


def _per_tower(value: Any, name: str, towers: tuple[str, ...]) -> dict[str, int]:
    if isinstance(value, dict):
        for key in value:
            if key not in towers:
                raise BuildError(f"{name} has no tower '{key}'{did_you_mean(key, towers)}",
                                 hint=f"towers: {', '.join(towers)}")
        missing = [t for t in towers if t not in value]
        if missing:
            raise BuildError(f"{name} is missing tower(s) {', '.join(missing)}",
                             hint=f"give all of {', '.join(towers)}, or one int for every tower")
        return {t: positive_int(value[t], f"{name}.{t}") for t in towers}
    return {t: positive_int(value, name) for t in towers}


@register_module(receptive=_own_path)
class Residual(nn.Module):
    """A ResNet block (He et al. 2016): conv-BN-act-conv-BN, plus the input, then the activation.

    The shortcut is the identity, or a 1x1 conv + BN projection when the channels or the stride change
    (the paper's option B). ``bottleneck=True`` gives the 1x1 (reduce) → kernel → 1x1 (expand x4) form of
    ResNet-50; its stride sits on the middle conv, as in torchvision (ResNet v1.5).

    Args:
        in_channels: input channels.
        filters: width of the block's convs; the output has ``filters`` channels (``4 * filters`` when bottleneck).
        rank: 1 for ``(N, C, L)`` signals, 2 for ``(N, C, H, W)`` images.
        kernel: the kernel of the (middle) convs.
        stride: downsampling of the block (same padding: out = ceil(in / stride)).
        bottleneck: use the 1x1-k-1x1 form with expansion 4.
        activation: the activation word.
        order: ``conv-bn-act`` (the paper's) or ``conv-act-bn``.
        initializer: a Keras initializer name for the conv weights.

    Example:
        >>> import torch
        >>> Residual(16, 32, rank=1, stride=2)(torch.zeros(1, 16, 101)).shape
        torch.Size([1, 32, 51])
    """

    expansion = 4

    def __init__(self, in_channels: int, filters: int, *, rank: int, kernel: int = 3, stride: int = 1,
                 bottleneck: bool = False, activation: str | None = "relu", order: str = "conv-bn-act",
                 initializer: str = "glorot_uniform") -> None:
        super().__init__()
        filters, kernel = positive_int(filters, "filters"), positive_int(kernel, "kernel")
        stride = positive_int(stride, "stride")
        out_channels = filters * self.expansion if bottleneck else filters

        def unit(c_in: int, c_out: int, k: int, *, s: int = 1, act: str | None = activation) -> ConvUnit:
            return ConvUnit(c_in, c_out, k, rank=rank, stride=s, batchnorm=True, activation=act, order=order,
                            initializer=initializer)

        if bottleneck:
            self.body = nn.Sequential(unit(in_channels, filters, 1), unit(filters, filters, kernel, s=stride),
                                      unit(filters, out_channels, 1, act=None))
        else:
            self.body = nn.Sequential(unit(in_channels, filters, kernel, s=stride),
                                      unit(filters, out_channels, kernel, act=None))
        if in_channels != out_channels or stride != 1:
            # 1x1 with stride s and no padding gives ceil(in / s), the body's 'same' output size
            self.shortcut: nn.Module = ConvUnit(in_channels, out_channels, 1, rank=rank, stride=stride,
                                                padding="valid", batchnorm=True, activation=None,
                                                initializer=initializer)
        else:
            self.shortcut = nn.Identity()
        self.act = make_activation(activation) or nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L) or (N, C, H, W)
        return self.act(self.body(x) + self.shortcut(x))  # (N, out_channels, ceil(L / stride)) ...

    def receptive_path(self) -> list[Step]:
        return [step for unit in self.body for step in unit.receptive_path()]


@register_module(receptive=_own_path)
class DilatedStack(nn.Sequential):
    """Convs whose dilation doubles per layer (1, 2, 4, ...): the receptive field grows exponentially with
    depth, 1 + (kernel - 1) * (2**layers - 1), without pooling away resolution (WaveNet, van den Oord
    et al. 2016; Yu & Koltun 2016).

    Args:
        in_channels: input channels.
        filters: every conv's output channels.
        rank: 1 for ``(N, C, L)`` signals, 2 for ``(N, C, H, W)`` images.
        kernel: kernel of every conv.
        layers: number of convs.
        causal: 1D only: pad only the past, so output t never sees inputs after t.
        activation: activation after each conv.
        batchnorm: batchnorm after each conv, placed by ``order``.
        order: ``conv-bn-act`` or ``conv-act-bn``.
        initializer: a Keras initializer name for the conv weights.

    Example:
        >>> import torch
        >>> DilatedStack(1, 8, rank=1, kernel=3, layers=4, causal=True)(torch.zeros(1, 1, 64)).shape
        torch.Size([1, 8, 64])
    """

    def __init__(self, in_channels: int, filters: int, *, rank: int, kernel: int = 3, layers: int = 4,
                 causal: bool = False, activation: str | None = "relu", batchnorm: bool = False,
                 order: str = "conv-bn-act", initializer: str = "glorot_uniform") -> None:
        filters, kernel = positive_int(filters, "filters"), positive_int(kernel, "kernel")
        layers = positive_int(layers, "layers")
        check_bool(causal, "causal")
        if causal and rank != 1:
            raise BuildError("causal: true pads only the past of a 1D signal, but the input is a (C, H, W) image; "
                             "remove causal (2D uses same padding)")
        units = [ConvUnit(in_channels if i == 0 else filters, filters, kernel, rank=rank, dilation=2 ** i,
                          padding="causal" if causal else "same", batchnorm=batchnorm, activation=activation,
                          order=order, initializer=initializer) for i in range(layers)]
        super().__init__(OrderedDict((f"dilation{2 ** i}", unit) for i, unit in enumerate(units)))

    def receptive_path(self) -> list[Step]:
        return [step for unit in self for step in unit.receptive_path()]


@register_module(receptive=_own_path)
class SeparableConv(nn.Module):
    """A depthwise conv (one filter per input channel) then a 1x1 pointwise conv mixing channels
    (Chollet 2017, Keras ``SeparableConv``): about ``kernel**2`` times fewer weights than a full conv.

    Args:
        in_channels: input channels.
        filters: output channels of the pointwise conv.
        kernel: the depthwise kernel, one int per spatial dim.
        stride: depthwise stride, one int per spatial dim.
        padding: ``same``, ``valid``, ``causal`` (1D) or ints, as for ``conv``.
        dilation: depthwise dilation, one int per spatial dim.
        depth_multiplier: depthwise filters per input channel.
        bias: a bias on the pointwise conv (Keras puts its single bias there).
        initializer: a Keras initializer name for both weights.

    Example:
        >>> import torch
        >>> SeparableConv(8, 16, (3, 3), padding="same")(torch.zeros(1, 8, 10, 10)).shape
        torch.Size([1, 16, 10, 10])
    """

    def __init__(self, in_channels: int, filters: int, kernel: tuple[int, ...], *, stride: tuple[int, ...] | None = None,
                 padding: str | tuple[int, ...] = "valid", dilation: tuple[int, ...] | None = None,
                 depth_multiplier: int = 1, bias: bool = True, initializer: str = "glorot_uniform") -> None:
        super().__init__()
        rank = len(kernel)
        self.stride = stride or (1,) * rank
        self.dilation = dilation or (1,) * rank
        middle = in_channels * depth_multiplier
        self.depthwise = make_conv(in_channels, middle, kernel, stride=self.stride, padding=padding,
                                   dilation=self.dilation, groups=in_channels, bias=False, initializer=initializer)
        self.pointwise = make_conv(middle, filters, (1,) * rank, padding="valid", bias=bias, initializer=initializer)
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L) or (N, C, H, W)
        return self.pointwise(self.depthwise(x))  # (N, filters, ...)

    def receptive_path(self) -> list[Step]:
        rank = len(self.kernel)
        return [(self.kernel, self.stride, self.dilation), ((1,) * rank, (1,) * rank, (1,) * rank)]


# ---------------------------------------------------------------------------------------------
# The config words

_UNIT_ARGS = {"activation": "relu", "order": "conv-bn-act", "initializer": "glorot_uniform"}


@register("inception", args={"filters": REQUIRED, "reduce": None, "kernels": [1, 3, 5], "batchnorm": False, **_UNIT_ARGS},
          shorthand="filters", example="- inception: {filters: 16}")
def build_inception(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    check_bool(args["batchnorm"], "batchnorm")
    block = Inception(shape[0], args["filters"], rank=spatial_rank(shape, "inception"), reduce=args["reduce"],
                      kernels=args["kernels"], batchnorm=args["batchnorm"], activation=args["activation"],
                      order=args["order"], initializer=args["initializer"])
    return block, probe(block, shape)


@register("residual", args={"filters": REQUIRED, "kernel": 3, "stride": 1, "bottleneck": False, **_UNIT_ARGS},
          shorthand="filters", example="- residual: {filters: 32, stride: 2}")
def build_residual(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    check_bool(args["bottleneck"], "bottleneck")
    block = Residual(shape[0], args["filters"], rank=spatial_rank(shape, "residual"), kernel=args["kernel"],
                     stride=args["stride"], bottleneck=args["bottleneck"], activation=args["activation"],
                     order=args["order"], initializer=args["initializer"])
    return block, probe(block, shape)


@register("dilated", args={"filters": REQUIRED, "kernel": 3, "layers": 4, "causal": False, "batchnorm": False,
                           **_UNIT_ARGS},
          shorthand="filters", example="- dilated: {filters: 32, kernel: 3, layers: 4}")
def build_dilated(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    check_bool(args["batchnorm"], "batchnorm")
    block = DilatedStack(shape[0], args["filters"], rank=spatial_rank(shape, "dilated"), kernel=args["kernel"],
                         layers=args["layers"], causal=args["causal"], activation=args["activation"],
                         batchnorm=args["batchnorm"], order=args["order"], initializer=args["initializer"])
    return block, probe(block, shape)


@register("separable", args={"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid", "dilation": 1,
                             "depth_multiplier": 1, "bias": None, "initializer": "glorot_uniform"},
          shorthand="filters", post_ops=True, example="- separable: {filters: 32, kernel: 3, activation: relu}")
def build_separable(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    filters, kernel, stride, dilation, padding = conv_geometry(args, shape, "separable")
    multiplier = positive_int(args["depth_multiplier"], "depth_multiplier")
    out = window_out_sizes(shape, kernel, stride, dilation, padding)
    block = SeparableConv(shape[0], filters, kernel, stride=stride, padding=padding, dilation=dilation,
                          depth_multiplier=multiplier, bias=True if args["bias"] is None else args["bias"],
                          initializer=args["initializer"])
    return block, (filters, *out)
