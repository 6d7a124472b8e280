"""Activation functions by name: the words a conv/dense's ``activation:`` takes and the layer words of the same name.

Each entry is a zero-argument factory of the module; every name here is also a layer word
(``- relu``), registered by ``models/layers/activation.py``. A new activation is one more
``ACTIVATIONS.add`` line (plus, for the speed rewrites, its module class in that file's trait list).

Example:
    >>> make_activation("softmax")
    Softmax(dim=1)
    >>> make_activation("linear") is None
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from convscope.errors import BuildError
from convscope.models.checks import did_you_mean
from convscope.registry import Registry

ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation")
ACTIVATIONS.add("relu", nn.ReLU)
ACTIVATIONS.add("tanh", nn.Tanh)
ACTIVATIONS.add("sigmoid", nn.Sigmoid)
ACTIVATIONS.add("softmax", lambda: nn.Softmax(dim=1))  # over channels/classes: Keras' last axis in channels-last layout
ACTIVATIONS.add("leaky_relu", nn.LeakyReLU)
ACTIVATIONS.add("elu", nn.ELU)
ACTIVATIONS.add("gelu", nn.GELU)


def make_activation(word: Any) -> nn.Module | None:
    """The activation module for a word; ``None``/``linear`` → no module."""
    if word is None or word == "linear":
        return None
    if not isinstance(word, str) or word not in ACTIVATIONS:
        names = ACTIVATIONS.names()
        raise BuildError(f"unknown activation '{word}'{did_you_mean(word, names)}",
                         hint=f"activations: {', '.join(names)} (or linear)")
    return ACTIVATIONS.get(word)()
