"""A new layer type is one file: its word and its module's traits, registered where they are defined, reach the
builder, the summary (MACs, receptive field) and the speed rewrites (keep or decline the fast path).

This test file *is* that one file: it registers a moving-average layer the way ``models/layers/*.py`` do."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convscope.models import build_model, summary
from convscope.models.checks import Shape, positive_int
from convscope.models.module_traits import (
    as_image,
    is_conv,
    macs_of,
    register_module,
    same_module,
    traits_of,
)
from convscope.models.modules import CausalConv1d, SameConv1d, SameConv2d
from convscope.models.vocabulary import register
from convscope.train.speedups import signals_as_images, use_channels_last


class _MovingAverage(nn.Module):
    """Mean over ``size`` neighbours along the last dim (zero-padded to keep the length): the same on
    ``(N, C, L)`` as on ``(N, C, 1, L)``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, ..., L)
        padded = F.pad(x, (self.size // 2, self.size - 1 - self.size // 2))
        return padded.unfold(-1, self.size, 1).mean(dim=-1)  # (N, C, ..., L)


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    return out.numel() * module.size


def _steps(module: nn.Module, rank: int) -> list:
    return [((module.size,) * rank, (1,) * rank, (1,) * rank)]


@register_module(macs=_macs, receptive=_steps, as_image=same_module)
class MovingAverage(_MovingAverage):
    """Declares it runs unchanged on a signal laid out as an image."""


@register_module(macs=_macs, receptive=_steps)
class OpaqueMovingAverage(_MovingAverage):
    """Declares no ``as_image``: a model holding it must run the plain way."""


@register("test_moving_average", args={"size": 3}, shorthand="size", example="- test_moving_average: 5")
def build_moving_average(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return MovingAverage(positive_int(args["size"], "size")), shape


@register("test_opaque_moving_average", args={"size": 3}, shorthand="size")
def build_opaque(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    return OpaqueMovingAverage(positive_int(args["size"], "size")), shape


def _spec(word: str) -> list:
    return [{"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, {word: 5}, "flatten", {"dense": 2}]


def test_a_layer_registered_in_one_file_builds_and_is_summarised():
    net = build_model(_spec("test_moving_average"), (1, 32))
    assert [name for name, _ in net.layers.named_children()] == [
        "conv1", "relu1", "test_moving_average1", "flatten1", "dense1"]
    rows = {row.name: row for row in summary(net).rows}
    assert rows["test_moving_average1"].macs == 4 * 30 * 5  # its own MACs rule: outputs x window
    assert rows["conv1"].receptive_field == (3,)
    assert rows["test_moving_average1"].receptive_field == (3 + (5 - 1),)  # its own receptive step
    assert rows["flatten1"].receptive_field is None


def test_its_traits_keep_the_fast_path():
    torch.manual_seed(0)
    net = build_model(_spec("test_moving_average"), (1, 32)).eval()
    twin = signals_as_images(net)
    assert twin is not None
    assert use_channels_last(net, "auto", torch.device("cpu"))
    x = torch.randn(3, 1, 32)  # (N, C, L)
    torch.testing.assert_close(twin(x), net(x), rtol=1e-5, atol=1e-5)


def test_a_layer_without_the_trait_declines_the_fast_path():
    net = build_model(_spec("test_opaque_moving_average"), (1, 32))
    assert summary(net).rows[3].macs == 4 * 30 * 5  # the summary still knows it
    assert signals_as_images(net) is None
    assert not use_channels_last(net, "auto", torch.device("cpu"))


def test_an_unknown_word_suggests_the_registered_one():
    with pytest.raises(Exception, match="did you mean 'test_moving_average'"):
        build_model([{"test_moving_averag": 3}], (1, 32))


@pytest.mark.parametrize("module, conv", [
    (nn.Conv1d(1, 2, 3), True), (nn.Conv2d(1, 2, 3), True), (nn.Conv3d(1, 2, 3), True),
    (SameConv1d(1, 2, 3), True), (SameConv2d(1, 2, 3), True), (CausalConv1d(1, 2, 3), True),
    (nn.Linear(2, 2), False), (nn.MaxPool1d(2), False), (MovingAverage(3), False)])
def test_one_definition_of_a_convolution(module, conv):
    assert is_conv(module) is conv


def test_macs_are_inherited_but_the_fast_path_trait_is_not():
    same = SameConv1d(2, 4, 3)
    assert macs_of(same, torch.zeros(1, 4, 10)) == 4 * 10 * 2 * 3  # counted as the Conv1d it is
    assert as_image(same) is None  # its own forward pads: it must declare as_image itself
    assert as_image(nn.Conv1d(2, 4, 3)) is not None
    assert traits_of(OpaqueMovingAverage(3), exact=True).get("as_image") is None
