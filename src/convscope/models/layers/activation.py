"""The activation words (``- relu``, ``- leaky_relu: 0.2`` ...), one per entry of
:data:`convscope.models.activations.ACTIVATIONS`, and the activation modules' traits.

Example:
    >>> from convscope.models.vocabulary import get_layer
    >>> get_layer("leaky_relu").build({"negative_slope": 0.2}, (8, 100))[0]
    LeakyReLU(negative_slope=0.2)
"""

from __future__ import annotations

from typing import Any

from torch import nn

from convscope.errors import BuildError
from convscope.models.activations import ACTIVATIONS
from convscope.models.checks import Shape
from convscope.models.module_traits import add_module, same_module
from convscope.models.vocabulary import Builder, register


def _activation(word: str) -> Builder:
    def build(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
        return ACTIVATIONS.get(word)(), shape

    return build


for _entry in ACTIVATIONS.entries():
    if _entry.name != "leaky_relu":
        register(_entry.name)(_activation(_entry.name))


@register("leaky_relu", args={"negative_slope": 0.01}, shorthand="negative_slope", example="- leaky_relu: 0.2")
def build_leaky_relu(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    slope = args["negative_slope"]
    if isinstance(slope, bool) or not isinstance(slope, int | float) or slope < 0:
        raise BuildError(f"negative_slope must be a number >= 0, got {slope!r}")
    return nn.LeakyReLU(float(slope)), shape


# Element-wise, so a signal run as an image (N, C, 1, L) gets the same numbers. Softmax (over dim 1) is left
# out: convscope removes a final softmax from the forward pass, and a softmax elsewhere is rare.
for _elementwise in (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh):
    add_module(_elementwise, as_image=same_module)
