"""The layer vocabulary: shapes in 1D and 2D, Keras padding and initializers, and every bad-argument message."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import BuildError
from convscope.models import build_model


def only_layer(spec, shape):
    torch.manual_seed(0)
    net = build_model([spec], shape)
    return net, next(iter(net.layers))


@pytest.mark.parametrize("spec, shape, module_type, out_shape", [
    ({"conv": {"filters": 4, "kernel": 3}}, (2, 50), nn.Conv1d, (4, 48)),
    ({"conv": {"filters": 4, "kernel": 3}}, (2, 12, 10), nn.Conv2d, (4, 10, 8)),
    ({"conv": {"filters": 4, "kernel": 5, "stride": 2, "padding": 1}}, (2, 50), nn.Conv1d, (4, 24)),
    ({"conv": {"filters": 4, "kernel": [3, 1], "padding": "same"}}, (2, 12, 10), nn.Conv2d, (4, 12, 10)),
    ({"conv": {"filters": 4, "kernel": 3, "dilation": 4}}, (2, 50), nn.Conv1d, (4, 42)),
    ({"conv": {"filters": 4, "kernel": 3, "groups": 2}}, (2, 12, 10), nn.Conv2d, (4, 10, 8)),
    ({"maxpool": 2}, (2, 51), nn.MaxPool1d, (2, 25)),
    ({"maxpool": {"size": 3, "stride": 1}}, (2, 12, 10), nn.MaxPool2d, (2, 10, 8)),
    ({"avgpool": 2}, (2, 12, 10), nn.AvgPool2d, (2, 6, 5)),
    ({"avgpool": {"size": 2, "padding": "same"}}, (2, 51), nn.AvgPool1d, (2, 26)),
    ("batchnorm", (2, 50), nn.BatchNorm1d, (2, 50)),
    ("batchnorm", (2, 12, 10), nn.BatchNorm2d, (2, 12, 10)),
    ("batchnorm", (7,), nn.BatchNorm1d, (7,)),
    ({"spatial_dropout": 0.2}, (2, 50), nn.Dropout1d, (2, 50)),
    ({"spatial_dropout": 0.2}, (2, 12, 10), nn.Dropout2d, (2, 12, 10)),
    ({"dropout": 0.5}, (2, 12, 10), nn.Dropout, (2, 12, 10)),
    ("flatten", (2, 12, 10), nn.Flatten, (240,)),
    ("global_avg_pool", (2, 50), nn.Module, (2,)),
    ("global_max_pool", (2, 12, 10), nn.Module, (2,)),
    ({"leaky_relu": 0.2}, (2, 50), nn.LeakyReLU, (2, 50)),
    ("gelu", (2, 50), nn.GELU, (2, 50)),
])
def test_words_build_the_module_of_the_inputs_rank(spec, shape, module_type, out_shape):
    net, name = only_layer(spec, shape)
    module = net.layers[0]
    assert isinstance(module, module_type)
    assert net.output_shape == out_shape
    assert net(torch.randn(3, *shape)).shape == (3, *out_shape)  # the inferred shape is the real one


def test_global_pools_reduce_every_position():
    x = torch.arange(24.0).reshape(1, 2, 3, 4)
    assert build_model(["global_avg_pool"], (2, 3, 4))(x).tolist() == [[5.5, 17.5]]
    assert build_model(["global_max_pool"], (2, 3, 4))(x).tolist() == [[11.0, 23.0]]


def test_keras_long_names_are_aliases_of_the_short_words():
    long = build_model([{"conv": {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 1}},
                        {"maxpool": {"pool_size": 2}}, {"dense": {"units": 10, "use_bias": False}},
                        {"dropout": {"rate": 0.5}}], (1, 20, 20))
    short = build_model([{"conv": {"filters": 4, "kernel": 3, "stride": 2}}, {"maxpool": 2},
                         {"dense": 10, "bias": False}, {"dropout": 0.5}], (1, 20, 20))
    assert long.spec == short.spec
    assert long.layers.dense1.bias is None


def test_activation_and_batchnorm_of_a_conv_become_layers_in_order():
    net = build_model([{"conv": {"filters": 4, "kernel": 3, "batchnorm": True, "activation": "relu"}},
                       {"conv": {"filters": 4, "kernel": 3, "batchnorm": True, "activation": "elu",
                                 "order": "conv-act-bn"}}], (1, 12, 12))
    assert list(dict(net.layers.named_children())) == ["conv1", "batchnorm1", "relu1", "conv2", "elu1", "batchnorm2"]
    # a conv right before a batchnorm needs no bias (the batchnorm's shift replaces it); before an activation it does
    assert net.layers.conv1.bias is None and net.layers.conv2.bias is not None


def test_same_padding_with_an_even_kernel_pads_the_end_like_keras():
    x = torch.randn(2, 3, 9, 10)
    net, _ = only_layer({"conv": {"filters": 4, "kernel": 4, "padding": "same"}}, (3, 9, 10))
    conv = net.layers.conv1
    expected = F.conv2d(F.pad(x, [1, 2, 1, 2]), conv.weight, conv.bias)  # TF: 1 before, 2 after
    assert net(x).shape == (2, 4, 9, 10)
    torch.testing.assert_close(net(x), expected)


@pytest.mark.parametrize("shape", [(1, 40), (1, 12, 12)])
def test_even_kernels_with_same_padding_warn_nothing(shape):
    """PyTorch's own padding='same' warns about even kernels ("may require a zero-padded copy of the
    input") on every forward; convscope pads them itself, so training and inference print nothing (issue 14)."""
    layers = [{"conv": {"filters": 4, "kernel": 4, "padding": "same"}},
              {"conv": {"filters": 4, "kernel": 2, "dilation": 3, "padding": "same"}},
              {"separable": {"filters": 4, "kernel": 4}}, {"maxpool": {"size": 2, "padding": "same"}},
              "flatten", {"dense": 3}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        net = build_model(layers, shape)
        net(torch.randn(2, *shape)).sum().backward()
        assert net.eval()(torch.randn(1, *shape)).shape == (1, 3)


def test_same_padding_with_stride_gives_ceil_of_input_over_stride_like_keras():
    x = torch.randn(2, 3, 9, 10)
    net, _ = only_layer({"conv": {"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}}, (3, 9, 10))
    conv = net.layers.conv1
    # height 9: out 5, total pad (5-1)*2+3-9 = 2 → 1|1; width 10: out 5, total 1 → 0|1
    expected = F.conv2d(F.pad(x, [0, 1, 1, 1]), conv.weight, conv.bias, stride=2)
    assert net.output_shape == (4, 5, 5)
    torch.testing.assert_close(net(x), expected)


def test_same_pools_ignore_padding_like_keras():
    ones = torch.ones(1, 2, 9, 10)
    net, _ = only_layer({"avgpool": {"size": 3, "stride": 2, "padding": "same"}}, (2, 9, 10))
    assert net.output_shape == (2, 5, 5)
    torch.testing.assert_close(net(ones), torch.ones(1, 2, 5, 5))  # border windows average real cells only
    net, _ = only_layer({"maxpool": {"size": 2, "padding": "same"}}, (2, 9, 10))
    negative = -torch.rand(1, 2, 9, 10) - 1
    assert net(negative).max() < 0  # padding never wins a max


def test_causal_padding_never_sees_the_future():
    net, _ = only_layer({"conv": {"filters": 2, "kernel": 3, "dilation": 2, "padding": "causal"}}, (1, 20))
    signal = torch.randn(1, 1, 20)
    changed = signal.clone()
    changed[..., 10:] += 5.0
    assert net.output_shape == (2, 20)
    torch.testing.assert_close(net(signal)[..., :10], net(changed)[..., :10])
    assert not torch.allclose(net(signal)[..., 10:], net(changed)[..., 10:])


def test_initializers_follow_keras_definitions():
    def weight(initializer, shape=(784,)):
        net, _ = only_layer({"dense": {"units": 300, "initializer": initializer}}, shape)
        return net.layers.dense1.weight.detach(), net.layers.dense1.bias.detach()

    w, b = weight("normal")
    assert abs(w.std().item() - 0.05) < 0.002 and not b.any()  # RandomNormal(stddev=0.05), zero bias
    w, _ = weight("glorot_uniform")
    limit = math.sqrt(6 / (784 + 300))
    assert w.abs().max() <= limit and w.abs().max() > 0.99 * limit
    w, _ = weight("he_normal")
    assert abs(w.std().item() - math.sqrt(2 / 784)) < 0.05 * math.sqrt(2 / 784)  # truncated, rescaled
    assert w.abs().max() <= 2 * math.sqrt(2 / 784) / 0.87962566103423978 + 1e-6
    w, _ = weight("he_uniform")
    assert w.abs().max() <= math.sqrt(6 / 784)
    assert not weight("zeros")[0].any()
    conv, _ = only_layer({"conv": {"filters": 16, "kernel": 5}}, (8, 20, 20))  # default glorot_uniform, conv fans
    assert conv.layers.conv1.weight.abs().max() <= math.sqrt(6 / (8 * 25 + 16 * 25))


def test_weights_are_deterministic_under_a_seed():
    spec = [{"conv": {"filters": 4, "kernel": 3}}, {"dense": 5}]
    torch.manual_seed(1)
    a = build_model(spec, (1, 8, 8)).state_dict()
    torch.manual_seed(1)
    b = build_model(spec, (1, 8, 8)).state_dict()
    torch.manual_seed(2)
    c = build_model(spec, (1, 8, 8)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["layers.conv1.weight"], c["layers.conv1.weight"])


@pytest.mark.parametrize("spec, shape, message", [
    ({"conv": {"filters": 8, "kernel": [3, 3]}}, (1, 100),
     "model.layers[0] (conv 3x3, padding=valid): kernel [3, 3] is 2D but the input (1, 100) is a 1D signal (C, L); "
     "give one number, e.g. kernel: 3"),
    ({"conv": {"filters": 8, "kernel": 3, "stride": [2, 2]}}, (1, 100), "stride [2, 2] is 2D but the input (1, 100)"),
    ({"maxpool": [2, 2]}, (4, 100), "size [2, 2] is 2D but the input (4, 100) is a 1D signal"),
    ({"conv": {"filters": 8, "kernel": [3]}}, (1, 10, 10),
     "kernel [3] is 1D but the input (1, 10, 10) is a 2D image (C, H, W); give one number or two, e.g. kernel: [3, 3]"),
    ({"conv": {"filters": 8, "kernel": 3, "padding": "causal"}}, (1, 10, 10),
     "padding: causal pads only the past of a 1D signal, but the input (1, 10, 10) is a (C, H, W) image"),
    ({"conv": {"filters": 8, "kernel": 3, "padding": "sam"}}, (1, 10), "padding must be same, valid, causal or an "
                                                                      "integer, got 'sam'; did you mean 'same'?"),
    ({"conv2d": {"filters": 8, "kernel": 3}}, (1, 10, 10), "model.layers[0] (conv2d): unknown layer 'conv2d'; "
                                                           "did you mean 'conv'?"),
    ({"conv": {"filter": 8, "kernel": 3}}, (1, 10, 10), "unknown argument 'filter'; did you mean 'filters'?"),
    ({"conv": {"filters": 8}}, (1, 10, 10), "model.layers[0] (conv): missing required argument 'kernel'"),
    ({"conv": {"filters": 8, "kernel": 3, "kernel_size": 3}}, (1, 10), "'kernel' and 'kernel_size' are the same"),
    ({"conv": {"filters": 0, "kernel": 3}}, (1, 10), "filters must be an integer >= 1, got 0"),
    ({"conv": {"filters": 6, "kernel": 3, "groups": 4}}, (4, 10),
     "groups: 4 must divide both the input channels (4) and filters (6)"),
    ({"conv": {"filters": 8, "kernel": 3, "activation": "rleu"}}, (1, 10), "unknown activation 'rleu'; did you "
                                                                          "mean 'relu'?"),
    ({"conv": {"filters": 8, "kernel": 3, "initializer": "he_norm"}}, (1, 10),
     "unknown initializer 'he_norm'; did you mean 'he_normal'?"),
    ({"conv": {"filters": 8, "kernel": 3, "batchnorm": True, "order": "bn-conv"}}, (1, 10),
     "order must be one of conv-bn-act, conv-act-bn, got 'bn-conv'"),
    ({"conv": {"filters": 8, "kernel": 12}}, (1, 10),
     "model.layers[0] (conv 12, padding=valid): input (1, 10) is smaller than the kernel; use padding: same"),
    ({"conv": {"filters": 8, "kernel": 3, "dilation": 5}}, (1, 10), "input (1, 10) is smaller than the kernel"),
    ({"maxpool": {"size": 2, "padding": 3}}, (1, 10), "padding [3] is more than half the pool size [2]"),
    ({"dropout": 1.0}, (5,), "model.layers[0] (dropout): rate must be a number in [0, 1), got 1.0"),
    ({"spatial_dropout": 0.1}, (5,), "input (5,) is a flat feature vector, but spatial_dropout needs a (C, L) signal"),
    ("global_avg_pool", (5,), "global_avg_pool needs a (C, L) signal or a (C, H, W) image"),
    ({"relu": 3}, (5,), "relu takes no value (got 3)"),
    ({"leaky_relu": -1}, (5,), "negative_slope must be a number >= 0, got -1"),
    (42, (5,), "model.layers[0]: expected a layer such as '- relu'"),
])
def test_bad_layers_fail_at_build_naming_layer_and_fix(spec, shape, message):
    with pytest.raises(BuildError) as err:
        build_model([spec], shape)
    assert message in str(err.value)


def test_kernel_bigger_than_the_map_names_index_shape_and_fix():
    spec = [{"conv": {"filters": 8, "kernel": 3}}] * 3 + [{"maxpool": 2}, {"conv": {"filters": 8, "kernel": 5}}]
    with pytest.raises(BuildError) as err:
        build_model(spec, (1, 12, 12))
    assert err.value.message == ("model.layers[4] (conv 5x5, padding=valid): input (8, 3, 3) is smaller than the "
                                 "kernel; use padding: same, a smaller kernel, or fewer pooling layers")


def test_a_layer_after_flatten_that_needs_a_map_says_so():
    with pytest.raises(BuildError, match=r"model.layers\[1\] \(conv 3, padding=valid\): input \(100,\) is a flat "
                                         r"feature vector, but conv needs"):
        build_model(["flatten", {"conv": {"filters": 8, "kernel": 3}}], (1, 10, 10))
