"""Private PyTorch operators are checked at first use; when one is missing or wrong its rewrite is skipped,
the model computes the same, and a note says so once."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from convscope.train.speedups import fuse_for_inference, native_bf16, notes, private_ops, resolve_precision
from convscope.train.speedups.inference import ConvReLU, MaxPoolByViews
from convscope.train.speedups.private_ops import SpeedupUnavailable


@pytest.fixture(autouse=True)
def _fresh_checks():
    private_ops.reset()
    yield
    private_ops.reset()


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2)).eval()


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this PyTorch has no oneDNN")
def test_the_real_operators_pass_their_self_check():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpeedupUnavailable)
        assert private_ops.conv_relu_op() is not None
        assert private_ops.linear_relu_op() is not None
    assert isinstance(fuse_for_inference(_net())[0], ConvReLU)
    assert notes() == []


def test_a_vanished_operator_turns_its_rewrite_off_with_one_note(monkeypatch):
    monkeypatch.setattr(private_ops, "CONV_RELU", ("mkldnn", "_convolution_pointwise_removed_in_a_future_torch"))
    net = _net()
    x = torch.randn(2, 1, 10, 10)
    with pytest.warns(SpeedupUnavailable, match="_convolution_pointwise_removed"):
        twin = fuse_for_inference(net)
    assert not any(isinstance(m, ConvReLU) for m in twin.modules())  # conv and ReLU run on their own
    assert type(twin[1]) is nn.ReLU
    assert isinstance(twin[2], MaxPoolByViews)  # the rewrite that needs no private operator still applies
    torch.testing.assert_close(twin(x), net(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpeedupUnavailable)
        fuse_for_inference(net)  # printed once: no second warning
    assert len(notes()) == 1 and "conv+ReLU" in notes()[0]


def test_an_operator_that_computes_wrongly_is_not_used(monkeypatch):
    monkeypatch.setattr(private_ops, "_lookup", lambda where: lambda x, *args: torch.zeros(1))
    with pytest.warns(SpeedupUnavailable, match="disagreed"):
        assert private_ops.linear_relu_op() is None


def test_missing_cpu_feature_queries_mean_float32_and_a_note(monkeypatch):
    monkeypatch.setattr(private_ops, "BF16_QUERIES", ("_is_amx_tile_supported_gone", "_is_avx512_bf16_gone"))
    cpu = torch.device("cpu")
    with pytest.warns(SpeedupUnavailable, match="precision: auto"):
        assert native_bf16(cpu) is False
    assert resolve_precision("auto", nn.Conv2d(1, 2, 3), cpu) == "fp32"


def test_a_run_stores_the_note(monkeypatch, digits_cfg, tmp_path):
    import convscope

    monkeypatch.setattr(private_ops, "CONV_RELU", ("mkldnn", "_convolution_pointwise_removed_in_a_future_torch"))
    digits_cfg["train"].update(epochs=1)
    with pytest.warns(SpeedupUnavailable):
        run = convscope.run(digits_cfg, home=tmp_path)
    assert any("_convolution_pointwise_removed" in line for line in run.notes)
    assert run.status == "completed" and "test_accuracy" in run.test_metrics  # it went on without the rewrite
