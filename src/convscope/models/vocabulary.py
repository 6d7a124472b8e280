"""The layer vocabulary: each config word (``conv``, ``maxpool``, ``dense`` ...) and how its arguments are read.

A word is registered with the arguments it takes (Keras' words, so a Keras user reads a convscope config
without a manual) in the file that builds it, one file per word family under ``models/layers/``; that
package is imported on first lookup, so a new word is one new file. Its constructor gets the checked
arguments and the input shape *without* the batch dimension — ``(C, L)`` for a signal, ``(C, H, W)`` for
an image, ``(F,)`` for a feature vector — and returns the module and its output shape. The same word builds
the 1D or the 2D module from the input's rank. What the *modules* tell the summary and the speed rewrites
(MACs, receptive field, fast-path support) is registered next to them in :mod:`convscope.models.module_traits`.

Example:
    >>> args = normalize_args("conv", {"filters": 8, "kernel_size": 4})
    >>> module, shape = get_layer("conv").build(args, (1, 28, 28))
    >>> type(module).__name__, shape
    ('Conv2d', (8, 25, 25))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from convscope.errors import BuildError
from convscope.models.activations import make_activation
from convscope.models.checks import Shape, check_order, did_you_mean
from convscope.registry import Registry

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
        >>> get_layer("maxpool").shorthand, get_layer("maxpool").args
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


LAYERS: Registry[LayerType] = Registry("layer", discover="convscope.models.layers", field="model.layers")


def register(word: str, *, args: dict[str, Any] | None = None, shorthand: str | None = None,
             post_ops: bool = False, example: str = "") -> Callable[[Builder], Builder]:
    """Register a constructor under a config word (decorator; used by the files of ``models/layers/``)."""

    def decorator(build: Builder) -> Builder:
        LAYERS.add(word, LayerType(word, build, dict(args or {}), shorthand, post_ops, example or f"- {word}"))
        return build

    return decorator


def get_layer(word: Any) -> LayerType:
    """The registered layer for ``word``; an unknown word raises a BuildError with a suggestion."""
    if not isinstance(word, str) or word not in LAYERS:
        known = LAYERS.names()
        raise BuildError(f"unknown layer '{word}'{did_you_mean(word, known)}", hint=f"known layers: {', '.join(known)}")
    return LAYERS.get(word)


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


def describe(word: str, args: dict[str, Any], shape: Shape) -> str:
    """A short label for error messages: ``conv 5x5, padding=valid``, ``maxpool 2x2, padding=valid``, ``dense``."""
    window = args.get("kernel" if word in ("conv", "separable") else "size")
    if word not in ("conv", "separable", "maxpool", "avgpool") or not isinstance(window, int | list):
        return word
    sizes = window if isinstance(window, list) else [window] * max(len(shape) - 1, 1)
    return f"{word} {'x'.join(str(v) for v in sizes)}, padding={args.get('padding', 'valid')}"
