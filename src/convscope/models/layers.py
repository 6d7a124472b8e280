"""The layer vocabulary: a config word (``conv``, ``maxpool``, ``dense`` ...) and the PyTorch module it builds.

Each word is registered with the arguments it takes (Keras' words, so a Keras user reads a convscope config
without a manual). Its constructor gets the checked arguments and the input shape *without* the batch
dimension — ``(C, L)`` for a signal, ``(C, H, W)`` for an image, ``(F,)`` for a feature vector — and returns
the module and its output shape. The same word builds the 1D or the 2D module from the input's rank.

Example:
    >>> args = normalize_args("conv", {"filters": 8, "kernel_size": 4})
    >>> module, shape = LAYERS["conv"].build(args, (1, 28, 28))
    >>> type(module).__name__, shape
    ('Conv2d', (8, 25, 25))
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import BuildError

Shape = tuple[int, ...]
Builder = Callable[[dict[str, Any], Shape], tuple[nn.Module, Shape]]


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()  # the default of an argument the user must give

# Keras' long argument names, accepted wherever the short word is an argument of the layer.
ALIASES = {
    "kernel_size": "kernel",
    "strides": "stride",
    "pool_size": "size",
    "dilation_rate": "dilation",
    "kernel_initializer": "initializer",
    "use_bias": "bias",
    "alpha": "negative_slope",
}

ORDERS = ("conv-bn-act", "conv-act-bn")  # where batchnorm goes relative to the activation
POST_OPS = {"activation": None, "batchnorm": False, "order": "conv-bn-act"}


@dataclass(frozen=True)
class LayerType:
    """One config word: its constructor and the arguments it accepts.

    Args:
        word: the config word, e.g. ``conv``.
        build: ``(args, input_shape) -> (module, output_shape)``; shapes exclude the batch dimension.
        args: argument name → default (:data:`REQUIRED` when the user must give it).
        shorthand: the argument a bare value fills: ``- maxpool: 2`` means ``size: 2``.
        post_ops: the word also takes ``activation``, ``batchnorm`` and ``order``; they become layers of
            their own after it (so a summary shows them and a final ``softmax`` can be recognised).
        example: a correct use, quoted in error hints.

    Example:
        >>> LAYERS["maxpool"].shorthand, LAYERS["maxpool"].args
        ('size', {'size': 2, 'stride': None, 'padding': 'valid'})
    """

    word: str
    build: Builder
    args: dict[str, Any] = field(default_factory=dict)
    shorthand: str | None = None
    post_ops: bool = False
    example: str = ""

    @property
    def accepted(self) -> dict[str, Any]:
        return {**self.args, **POST_OPS} if self.post_ops else dict(self.args)


LAYERS: dict[str, LayerType] = {}


def register(word: str, *, args: dict[str, Any] | None = None, shorthand: str | None = None,
             post_ops: bool = False, example: str = "") -> Callable[[Builder], Builder]:
    """Register a constructor under a config word (used by this module and by ``blocks.py``)."""

    def decorator(build: Builder) -> Builder:
        LAYERS[word] = LayerType(word, build, dict(args or {}), shorthand, post_ops, example or f"- {word}")
        return build

    return decorator


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def fmt_shape(shape: Shape) -> str:
    return str(tuple(shape))


def get_layer(word: Any) -> LayerType:
    """The registered layer for ``word``; an unknown word raises a BuildError with a suggestion."""
    if not isinstance(word, str) or word not in LAYERS:
        raise BuildError(f"unknown layer '{word}'{did_you_mean(word, sorted(LAYERS))}",
                         hint=f"known layers: {', '.join(sorted(LAYERS))}")
    return LAYERS[word]


def normalize_args(word: str, given: dict[str, Any]) -> dict[str, Any]:
    """Map Keras aliases to convscope's words, reject unknown arguments, fill defaults.

    Example:
        >>> normalize_args("maxpool", {"pool_size": 3})
        {'size': 3, 'stride': None, 'padding': 'valid'}
    """
    layer = get_layer(word)
    accepted = layer.accepted
    args: dict[str, Any] = {}
    written: dict[str, str] = {}  # canonical name → the key the user wrote
    for key, value in given.items():
        name = ALIASES.get(key, key) if ALIASES.get(key) in accepted else key
        if name not in accepted:
            known = list(accepted) + [alias for alias, target in ALIASES.items() if target in accepted]
            raise BuildError(f"unknown argument '{key}'{did_you_mean(key, known)}",
                             hint=f"{word} takes: {', '.join(accepted) or 'no arguments'}")
        if name in args:
            raise BuildError(f"'{written[name]}' and '{key}' are the same argument; give it once")
        args[name], written[name] = value, key
    for name, default in accepted.items():
        if name not in args:
            if default is REQUIRED:
                raise BuildError(f"missing required argument '{name}'", hint=f"e.g. {layer.example}")
            args[name] = default
    return args


def expand_post_ops(word: str, args: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Split ``activation``/``batchnorm``/``order`` off a conv/dense into layers of their own.

    ``{conv, batchnorm: true, activation: relu}`` → conv (no bias: the batchnorm's shift replaces it),
    batchnorm, relu; with ``order: conv-act-bn`` → conv (with bias), relu, batchnorm.

    Example:
        >>> [w for w, _ in expand_post_ops("dense", normalize_args("dense", {"units": 10, "activation": "softmax"}))]
        ['dense', 'softmax']
    """
    args = dict(args)
    activation, batchnorm, order = args.pop("activation"), args.pop("batchnorm"), args.pop("order")
    make_activation(activation)  # an unknown word fails here, with a suggestion
    if not isinstance(batchnorm, bool):
        raise BuildError(f"batchnorm must be true or false, got {batchnorm!r}")
    check_order(order)
    if args["bias"] is None:
        args["bias"] = not (batchnorm and order == "conv-bn-act")
    if not isinstance(args["bias"], bool):
        raise BuildError(f"bias must be true or false, got {args['bias']!r}")
    norm = [("batchnorm", {})] if batchnorm else []
    act = [(activation, {})] if activation not in (None, "linear") else []
    return [(word, args), *(norm + act if order == "conv-bn-act" else act + norm)]


def check_order(order: Any) -> str:
    if order not in ORDERS:
        raise BuildError(f"order must be one of {', '.join(ORDERS)}, got {order!r}{did_you_mean(order, ORDERS)}")
    return order


def describe(word: str, args: dict[str, Any], shape: Shape) -> str:
    """A short label for error messages: ``conv 5x5, padding=valid``, ``maxpool 2x2, padding=valid``, ``dense``."""
    window = args.get("kernel" if word in ("conv", "separable") else "size")
    if word not in ("conv", "separable", "maxpool", "avgpool") or not isinstance(window, int | list):
        return word
    sizes = window if isinstance(window, list) else [window] * max(len(shape) - 1, 1)
    return f"{word} {'x'.join(str(v) for v in sizes)}, padding={args.get('padding', 'valid')}"


# ---------------------------------------------------------------------------------------------
# Argument checks shared by layers and blocks


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BuildError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


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


# ---------------------------------------------------------------------------------------------
# Modules PyTorch lacks: Keras 'same' padding that may be asymmetric, causal padding, global pools


def same_pads(sizes: Shape, kernel: Shape, stride: Shape, dilation: Shape) -> list[int]:
    """``F.pad`` amounts (last dim first) for Keras/TF 'same': out = ceil(in / stride), odd pixel at the end."""
    pads: list[int] = []
    for n, k, s, d in reversed(list(zip(sizes, kernel, stride, dilation, strict=True))):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


class _SamePadding:
    """Pads like Keras' ``padding='same'`` before the conv/pool; PyTorch's own ``padding='same'`` refuses stride > 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = tuple(x.shape[2:])
        rank = len(sizes)
        pads = same_pads(sizes, _nd(self.kernel_size, rank), _nd(self.stride, rank),
                         _nd(getattr(self, "dilation", 1), rank))
        return super().forward(F.pad(x, pads, value=self.pad_value))


class SameConv1d(_SamePadding, nn.Conv1d):
    """Conv1d with Keras 'same' padding for any stride or kernel: ``(N, C, L)`` → ``(N, C', ceil(L / stride))``."""

    pad_value = 0.0


class SameConv2d(_SamePadding, nn.Conv2d):
    """Conv2d with Keras 'same' padding for any stride or kernel."""

    pad_value = 0.0


class SameMaxPool1d(_SamePadding, nn.MaxPool1d):
    """MaxPool1d with Keras 'same' padding."""

    pad_value = -math.inf  # a padded cell never wins the max, as in Keras


class SameMaxPool2d(_SamePadding, nn.MaxPool2d):
    """MaxPool2d with Keras 'same' padding."""

    pad_value = -math.inf


class _SameAvgPool:
    """Keras averages only the real cells of a window that hangs over the edge: divide by their count."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes = tuple(x.shape[2:])
        rank = len(sizes)
        pads = same_pads(sizes, _nd(self.kernel_size, rank), _nd(self.stride, rank), (1,) * rank)
        total = super().forward(F.pad(x, pads))
        real = super().forward(F.pad(torch.ones_like(x[:1, :1]), pads))  # fraction of real cells per window
        return total / real


class SameAvgPool1d(_SameAvgPool, nn.AvgPool1d):
    """AvgPool1d with Keras 'same' padding (padded cells do not count)."""


class SameAvgPool2d(_SameAvgPool, nn.AvgPool2d):
    """AvgPool2d with Keras 'same' padding (padded cells do not count)."""


class CausalConv1d(nn.Conv1d):
    """A 1D conv whose output at time t sees only inputs <= t (WaveNet; Keras ``padding='causal'``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L)
        left = (self.kernel_size[0] - 1) * self.dilation[0]
        return super().forward(F.pad(x, [left, 0]))  # (N, C', L) for stride 1


class GlobalAvgPool(nn.Module):
    """Mean over every spatial position: ``(N, C, L)`` or ``(N, C, H, W)`` → ``(N, C)`` (Network-in-Network)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=tuple(range(2, x.ndim)))  # (N, C)


class GlobalMaxPool(nn.Module):
    """Max over every spatial position: ``(N, C, L)`` or ``(N, C, H, W)`` → ``(N, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=tuple(range(2, x.ndim)))  # (N, C)


def _nd(value: int | tuple[int, ...], rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,) * rank


# ---------------------------------------------------------------------------------------------
# Initializers: Keras' definitions, so a model ported from a Keras notebook starts from the same distribution


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    receptive = math.prod(weight.shape[2:])  # conv: kernel cells; dense: 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def _variance_scaling(weight: torch.Tensor, *, mode: str, distribution: str, scale: float) -> None:
    fan_in, fan_out = _fans(weight)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / n)
        nn.init.uniform_(weight, -limit, limit)
    else:
        # Keras draws from a normal truncated at 2 std, widened so the kept part still has the target std.
        std = math.sqrt(scale / n) / 0.87962566103423978
        nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)


INITIALIZERS: dict[str, Callable[[torch.Tensor], Any]] = {
    "glorot_uniform": lambda w: _variance_scaling(w, mode="fan_avg", distribution="uniform", scale=1.0),
    "glorot_normal": lambda w: _variance_scaling(w, mode="fan_avg", distribution="normal", scale=1.0),
    "he_normal": lambda w: _variance_scaling(w, mode="fan_in", distribution="normal", scale=2.0),
    "he_uniform": lambda w: _variance_scaling(w, mode="fan_in", distribution="uniform", scale=2.0),
    "normal": lambda w: nn.init.normal_(w, 0.0, 0.05),  # Keras' kernel_initializer='normal': RandomNormal(0, 0.05)
    "zeros": nn.init.zeros_,
}


def initialize(module: nn.Module, initializer: Any) -> nn.Module:
    """Draw ``module.weight`` from a Keras initializer; biases start at zero (Keras' default)."""
    if initializer not in INITIALIZERS:
        raise BuildError(f"unknown initializer '{initializer}'{did_you_mean(initializer, list(INITIALIZERS))}",
                         hint=f"initializers: {', '.join(INITIALIZERS)}")
    with torch.no_grad():
        INITIALIZERS[initializer](module.weight)
        if module.bias is not None:
            module.bias.zero_()
    return module


# ---------------------------------------------------------------------------------------------
# Factories shared with blocks.py

CONV = {1: nn.Conv1d, 2: nn.Conv2d}
SAME_CONV = {1: SameConv1d, 2: SameConv2d}
BATCHNORM = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}


def make_conv(in_channels: int, out_channels: int, kernel: tuple[int, ...], *, stride: tuple[int, ...] | None = None,
              padding: str | tuple[int, ...] = "same", dilation: tuple[int, ...] | None = None, groups: int = 1,
              bias: bool = True, initializer: str = "glorot_uniform") -> nn.Module:
    """A Conv1d/Conv2d (rank = ``len(kernel)``) with Keras padding semantics and a Keras initializer."""
    rank = len(kernel)
    stride = stride or (1,) * rank
    dilation = dilation or (1,) * rank
    kwargs = dict(stride=stride, dilation=dilation, groups=groups, bias=bias)
    if padding == "causal":
        conv = CausalConv1d(in_channels, out_channels, kernel, **kwargs)
    elif padding == "same":
        totals = [(k - 1) * d for k, d in zip(kernel, dilation, strict=True)]
        if all(s == 1 for s in stride) and all(t % 2 == 0 for t in totals):
            conv = CONV[rank](in_channels, out_channels, kernel, padding=tuple(t // 2 for t in totals), **kwargs)
        else:  # even kernel or stride > 1: the extra pad goes at the end, as in Keras/TF
            conv = SAME_CONV[rank](in_channels, out_channels, kernel, **kwargs)
    else:
        conv = CONV[rank](in_channels, out_channels, kernel, padding=0 if padding == "valid" else padding, **kwargs)
    return initialize(conv, initializer)


def make_pool(kind: str, size: tuple[int, ...], *, stride: tuple[int, ...], padding: str | tuple[int, ...]) -> nn.Module:
    """A max/avg pool (rank = ``len(size)``) with Keras padding semantics."""
    rank = len(size)
    plain = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}
    same = {("max", 1): SameMaxPool1d, ("max", 2): SameMaxPool2d, ("avg", 1): SameAvgPool1d, ("avg", 2): SameAvgPool2d}
    if padding == "same":
        if all(s == 1 for s in stride) and all(k % 2 == 1 for k in size):
            pad = tuple((k - 1) // 2 for k in size)
            extra = {"count_include_pad": False} if kind == "avg" else {}  # Keras averages real cells only
            return plain[kind, rank](size, stride, padding=pad, **extra)
        return same[kind, rank](size, stride)
    pad = (0,) * rank if padding == "valid" else padding
    if any(2 * p > k for p, k in zip(pad, size, strict=True)):
        raise BuildError(f"padding {list(pad)} is more than half the pool size {list(size)}; "
                         f"use padding: same, or a smaller padding")
    return plain[kind, rank](size, stride, padding=pad)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softmax": lambda: nn.Softmax(dim=1),  # over channels/classes: Keras' last axis in channels-last layout
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def make_activation(word: Any) -> nn.Module | None:
    """The activation module for a word; ``None``/``linear`` → no module."""
    if word is None or word == "linear":
        return None
    if not isinstance(word, str) or word not in ACTIVATIONS:
        raise BuildError(f"unknown activation '{word}'{did_you_mean(word, list(ACTIVATIONS))}",
                         hint=f"activations: {', '.join(ACTIVATIONS)} (or linear)")
    return ACTIVATIONS[word]()


# ---------------------------------------------------------------------------------------------
# The words


def conv_geometry(args: dict[str, Any], shape: Shape, word: str) -> tuple[int, tuple[int, ...], tuple[int, ...],
                                                                         tuple[int, ...], str | tuple[int, ...]]:
    """The checked (filters, kernel, stride, dilation, padding) of a convolution-like word on ``shape``."""
    spatial_rank(shape, word)
    filters = positive_int(args["filters"], "filters")
    kernel = per_dim(args["kernel"], "kernel", shape)
    stride = per_dim(args["stride"], "stride", shape)
    dilation = per_dim(args["dilation"], "dilation", shape)
    return filters, kernel, stride, dilation, check_padding(args["padding"], shape)


@register("conv", args={"filters": REQUIRED, "kernel": REQUIRED, "stride": 1, "padding": "valid", "dilation": 1,
                        "groups": 1, "bias": None, "initializer": "glorot_uniform"},
          shorthand="filters", post_ops=True, example="- conv: {filters: 8, kernel: 3, activation: relu}")
def build_conv(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    filters, kernel, stride, dilation, padding = conv_geometry(args, shape, "conv")
    groups = positive_int(args["groups"], "groups")
    if shape[0] % groups or filters % groups:
        raise BuildError(f"groups: {groups} must divide both the input channels ({shape[0]}) and filters ({filters})")
    out = window_out_sizes(shape, kernel, stride, dilation, padding)
    bias = True if args["bias"] is None else args["bias"]
    conv = make_conv(shape[0], filters, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                     bias=bias, initializer=args["initializer"])
    return conv, (filters, *out)


def _pool(kind: str) -> Builder:
    def build(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
        spatial_rank(shape, f"{kind}pool")
        size = per_dim(args["size"], "size", shape)
        stride = size if args["stride"] is None else per_dim(args["stride"], "stride", shape)
        padding = check_padding(args["padding"], shape, causal_ok=False)
        out = window_out_sizes(shape, size, stride, (1,) * len(size), padding, what="pool window")
        return make_pool(kind, size, stride=stride, padding=padding), (shape[0], *out)

    return build


for _kind in ("max", "avg"):
    register(f"{_kind}pool", args={"size": 2, "stride": None, "padding": "valid"}, shorthand="size",
             example=f"- {_kind}pool: 2")(_pool(_kind))


@register("dense", args={"units": REQUIRED, "bias": None, "initializer": "glorot_uniform"}, shorthand="units",
          post_ops=True, example="- dense: {units: 128, activation: relu}")
def build_dense(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    """Needs a flat ``(F,)`` input: the builder inserts a ``flatten`` before a dense that follows a map."""
    units = positive_int(args["units"], "units")
    bias = True if args["bias"] is None else args["bias"]
    return initialize(nn.Linear(shape[0], units, bias=bias), args["initializer"]), (units,)


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise BuildError(f"rate must be a number in [0, 1), got {value!r}", hint="e.g. - dropout: 0.5")
    return float(value)


@register("dropout", args={"rate": REQUIRED}, shorthand="rate", example="- dropout: 0.5")
def build_dropout(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return nn.Dropout(_rate(args["rate"])), shape


@register("spatial_dropout", args={"rate": REQUIRED}, shorthand="rate", example="- spatial_dropout: 0.2")
def build_spatial_dropout(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    """Drops whole channels: neighbouring cells of a feature map are correlated, so dropping single cells
    barely regularises a conv layer (Tompson et al. 2015)."""
    rank = spatial_rank(shape, "spatial_dropout")
    return (nn.Dropout1d if rank == 1 else nn.Dropout2d)(_rate(args["rate"])), shape


@register("batchnorm")
def build_batchnorm(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    """BatchNorm1d over features ``(F,)`` or signal channels ``(C, L)``; BatchNorm2d over image channels.

    PyTorch's defaults (momentum 0.1, eps 1e-5) rather than Keras' (momentum 0.99, i.e. 0.01 here, eps 1e-3).
    """
    return BATCHNORM[len(shape) - 1](shape[0]), shape


@register("flatten")
def build_flatten(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return nn.Flatten(), (math.prod(shape),)


@register("global_avg_pool")
def build_global_avg_pool(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    spatial_rank(shape, "global_avg_pool")
    return GlobalAvgPool(), (shape[0],)


@register("global_max_pool")
def build_global_max_pool(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    spatial_rank(shape, "global_max_pool")
    return GlobalMaxPool(), (shape[0],)


def _activation(word: str) -> Builder:
    def build(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
        return ACTIVATIONS[word](), shape

    return build


for _word in ACTIVATIONS:
    if _word != "leaky_relu":
        register(_word)(_activation(_word))


@register("leaky_relu", args={"negative_slope": 0.01}, shorthand="negative_slope", example="- leaky_relu: 0.2")
def build_leaky_relu(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    slope = args["negative_slope"]
    if isinstance(slope, bool) or not isinstance(slope, int | float) or slope < 0:
        raise BuildError(f"negative_slope must be a number >= 0, got {slope!r}")
    return nn.LeakyReLU(float(slope)), shape


def probe(module: nn.Module, shape: Shape) -> Shape:
    """Output shape of ``module`` on a zero batch of one (eval mode: batchnorm statistics stay untouched)."""
    training = module.training
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(1, *shape))
    module.train(training)
    return tuple(out.shape[1:])
