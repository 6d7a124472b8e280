"""Models: layer specs → PyTorch networks (1D signals and 2D images), the zoo of presets, and summaries.

Example:
    >>> from convscope.models import build_model, summary
    >>> net = build_model({"preset": "keras-mnist-cnn"})
    >>> summary(net).params
    126490
"""

from convscope.models.build import ConvNet, build_model
from convscope.models.summary import Summary, summary
from convscope.models.zoo import Preset, get_preset, list_presets, load_preset

__all__ = ["ConvNet", "Preset", "Summary", "build_model", "get_preset", "list_presets", "load_preset", "summary"]
