"""Blocks in 1D and 2D: output shapes, gradients to every parameter, and the papers' parameter counts."""

from __future__ import annotations

import math

import pytest
import torch

from convscope.errors import BuildError
from convscope.models import build_model
from convscope.models.layers.blocks import DilatedStack, Inception, Residual


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# (block spec, out channels, spatial size → out size)
BLOCKS = {
    "inception": ({"inception": {"filters": 3}}, 12, lambda n: n),
    "inception-bn-dict": ({"inception": {"filters": {"b1": 2, "b3": 4, "b5": 1, "pool": 3}, "reduce": {"b3": 2, "b5": 1},
                                         "kernels": [1, 4, 7], "batchnorm": True}}, 10, lambda n: n),
    "residual": ({"residual": {"filters": 4}}, 4, lambda n: n),
    "residual-stride": ({"residual": {"filters": 6, "stride": 2}}, 6, lambda n: math.ceil(n / 2)),
    "residual-bottleneck": ({"residual": {"filters": 2, "bottleneck": True, "stride": 2}}, 8,
                            lambda n: math.ceil(n / 2)),
    "dilated": ({"dilated": {"filters": 5, "layers": 3, "batchnorm": True, "order": "conv-act-bn"}}, 5, lambda n: n),
    "separable": ({"separable": {"filters": 7, "kernel": 3, "activation": "relu"}}, 7, lambda n: n - 2),
    "separable-same-stride": ({"separable": {"filters": 7, "kernel": 4, "stride": 2, "padding": "same"}}, 7,
                              lambda n: math.ceil(n / 2)),
}
SHAPES = [(3, 17), (3, 32), (3, 9, 11), (3, 16, 16)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(BLOCKS))
def test_block_shapes_and_gradients_in_1d_and_2d(name, shape):
    spec, channels, size = BLOCKS[name]
    torch.manual_seed(0)
    net = build_model([spec], shape)
    expected = (channels, *(size(n) for n in shape[1:]))
    assert net.output_shape == expected
    out = net(torch.randn(2, *shape))
    assert out.shape == (2, *expected)
    (out * torch.randn_like(out)).sum().backward()  # a random projection: batchnorm cannot zero its gradient
    for param_name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, param_name


def test_inception_has_4f_channels_and_the_papers_parameter_count():
    f, c = 8, 5
    block = Inception(c, f, rank=2)
    assert block(torch.zeros(1, c, 12, 12)).shape == (1, 4 * f, 12, 12)
    one = c * f + f  # a 1x1 conv from the input: weights + biases
    expected = one + (one + f * f * 9 + f) + (one + f * f * 25 + f) + one  # b1, reduce→3x3, reduce→5x5, pool→1x1
    assert n_params(block) == expected == 2_384
    assert n_params(Inception(c, f, rank=1)) == one + (one + f * f * 3 + f) + (one + f * f * 5 + f) + one


def test_inception_3a_matches_googlenets_table():
    # GoogLeNet Table 1, inception (3a): 192 in; #1x1 64, #3x3 reduce 96, #3x3 128, #5x5 reduce 16, #5x5 32,
    # pool proj 32 → 256 channels, "159K" params (the paper counts weights only, K = 1024)
    net = build_model([{"inception": {"filters": {"b1": 64, "b3": 128, "b5": 32, "pool": 32},
                                      "reduce": {"b3": 96, "b5": 16}}}], (192, 28, 28))
    weights = 192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32
    biases = 64 + 96 + 128 + 16 + 32 + 32
    assert net.output_shape == (256, 28, 28)
    assert n_params(net) == weights + biases and weights // 1024 == 159


def test_inception_bad_towers_say_which():
    with pytest.raises(BuildError, match=r"model.layers\[0\] \(inception\): filters has no tower 'poll'; did you "
                                         r"mean 'pool'\?"):
        build_model([{"inception": {"filters": {"b1": 2, "b3": 2, "b5": 2, "poll": 2}}}], (1, 8, 8))
    with pytest.raises(BuildError, match="filters is missing tower.s. b5, pool"):
        build_model([{"inception": {"filters": {"b1": 2, "b3": 2}}}], (1, 8, 8))
    with pytest.raises(BuildError, match="kernels must list the b1, b3 and b5 tower kernels"):
        build_model([{"inception": {"filters": 2, "kernels": [3, 5]}}], (1, 8, 8))


def test_residual_projects_the_shortcut_only_when_shape_changes():
    c, f, k = 8, 8, 3
    same = Residual(c, f, rank=2)
    assert isinstance(same.shortcut, torch.nn.Identity)
    # two convs without bias (each followed by batchnorm) + two batchnorms
    assert n_params(same) == c * f * k * k + 2 * f + f * f * k * k + 2 * f
    wider = Residual(c, 16, rank=2)
    assert n_params(wider) == c * 16 * 9 + 32 + 16 * 16 * 9 + 32 + (c * 16 + 32)  # + 1x1 projection and its BN
    strided = Residual(c, f, rank=1, stride=2)
    assert not isinstance(strided.shortcut, torch.nn.Identity)
    assert strided(torch.zeros(1, c, 11)).shape == (1, f, 6)


def test_residual_bottleneck_expands_four_times():
    block = Residual(16, 4, rank=2, bottleneck=True)
    assert block.out_channels == 16 and isinstance(block.shortcut, torch.nn.Identity)
    assert n_params(block) == 16 * 4 + 8 + 4 * 4 * 9 + 8 + 4 * 16 + 32


def test_dilated_doubles_dilation_and_grows_receptive_field():
    stack = DilatedStack(1, 4, rank=1, kernel=3, layers=4)
    assert [unit.conv.dilation[0] for unit in stack] == [1, 2, 4, 8]
    assert stack(torch.zeros(1, 1, 40)).shape == (1, 4, 40)


def test_dilated_causal_never_sees_the_future():
    torch.manual_seed(0)
    net = build_model([{"dilated": {"filters": 3, "layers": 3, "causal": True}}], (1, 30))
    signal = torch.randn(1, 1, 30)
    changed = signal.clone()
    changed[..., 20:] = 0.0
    torch.testing.assert_close(net(signal)[..., :20], net(changed)[..., :20])


def test_causal_on_an_image_is_refused():
    with pytest.raises(BuildError) as err:
        build_model([{"dilated": {"filters": 3, "causal": True}}], (1, 16, 16))
    assert err.value.message.startswith("model.layers[0] (dilated): causal: true pads only the past of a 1D signal, "
                                        "but the input is a (C, H, W) image")


def test_separable_is_depthwise_then_pointwise():
    c, f, k = 6, 10, 3
    net = build_model([{"separable": {"filters": f, "kernel": k}}], (c, 12, 12))
    assert n_params(net) == c * k * k + c * f + f  # Keras: no depthwise bias, one pointwise bias
    net = build_model([{"separable": {"filters": f, "kernel": k, "depth_multiplier": 2}}], (c, 30))
    assert n_params(net) == 2 * c * k + 2 * c * f + f


def test_separable_2d_kernel_on_a_signal_fails():
    with pytest.raises(BuildError, match=r"\(separable 3x3, padding=valid\): kernel \[3, 3\] is 2D but the input "
                                         r"\(2, 40\) is a 1D signal"):
        build_model([{"separable": {"filters": 4, "kernel": [3, 3]}}], (2, 40))


def test_order_conv_act_bn_in_blocks():
    block = build_model([{"inception": {"filters": 2, "batchnorm": True, "order": "conv-act-bn"}}], (1, 8)).layers[0]
    assert [name for name, _ in block.b1.named_children()] == ["conv", "act", "bn"]
    assert block.b1.conv.bias is not None  # an activation sits between conv and batchnorm: the bias matters


def test_blocks_need_a_map():
    with pytest.raises(BuildError, match=r"model.layers\[1\] \(residual\): input \(32,\) is a flat feature vector"):
        build_model(["flatten", {"residual": 4}], (2, 16))


def test_spatial_dropout_drops_whole_channels():
    net = build_model([{"spatial_dropout": 0.5}], (32, 10, 10))
    out = net(torch.ones(4, 32, 10, 10))
    per_channel = out.flatten(2)
    assert torch.all((per_channel == 0).all(dim=2) | (per_channel == 2.0).all(dim=2))  # 0 or 1/(1-p), channel-wide
