"""with_scalars: the signal layers see the signal only, the scalars reach the dense head unchanged."""

from __future__ import annotations

import pytest
import torch

from convscope.errors import BuildError
from convscope.models import build_model

BODY = [{"conv": {"filters": 4, "kernel": 5}}, "global_avg_pool"]


def _net(k=3, length=50):
    torch.manual_seed(0)
    return build_model([{"with_scalars": {"scalars": k, "layers": BODY}}, {"dense": 2}], (1, length + k))


def test_scalars_join_the_features_before_the_head():
    net = _net()
    block = net.layers[0]
    x = torch.randn(6, 1, 53)
    joined = block(x)  # (N, 4 features + 3 scalars)
    assert joined.shape == (6, 7)
    torch.testing.assert_close(joined[:, 4:], x[:, 0, -3:])
    torch.testing.assert_close(joined[:, :4], block.body(x[..., :-3]))


def test_the_signal_layers_never_see_the_scalars_and_the_head_does():
    net = _net().eval()
    x = torch.randn(4, 1, 53)
    changed = x.clone()
    changed[:, 0, -3:] += 5.0
    body = net.layers[0].body
    torch.testing.assert_close(body(x[..., :-3]), body(changed[..., :-3]))
    assert not torch.allclose(net(x), net(changed))


def test_channels_limits_what_the_signal_layers_read():
    torch.manual_seed(0)
    net = build_model([{"with_scalars": {"scalars": 3, "channels": 1, "layers": BODY}}, {"dense": 2}], (2, 53)).eval()
    assert net.layers[0].body[0].in_channels == 1
    x = torch.randn(4, 2, 53)
    changed = x.clone()
    changed[:, 1] += 5.0  # the second channel is not read
    torch.testing.assert_close(net(x), net(changed))
    changed[:, 0, :10] += 5.0
    assert not torch.allclose(net(x), net(changed))


@pytest.mark.parametrize(("block", "shape", "needle"), [
    ({"scalars": 3, "channels": 3, "layers": BODY}, (2, 53), "3 channels asked of an input with 2"),
    ({"scalars": 3, "layers": [{"conv": {"filters": 4, "kernel": 5}}]}, (1, 53), "not flat features"),
    ({"scalars": 60, "layers": BODY}, (1, 53), "longer than its 60 scalars"),
    ({"scalars": 3, "layers": BODY}, (1, 8, 8), "is not a signal"),
    ({"scalars": 0, "layers": BODY}, (1, 53), "must be an integer >= 1"),
])
def test_bad_blocks_fail_at_build_time(block, shape, needle):
    with pytest.raises(BuildError, match=needle):
        build_model([{"with_scalars": block}, {"dense": 2}], shape)
