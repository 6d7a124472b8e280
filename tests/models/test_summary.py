"""Summary: per-layer params, MACs, memory, receptive field; totals and the training-step memory."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from convscope.models import Summary, build_model, summary


@pytest.fixture
def seed_cnn():
    return build_model({"preset": "keras-mnist-cnn"})


def test_rows_params_and_macs_of_the_seed_convnet(seed_cnn):
    s = summary(seed_cnn)
    rows = {row.name: row for row in s.rows}
    assert [row.name for row in s.rows][:3] == ["input", "conv1", "relu1"]
    assert rows["conv1"].output_shape == (8, 25, 25) and rows["conv1"].params == 136
    assert rows["conv1"].macs == 8 * 25 * 25 * (1 * 4 * 4)  # out elements x in-channels x kernel cells
    assert rows["conv2"].macs == 8 * 22 * 22 * (8 * 4 * 4)
    assert rows["dense1"].macs == 968 * 128 and rows["dense2"].macs == 128 * 10
    assert rows["relu1"].macs == rows["maxpool1"].macs == 0
    assert s.params == s.trainable_params == 126_490
    assert s.macs == 80_000 + 495_616 + 123_904 + 1_280


def test_activation_and_training_step_memory(seed_cnn):
    one, batch = summary(seed_cnn), summary(seed_cnn, batch_size=128)
    # input + conv/relu 8x25x25 twice + conv/relu 8x22x22 twice + pool and flatten 968 each + 128 twice + 10
    elements = 784 + 2 * 5_000 + 2 * 3_872 + 2 * 968 + 2 * 128 + 10
    assert one.activation_bytes == 4 * elements
    assert batch.activation_bytes == 128 * one.activation_bytes
    # CS231n: activations + weights + gradients + Adam's two moments, float32
    assert batch.training_step_bytes == 4 * 128 * elements + 4 * 126_490 * 4


def test_receptive_field_and_jump_along_the_path(seed_cnn):
    rows = {row.name: row for row in summary(seed_cnn).rows}
    assert rows["input"].receptive_field == (1, 1)
    assert rows["conv1"].receptive_field == (4, 4)  # 1 + 3
    assert rows["conv2"].receptive_field == (7, 7)  # 4 + 3
    assert rows["maxpool1"].receptive_field == (8, 8) and rows["maxpool1"].jump == (2, 2)
    assert rows["flatten1"].receptive_field is None and rows["dense2"].jump is None  # sees the whole input


def test_strided_and_non_square_receptive_fields():
    net = build_model([{"conv": {"filters": 2, "kernel": 3, "stride": 2}}, {"conv": {"filters": 2, "kernel": [5, 3]}}],
                      (1, 32, 32))
    rows = summary(net).rows
    assert rows[1].receptive_field == (3, 3) and rows[1].jump == (2, 2)
    assert rows[2].receptive_field == (3 + 4 * 2, 3 + 2 * 2) == (11, 7)
    assert "11x7" in str(summary(net))


@pytest.mark.parametrize("shape", [(1, 100), (1, 40, 40)], ids=["1d", "2d"])
def test_dilated_stack_receptive_field_31_is_printed(shape):
    net = build_model([{"dilated": {"filters": 4, "kernel": 3, "layers": 4}}], shape)
    s = summary(net)
    assert s.rows[-1].receptive_field == (1 + 2 * (1 + 2 + 4 + 8),) * (len(shape) - 1) == (31,) * (len(shape) - 1)
    line = next(line for line in str(s).splitlines() if "dilated1" in line)
    cells = [cell.strip() for cell in line.split("│")[1:-1]]
    assert cells[0] == "dilated1" and cells[6] == "31"  # the RF column


def test_block_receptive_field_follows_its_widest_path():
    net = build_model([{"inception": 4}, {"maxpool": 2}, {"residual": {"filters": 4, "stride": 2}}], (1, 64))
    rf = [row.receptive_field[0] for row in summary(net).rows]
    # input 1; inception's 5-tower +4 → 5; pool 2 → 6, jump 2; residual 3 (stride 2) then 3: +2*2 → 10, +2*4 → 18
    assert rf == [1, 5, 6, 18]


def test_block_memory_counts_its_inner_tensors():
    net = build_model([{"residual": 4}], (4, 10))
    row = summary(net).rows[1]
    # conv, bn, act (40 each), conv, bn (40 each), the add is not a module, relu output 40; identity adds nothing
    assert row.activation_bytes == 4 * 40 * 6
    assert row.params == 2 * (4 * 4 * 3) + 4 * 4


def test_frozen_parameters_are_not_trainable():
    net = build_model([{"conv": {"filters": 4, "kernel": 3, "batchnorm": True}}], (2, 20))
    net.layers.conv1.weight.requires_grad_(False)
    s = summary(net)
    assert s.params == 2 * 4 * 3 + 8 and s.trainable_params == 8
    assert s.training_step_bytes == s.activation_bytes + 4 * s.params + 4 * 3 * 8


def test_summary_leaves_the_model_as_it_was():
    net = build_model([{"conv": {"filters": 4, "kernel": 3}}, "batchnorm"], (2, 20))
    stats = net.layers.batchnorm1.running_mean.clone()
    summary(net)
    assert net.training and torch.equal(net.layers.batchnorm1.running_mean, stats)


def test_table_and_dict(seed_cnn):
    s = summary(seed_cnn, batch_size=32)
    text = str(s)
    for word in ("conv1", "Conv2d", "(8, 25, 25)", "126,490", "Total", "one training step", "final softmax"):
        assert word in text
    data = json.loads(json.dumps(s.to_dict()))
    assert data["totals"]["params"] == 126_490 and data["batch_size"] == 32
    assert data["rows"][1]["output_shape"] == [8, 25, 25] and data["rows"][-1]["receptive_field"] is None
    assert s.table().row_count == len(s.rows)


def test_any_module_with_an_input_shape():
    seq = nn.Sequential(nn.Conv1d(1, 3, 5), nn.ReLU(), nn.AdaptiveAvgPool1d(1))
    s = summary(seq, (1, 50))
    assert isinstance(s, Summary) and [r.receptive_field for r in s.rows] == [(1,), (5,), (5,), None]
    assert summary(nn.Linear(4, 2), (4,)).params == 10
    with pytest.raises(ValueError, match="summary needs input_shape"):
        summary(seq)
