"""Rewrite 3: dropout drawn with ``torch.rand`` keeps ``nn.Dropout``'s rate, scale, mode and hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convscope.train.speedups import fast_dropout
from convscope.train.speedups.dropout import FastDropout


def _net(p: float = 0.25) -> nn.Sequential:
    return nn.Sequential(nn.Identity(), nn.Dropout(p))


def test_keeps_units_at_the_rate_and_scales_them_like_nn_dropout():
    twin = fast_dropout(_net(0.25))
    assert isinstance(twin[1], FastDropout)
    torch.manual_seed(0)
    out = twin(torch.ones(200_000))
    kept = out != 0
    assert float(kept.float().mean()) == pytest.approx(0.75, abs=0.005)
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.75))


def test_reads_the_original_modules_rate_and_mode_on_each_call():
    net = _net(0.5)
    twin = fast_dropout(net)
    x = torch.ones(1000)
    net.eval()
    assert torch.equal(twin(x), x)  # eval mode of the user's module switches the twin off
    net.train()
    net[1].p = 0.0
    assert torch.equal(twin(x), x)
    net[1].p = 1.0
    assert torch.equal(twin(x), torch.zeros(1000))


def test_same_seed_same_mask():
    twin = fast_dropout(_net(0.5))
    torch.manual_seed(3)
    first = twin(torch.ones(64))
    torch.manual_seed(3)
    assert torch.equal(twin(torch.ones(64)), first)


def test_a_hooked_dropout_is_left_alone():
    net = _net()
    net[1].register_forward_hook(lambda *args: None)
    assert fast_dropout(net) is net
