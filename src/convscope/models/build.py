"""From a layer spec (the ``model:`` section of a config) to a :class:`ConvNet`.

The builder walks the spec with the input's shape in hand: each word's constructor (one file per word family in
``models/layers/``) gets the shape that reaches it, so the user never computes ``in_features``, and a spec whose
shapes cannot work fails here, naming the layer, its input shape and a fix. Three rules a Keras user
should know:

- ``activation:`` and ``batchnorm:`` of a conv/dense become layers of their own (``conv1``, ``batchnorm1``,
  ``relu1``), so the summary shows them.
- A ``dense`` after a feature map gets an explicit ``flatten`` in front (Keras' Dense would instead act on
  the last axis of the map, a silent surprise); the summary shows that ``flatten`` too.
- A final ``softmax`` (or ``sigmoid`` on one output unit) is recorded in ``ConvNet.final_activation`` and
  *not* run by ``forward``, which returns logits: PyTorch's cross-entropy and BCE-with-logits apply it
  themselves, and applying it twice is a classic silent bug. ``predict_proba`` applies it.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from convscope.config import ModelConfig
from convscope.config_limits import Limits, env_name
from convscope.errors import BuildError
from convscope.inference.outputs import probabilities
from convscope.models.checks import Shape, did_you_mean, fmt_shape
from convscope.models.module_traits import register_module, same_module
from convscope.models.vocabulary import describe, expand_post_ops, get_layer, normalize_args
from convscope.models.zoo import get_preset

FINAL_ACTIVATIONS = ("softmax", "sigmoid")


@register_module(as_image=same_module)  # forward runs its layers in order: the speed rewrites may look inside
class ConvNet(nn.Module):
    """A network built from a spec: an ``nn.Sequential`` of named layers (``conv1``, ``relu1``, ``maxpool1`` ...).

    ``forward`` returns logits; a declared final softmax/sigmoid is kept in :attr:`final_activation` and
    applied by :meth:`predict_proba`.

    Args:
        layers: the named modules, in order.
        input_shape: one sample's shape, ``(C, L)``, ``(C, H, W)`` or ``(F,)``.
        output_shape: one sample's output shape.
        final_activation: ``"softmax"``, ``"sigmoid"`` or ``None``: what the spec applied to its outputs.
        spec: the expanded layer list, one ``{word: args}`` per module of ``layers``, then the final
            activation if there is one; ``build_model(net.spec, net.input_shape)`` rebuilds the same network.

    Example:
        >>> import torch
        >>> net = build_model([{"conv": {"filters": 4, "kernel": 3}}, "global_avg_pool",
        ...                    {"dense": {"units": 3, "activation": "softmax"}}], (1, 16, 16))
        >>> [name for name, _ in net.layers.named_children()], net.final_activation
        (['conv1', 'global_avg_pool1', 'dense1'], 'softmax')
        >>> net.predict_proba(torch.zeros(2, 1, 16, 16)).sum(dim=1)
        tensor([1., 1.])
    """

    def __init__(self, layers: OrderedDict[str, nn.Module], *, input_shape: Shape, output_shape: Shape,
                 final_activation: str | None = None, spec: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.layers = nn.Sequential(layers)
        self.input_shape = tuple(input_shape)
        self.output_shape = tuple(output_shape)
        self.final_activation = final_activation
        self.spec = spec or []

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, *input_shape)
        return self.layers(x)  # (N, *output_shape): logits when the spec ended in softmax/sigmoid

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(N, K)`` with K >= 2, in eval mode (dropout off, batchnorm running stats).

        A one-unit output is read as a sigmoid logit and returned as ``[1 - p, p]``; a K-unit output as
        softmax logits — whether or not the spec declared the activation.
        """
        if len(self.output_shape) != 1:
            raise ValueError(f"predict_proba needs a (N, K) output; this network outputs (N, "
                             f"{', '.join(map(str, self.output_shape))})")
        training = self.training
        self.eval()
        logits = self(x)  # (N, K)
        self.train(training)
        return probabilities(logits)  # (N, K>=2): the one rule every evaluation uses


def build_model(spec: list[Any] | dict[str, Any] | ModelConfig, input_shape: Sequence[int] | None = None, *,
                num_classes: int | None = None) -> ConvNet:
    """Build a :class:`ConvNet` from a layer spec.

    Args:
        spec: a list of layers; ``{layers: [...], input: [...]}``; ``{preset: NAME, ...knob overrides}``;
            or a :class:`~convscope.config.ModelConfig`. ``${param}`` references must already be resolved.
        input_shape: one sample's shape from the data, ``(C, L)``, ``(C, H, W)`` or ``(F,)``. ``None``: the
            spec's ``input`` (or the preset's design input).
        num_classes: the data's number of classes. A preset's ``num_classes`` knob takes it unless the user
            set the knob; a spec whose last dense has another width is a BuildError (a 1-unit output is
            accepted for 2 classes: a sigmoid/BCE head). A spec without a dense head is built as declared.

    Example:
        >>> net = build_model([{"conv": {"filters": 8, "kernel": 4, "activation": "relu"}},
        ...                    {"conv": {"filters": 8, "kernel": 4, "activation": "relu"}},
        ...                    {"maxpool": 2}, "flatten", {"dense": {"units": 128, "activation": "relu"}},
        ...                    {"dense": {"units": 10, "activation": "softmax"}}], (1, 28, 28))
        >>> sum(p.numel() for p in net.parameters())
        126490
    """
    items, declared, design, where = _resolve(spec, num_classes)
    input_shape = shape = _input_shape(input_shape, declared, design)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    built: list[SpecLayer] = []
    counts: dict[str, int] = {}

    def add(call: SpecLayer, shape: Shape) -> Shape:
        with _located(call, shape):
            module, out = get_layer(call.word).build(call.args, shape)
        counts[call.word] = counts.get(call.word, 0) + 1
        modules[f"{call.word}{counts[call.word]}"] = module
        built.append(call)
        return out

    for call in _expand(items, where):
        if call.word == "dense" and len(shape) > 1:
            shape = add(SpecLayer("flatten", {}, call.path, call.note), shape)
        shape = add(call, shape)

    final = _final_activation(built[-1] if built else None, shape)
    if final is not None:
        modules.popitem()
    dense = [call for call in built if call.word == "dense"]
    if num_classes is not None and dense and len(shape) == 1:
        _check_width(dense[-1], shape[0], num_classes)
    return ConvNet(modules, input_shape=input_shape, output_shape=shape, final_activation=final,
                   spec=[{call.word: call.args} for call in built])


# ---------------------------------------------------------------------------------------------
# Spec forms


def _resolve(spec: Any, num_classes: int | None) -> tuple[Any, Any, Shape | None, str]:
    """(layer items, the user's model.input, a preset's design input, the path for messages) of a spec."""
    if isinstance(spec, ModelConfig):
        spec = {**(spec.model_extra or {}), "input": spec.input, "layers": spec.layers, "preset": spec.preset}
        spec = {k: v for k, v in spec.items() if v is not None}
    if isinstance(spec, list):
        return spec, None, None, "model.layers"
    if not isinstance(spec, dict):
        raise BuildError(f"a model spec must be a list of layers, {{layers: [...]}} or {{preset: NAME}}; "
                         f"got {type(spec).__name__}")
    if "preset" in spec:
        if "layers" in spec:
            raise BuildError("model: give layers or a preset, not both",
                             hint="override a preset's knobs instead, e.g. {preset: vgg-small, dropout: 0.3}")
        preset = get_preset(spec["preset"])
        overrides = {k: v for k, v in spec.items() if k not in ("preset", "input")}
        if num_classes is not None and "num_classes" in preset.params:
            overrides.setdefault("num_classes", num_classes)
        return preset.layers_with(**overrides), spec.get("input"), preset.input_shape, f"preset {preset.name}: layers"
    unknown = [k for k in spec if k not in ("layers", "input")]
    if unknown:
        raise BuildError(f"model: unknown field '{unknown[0]}'{did_you_mean(unknown[0], ['layers', 'input', 'preset'])}",
                         hint="a model is {layers: [...], input: [...]} or {preset: NAME, ...knobs}")
    if "layers" not in spec:
        raise BuildError("model: layers is missing", hint="e.g. model: {layers: [{conv: {filters: 8, kernel: 3}}]}")
    return spec["layers"], spec.get("input"), None, "model.layers"


def _input_shape(given: Sequence[int] | None, declared: Any, design: Shape | None) -> Shape:
    """The data's shape, else the user's ``model.input``, else the preset's design input."""
    data = None if given is None else _as_shape(given)
    user = None if declared is None else _as_shape(declared)
    if data is not None and user is not None and data != user:
        raise BuildError(f"model.input {fmt_shape(user)} does not match the data's input {fmt_shape(data)}",
                         hint="remove model.input (it is taken from the data) or fix it")
    shape = data or user or design
    if shape is None:
        raise BuildError("the input shape is unknown", hint="pass input_shape, or set model.input: [C, H, W] or [C, L]")
    return shape


def _as_shape(value: Any) -> Shape:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise BuildError(f"input shape must be positive integers (C, L), (C, H, W) or (F,), got {value!r}")
    if len(value) > 3:
        raise BuildError(f"input {fmt_shape(tuple(value))} has {len(value)} dims; convscope builds (C, L) signals, "
                         f"(C, H, W) images and (F,) feature vectors", hint="drop the batch dimension if it is there")
    return tuple(value)


# ---------------------------------------------------------------------------------------------
# Items → calls: shorthands, repeat, post-ops


@dataclass
class SpecLayer:
    """One layer of the expanded spec: its word, its checked arguments and where the user wrote it."""

    word: str
    args: dict[str, Any]
    path: str  # where the user wrote it: model.layers[0].layers[2]
    note: str = ""  # "repeat 2 of 3" inside a repeat


@contextmanager
def _located(call: SpecLayer, shape: Shape | None = None):
    """Prefix a BuildError from a constructor with where it happened: ``model.layers[4] (conv 5x5, padding=valid)``."""
    try:
        yield
    except BuildError as exc:
        label = ", ".join(x for x in (describe(call.word, call.args, shape or ()), call.note) if x)
        raise BuildError(f"{call.path} ({label}): {exc.message}", hint=exc.hint) from None
    except (RuntimeError, ValueError) as exc:  # a registered constructor that let torch fail
        label = ", ".join(x for x in (call.word, call.note) if x)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BuildError(f"{call.path} ({label}): input {fmt_shape(shape or ())} does not fit: {first}") from None


def _expand(items: Any, path: str) -> list[SpecLayer]:
    if not isinstance(items, list):
        raise BuildError(f"{path} must be a list of layers, got {type(items).__name__}",
                         hint="e.g. layers: [{conv: {filters: 8, kernel: 3}}, relu, flatten, {dense: 10}]")
    calls: list[SpecLayer] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if isinstance(item, dict) and "repeat" in item:
            times, group = _repeat(item, where)
            inner = _expand(group, f"{where}.layers")  # checked once, even for repeat: 0
            _check_layer_count(len(calls) + times * len(inner), where)  # before `repeat: 1000000` is copied out
            for r in range(times):
                note = f"repeat {r + 1} of {times}"
                calls += [SpecLayer(c.word, copy.deepcopy(c.args), c.path, f"{c.note}, {note}" if c.note else note)
                          for c in inner]
        else:
            calls += _parse(item, where)
    return calls


def _check_layer_count(count: int, where: str) -> None:
    """A BuildError when the expanded spec would hold more layers than ``CONVSCOPE_MAX_LAYERS`` allows."""
    bound = Limits.from_env().layers
    if bound and count > bound:
        raise BuildError(f"{where} (repeat): the model would have {count:,} layers, over the limit of {bound:,}",
                         hint=f"lower repeat:, or raise {env_name('layers')}")


def _repeat(item: dict[str, Any], where: str) -> tuple[int, list[Any]]:
    for key in item:
        if key not in ("repeat", "layers"):
            raise BuildError(f"{where} (repeat): unknown field '{key}'{did_you_mean(key, ['layers'])}",
                             hint="a repeat is {repeat: N, layers: [...]}")
    times = item["repeat"]
    if isinstance(times, bool) or not isinstance(times, int) or times < 0:
        raise BuildError(f"{where} (repeat): repeat must be an integer >= 0, got {times!r}")
    if "layers" not in item:
        raise BuildError(f"{where} (repeat): the layers to repeat are missing",
                         hint="e.g. {repeat: 2, layers: [{conv: {filters: 8, kernel: 3}}, {maxpool: 2}]}")
    return times, item["layers"]


def _parse(item: Any, where: str) -> list[SpecLayer]:
    """One list item → one call, or several when a conv/dense carries activation/batchnorm."""
    if isinstance(item, str):
        word, value, extra = item.strip(), None, {}
    elif isinstance(item, dict) and item:
        word, value = next(iter(item.items()))
        extra = {k: v for k, v in item.items() if k != word}
    else:
        raise BuildError(f"{where}: expected a layer such as '- relu' or '- conv: {{filters: 8, kernel: 3}}', "
                         f"got {item!r}")
    call = SpecLayer(str(word), {}, where)
    with _located(call):
        layer = get_layer(word)
        if value is None:
            args = {}
        elif isinstance(value, dict):
            args = dict(value)
        elif layer.shorthand is not None:
            args = {layer.shorthand: value}
        else:
            raise BuildError(f"{word} takes no value (got {value!r})", hint=f"write '- {word}'")
        for key in extra:
            if key in args:
                raise BuildError(f"'{key}' is given twice")
        args = normalize_args(word, {**args, **extra})
        call.args = args
        pieces = expand_post_ops(word, args) if layer.post_ops else [(word, args)]
    return [SpecLayer(w, a, where) for w, a in pieces]


# ---------------------------------------------------------------------------------------------
# The head


def _final_activation(last: SpecLayer | None, shape: Shape) -> str | None:
    """``softmax``/``sigmoid`` when the spec ends with it on a class vector (then it leaves the forward graph)."""
    if last is None or len(shape) != 1 or last.word not in FINAL_ACTIVATIONS:
        return None
    word, k, where = last.word, shape[0], last.path
    if word == "softmax" and k == 1:
        raise BuildError(f"{where}: the network ends in a softmax over 1 unit, which is always 1.0",
                         hint="for a binary task use dense: {units: 1, activation: sigmoid} (loss: bce), "
                              "or dense: {units: 2, activation: softmax}")
    if word == "sigmoid" and k > 1:
        raise BuildError(f"{where}: the network ends in a sigmoid over {k} units, which scores each class on its "
                         f"own (multi-label); convscope trains one label per sample",
                         hint=f"use activation: softmax for {k} classes, or dense: {{units: 1, activation: sigmoid}} "
                              f"for a binary task")
    return word


def _check_width(dense: SpecLayer, units: int, num_classes: int) -> None:
    if units == num_classes or (units == 1 and num_classes == 2):
        return
    raise BuildError(f"{dense.path} (dense {units}): the network outputs {units} units but the data has "
                     f"{num_classes} classes",
                     hint=f"end with dense: {{units: {num_classes}, activation: softmax}}"
                          + (" (or units: 1 with activation: sigmoid)" if num_classes == 2 else "")
                          + "; a preset takes num_classes: N")

