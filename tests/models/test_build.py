"""Spec → ConvNet: the seed ConvNet, spec forms, repeat, the head (final softmax/sigmoid), and input shapes."""

from __future__ import annotations

import pytest
import torch
import yaml

from convscope.config import ModelConfig, load_config
from convscope.errors import BuildError
from convscope.models import ConvNet, build_model

SEED_CONVNET = """
model:
  input: [1, 28, 28]
  layers:
    - conv: {filters: 8, kernel: 4, padding: valid, activation: relu}
    - conv: {filters: 8, kernel: 4, activation: relu}
    - maxpool: 2
    - flatten
    - dense: {units: 128, activation: relu}
    - dense: {units: 10, activation: softmax}
"""


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_seed_convnet_from_yaml_has_kerass_126490_parameters():
    net = build_model(yaml.safe_load(SEED_CONVNET)["model"])
    # conv 1*8*16+8 = 136 → 25x25; conv 8*8*16+8 = 1,032 → 22x22; pool → 8x11x11 = 968;
    # dense 968*128+128 = 124,032; dense 128*10+10 = 1,290
    assert n_params(net) == 136 + 1_032 + 124_032 + 1_290 == 126_490
    assert [name for name, _ in net.layers.named_children()] == [
        "conv1", "relu1", "conv2", "relu2", "maxpool1", "flatten1", "dense1", "relu3", "dense2"]
    assert net.input_shape == (1, 28, 28) and net.output_shape == (10,)


def test_every_spec_form_builds_the_same_network():
    raw = yaml.safe_load(SEED_CONVNET)["model"]
    cfg = load_config({"model": raw, "data": {"source": "builtin:digits"}})
    forms = [raw["layers"], raw, cfg.model, ModelConfig(**raw), {"preset": "keras-mnist-cnn"}]
    specs = [build_model(form, (1, 28, 28)).spec for form in forms]
    assert all(spec == specs[0] for spec in specs)


def test_final_softmax_leaves_forward_and_is_applied_by_predict_proba():
    torch.manual_seed(0)
    net = build_model([{"dense": {"units": 4, "activation": "softmax"}}], (6,))
    x = torch.randn(5, 6)
    logits = net(x)
    assert net.final_activation == "softmax" and "softmax1" not in dict(net.layers.named_children())
    assert not torch.allclose(logits.sum(dim=1), torch.ones(5))  # logits, ready for F.cross_entropy
    proba = net.predict_proba(x)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(5))
    torch.testing.assert_close(proba, torch.softmax(logits, dim=1))
    assert next(iter(net.spec[-1])) == "softmax"  # kept in the spec: rebuilding gives the same head


def test_a_one_unit_sigmoid_head_gives_two_column_probabilities():
    torch.manual_seed(0)
    net = build_model([{"dense": 8}, "relu", {"dense": 1}, "sigmoid"], (6,), num_classes=2)
    x = torch.randn(5, 6)
    p = torch.sigmoid(net(x))
    assert net.final_activation == "sigmoid" and net.output_shape == (1,)
    torch.testing.assert_close(net.predict_proba(x), torch.cat([1 - p, p], dim=1))


def test_predict_proba_runs_in_eval_mode_and_restores_training():
    net = build_model([{"dense": 16}, {"dropout": 0.9}, {"dense": 3}], (6,))
    x = torch.randn(4, 6)
    assert net.training
    torch.testing.assert_close(net.predict_proba(x), net.predict_proba(x))  # dropout off
    assert net.training
    assert net.final_activation is None  # logits without a declared softmax are still read as logits
    torch.testing.assert_close(net.predict_proba(x).sum(dim=1), torch.ones(4))


def test_predict_proba_needs_a_class_vector():
    net = build_model([{"conv": {"filters": 2, "kernel": 3}}], (1, 10))
    with pytest.raises(ValueError, match=r"needs a \(N, K\) output; this network outputs \(N, 2, 8\)"):
        net.predict_proba(torch.zeros(1, 1, 10))


def test_dense_after_a_map_gets_a_visible_flatten():
    net = build_model([{"conv": {"filters": 2, "kernel": 3}}, {"dense": 5}], (1, 10, 10))
    assert [name for name, _ in net.layers.named_children()] == ["conv1", "flatten1", "dense1"]
    assert n_params(net) == (2 * 9 + 2) + (2 * 8 * 8 * 5 + 5)


def test_a_spec_without_dense_head_is_built_as_declared():
    net = build_model([{"conv": {"filters": 3, "kernel": 1}}, "global_avg_pool", "softmax"], (4, 10),
                      num_classes=7)  # the trainer, not the builder, compares 3 outputs with 7 classes
    assert net.output_shape == (3,) and net.final_activation == "softmax"
    assert [name for name, _ in net.layers.named_children()] == ["conv1", "global_avg_pool1"]


def test_spec_of_a_built_network_rebuilds_it():
    torch.manual_seed(0)
    net = build_model({"preset": "googlenet-mini", "blocks": 1}, (1, 16, 16))
    torch.manual_seed(0)
    again = build_model(net.spec, net.input_shape)
    assert again.final_activation == net.final_activation == "softmax"
    assert str(again) == str(net)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), net.state_dict().values(), strict=True))


def test_repeat_unrolls_a_group_and_zero_removes_it():
    group = {"repeat": 3, "layers": [{"conv": {"filters": 4, "kernel": 3, "padding": "same"}}, "relu"]}
    net = build_model([group, {"repeat": 0, "layers": [{"maxpool": 2}]}, "flatten"], (1, 8, 8))
    assert [name for name, _ in net.layers.named_children()] == [
        "conv1", "relu1", "conv2", "relu2", "conv3", "relu3", "flatten1"]
    nested = {"repeat": 2, "layers": [{"repeat": 2, "layers": ["relu"]}, "tanh"]}
    assert [n for n, _ in build_model([nested], (3,)).layers.named_children()] == [
        "relu1", "relu2", "tanh1", "relu3", "relu4", "tanh2"]


def test_a_failing_repetition_is_named():
    with pytest.raises(BuildError) as err:
        build_model([{"repeat": 5, "layers": [{"maxpool": 2}]}], (1, 16, 16))
    assert err.value.message.startswith("model.layers[0].layers[0] (maxpool 2x2, padding=valid, repeat 5 of 5): "
                                        "input (1, 1, 1) is smaller than the pool window")


def test_num_classes_checks_the_last_dense():
    spec = [{"dense": {"units": 10, "activation": "softmax"}}]
    with pytest.raises(BuildError) as err:
        build_model(spec, (6,), num_classes=3)
    assert err.value.message == "model.layers[0] (dense 10): the network outputs 10 units but the data has 3 classes"
    assert "units: 3, activation: softmax" in err.value.hint
    assert build_model([{"dense": 1}], (6,), num_classes=2).output_shape == (1,)  # BCE-with-logits head
    assert build_model({"preset": "keras-mnist-cnn"}, num_classes=3).output_shape == (3,)  # the preset's knob


@pytest.mark.parametrize("spec, shape, message", [
    ([{"dense": {"units": 1, "activation": "softmax"}}], (6,), "ends in a softmax over 1 unit, which is always 1.0"),
    ([{"dense": {"units": 10, "activation": "sigmoid"}}], (6,), "ends in a sigmoid over 10 units"),
    ([{"repeat": -1, "layers": ["relu"]}], (6,), "model.layers[0] (repeat): repeat must be an integer >= 0, got -1"),
    ([{"repeat": 2, "layer": ["relu"]}], (6,), "unknown field 'layer'; did you mean 'layers'?"),
    ([{"repeat": 2}], (6,), "the layers to repeat are missing"),
    ({"layers": ["relu"], "inputs": [6]}, (6,), "model: unknown field 'inputs'; did you mean 'input'?"),
    ({"preset": "vgg-small", "layers": ["relu"]}, None, "give layers or a preset, not both"),
    ({"input": [6]}, None, "model: layers is missing"),
    ("relu", (6,), "a model spec must be a list of layers"),
    (["relu"], None, "the input shape is unknown"),
    (["relu"], (1, 3, 28, 28), "input (1, 3, 28, 28) has 4 dims"),
    (["relu"], (0, 5), "input shape must be positive integers"),
    ({"layers": ["relu"], "input": [1, 28, 28]}, (1, 8, 8),
     "model.input (1, 28, 28) does not match the data's input (1, 8, 8)"),
    ([{"dense": 4, "units": 5}], (6,), "'units' is given twice"),
    ({"layers": ["relu"], "input": 28}, (6,), "input shape must be positive integers (C, L), (C, H, W) or (F,), got 28"),
])
def test_bad_specs_fail_with_a_clear_message(spec, shape, message):
    with pytest.raises(BuildError) as err:
        build_model(spec, shape)
    assert message in str(err.value)


def test_spec_input_is_used_when_the_data_gives_none():
    net = build_model({"input": [2, 30], "layers": [{"conv": {"filters": 4, "kernel": 3}}]})
    assert isinstance(net, ConvNet) and net.output_shape == (4, 28)


def test_1d_and_2d_from_the_same_spec():
    spec = [{"conv": {"filters": 4, "kernel": 3, "padding": "same", "batchnorm": True, "activation": "relu"}},
            {"maxpool": 2}, "global_avg_pool", {"dense": 2}]
    signal = build_model(spec, (1, 64))
    image = build_model(spec, (1, 16, 16))
    assert type(signal.layers.conv1).__name__ == "Conv1d" and type(image.layers.conv1).__name__ == "Conv2d"
    assert signal(torch.randn(3, 1, 64)).shape == image(torch.randn(3, 1, 16, 16)).shape == (3, 2)
    # conv 4*3 (no bias before batchnorm) vs 4*9; batchnorm 8; dense 4*2+2
    assert n_params(signal) == 12 + 8 + 10 and n_params(image) == 36 + 8 + 10


def test_prepare_uses_the_builders_one_model_input_check(digits_cfg):
    from convscope.api import prepare
    from convscope.config import load_config

    digits_cfg["model"]["input"] = [1, 28, 28]  # the digits data is (1, 8, 8)
    with pytest.raises(BuildError, match=r"model.input \(1, 28, 28\) does not match the data's input \(1, 8, 8\)"):
        prepare(load_config(digits_cfg))
