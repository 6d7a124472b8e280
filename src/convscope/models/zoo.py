"""Named model presets: a timm-style registry whose entries are data — one YAML file each in ``models/zoo/``.

A preset file declares the knobs a user may override and uses them as ``${name}``, the same syntax as a
config's ``params``::

    description: the seed notebook's first ConvNet
    reference: Keras mnist_cnn example
    input: [1, 28, 28]     # the shape it was designed for; the data's shape wins when there is data
    params:                # knob: default
      num_classes: 10
    layers:
      - conv: {filters: 8, kernel: 4, activation: relu}
      - ...
      - dense: {units: ${num_classes}, activation: softmax}

Every preset has a ``num_classes`` knob, so ``{preset: keras-mnist-cnn, num_classes: 2}`` fits a binary task.

Example:
    >>> "keras-mnist-cnn" in list_presets()
    True
    >>> load_preset("keras-mnist-cnn", num_classes=2)[-1]
    {'dense': {'units': 2, 'activation': 'softmax'}}
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from convscope.config import resolve_params
from convscope.errors import BuildError


@dataclass(frozen=True)
class Preset:
    """One zoo entry, as read from its YAML file.

    Args:
        name: the registry name (the file's stem), e.g. ``keras-mnist-cnn``.
        description: what the network is, in a line or two.
        reference: the paper, book chapter or notebook it follows.
        input_shape: the input it was designed for, ``(C, L)`` or ``(C, H, W)``.
        params: the knobs a user may override, with their defaults.
        layers: the layer list, ``${knob}`` references unresolved.

    Example:
        >>> get_preset("ecg-inception").input_shape
        (1, 1250)
    """

    name: str
    description: str
    reference: str
    input_shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    layers: list[Any] = field(default_factory=list)

    def layers_with(self, **overrides: Any) -> list[Any]:
        """The layer list with every ``${knob}`` replaced by its override or default."""
        for knob in overrides:
            if knob not in self.params:
                close = difflib.get_close_matches(knob, list(self.params), n=1)
                suggestion = f"; did you mean '{close[0]}'?" if close else ""
                raise BuildError(f"preset '{self.name}' has no knob '{knob}'{suggestion}",
                                 hint=f"its knobs: {', '.join(f'{k} (default {v})' for k, v in self.params.items())}")
        values = {**self.params, **overrides}
        return resolve_params(self.layers, values, path=f"preset {self.name}", source=f"zoo/{self.name}.yaml")


def _zoo_dir() -> resources.abc.Traversable:
    return resources.files(__package__).joinpath("zoo")


def list_presets() -> list[str]:
    """The names of every preset, sorted.

    Example:
        >>> list_presets()[:2]
        ['ecg-inception', 'ecg-resnet1d']
    """
    return sorted(entry.name.removesuffix(".yaml") for entry in _zoo_dir().iterdir() if entry.name.endswith(".yaml"))


@functools.cache
def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name raises a BuildError with the closest names."""
    names = list_presets()
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=1)
        suggestion = f"; did you mean '{close[0]}'?" if close else ""
        raise BuildError(f"unknown preset '{name}'{suggestion}", hint=f"presets: {', '.join(names)}")
    raw = yaml.safe_load(_zoo_dir().joinpath(f"{name}.yaml").read_text())
    return Preset(name=name, description=" ".join(str(raw.get("description", "")).split()),
                  reference=str(raw.get("reference", "")), input_shape=tuple(raw["input"]),
                  params=dict(raw.get("params") or {}), layers=list(raw["layers"]))


def load_preset(name: str, **overrides: Any) -> list[Any]:
    """The layer spec of a preset, its knobs set from ``overrides`` (unknown knobs are a BuildError).

    Args:
        name: a name from :func:`list_presets`.
        **overrides: knob values, e.g. ``num_classes=2`` or ``blocks=4``.

    Example:
        >>> load_preset("keras-mnist-mlp")[:2]
        ['flatten', {'dense': {'units': 20, 'activation': 'relu', 'initializer': 'normal'}}]
    """
    return get_preset(name).layers_with(**overrides)
