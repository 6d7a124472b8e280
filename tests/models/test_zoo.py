"""The zoo: every preset's parameter count against a hand computation, knobs, errors, and two that learn."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from convscope.config import ModelConfig
from convscope.errors import BuildError
from convscope.models import build_model, get_preset, list_presets, load_preset


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# Hand counts. conv: in*out*kernel cells (+ out biases, none before a batchnorm); dense: in*out + out;
# batchnorm: 2 per channel (running statistics are buffers, not parameters).
def conv(c_in, c_out, cells, *, bias=True):
    return c_in * c_out * cells + (c_out if bias else 0)


def dense(n_in, n_out):
    return n_in * n_out + n_out


def inception(c, f, *, cells3, cells5):  # filters = reduce = f: b1, reduce → 3, reduce → 5, pool → 1x1
    return conv(c, f, 1) + conv(c, f, 1) + conv(f, f, cells3) + conv(c, f, 1) + conv(f, f, cells5) + conv(c, f, 1)


def residual(c, f, cells):  # basic block: two convs + batchnorms, a 1x1 projection when the channels change
    projection = conv(c, f, 1, bias=False) + 2 * f if c != f else 0
    return conv(c, f, cells, bias=False) + 2 * f + conv(f, f, cells, bias=False) + 2 * f + projection


HAND_COUNTS = {
    # flatten 784 → 20 → 15 → 10
    "keras-mnist-mlp": dense(784, 20) + dense(20, 15) + dense(15, 10),
    # 28 → 25 → 22 → pool 11: 8*11*11 = 968 features
    "keras-mnist-cnn": conv(1, 8, 16) + conv(8, 8, 16) + dense(968, 128) + dense(128, 10),
    # 28 → 26 → 24 → pool 12: 32*12*12 = 4608 features
    "keras-mnist-cnn-dropout": conv(1, 32, 9) + conv(32, 32, 9) + dense(4608, 128) + dense(128, 10),
    # 28 → 24 → pool 12: 20*12*12 = 2880 features
    "nielsen-conv1": conv(1, 20, 25) + dense(2880, 100) + dense(100, 10),
    # ... → 8 → pool 4: 40*4*4 = 640 features
    "nielsen-conv2": conv(1, 20, 25) + conv(20, 40, 25) + dense(640, 100) + dense(100, 10),
    "nielsen-relu": conv(1, 20, 25) + conv(20, 40, 25) + dense(640, 100) + dense(100, 10),
    "nielsen-final": conv(1, 20, 25) + conv(20, 40, 25) + dense(640, 1000) + dense(1000, 1000) + dense(1000, 10),
    # same 28 → pool 14 → 10 → pool 5: 16*5*5 = 400 features; the classic 61,706
    "lenet5": conv(1, 6, 25) + conv(6, 16, 25) + dense(400, 120) + dense(120, 84) + dense(84, 10),
    # 32 → 16 → 8 → 4: 128*4*4 = 2048 features
    "vgg-small": (conv(3, 32, 9) + conv(32, 32, 9) + conv(32, 64, 9) + conv(64, 64, 9) + conv(64, 128, 9)
                  + conv(128, 128, 9) + dense(2048, 256) + dense(256, 10)),
    # stem 32, inception(16) → 64 channels, ×3 modules, GAP
    "googlenet-mini": (conv(3, 32, 9) + inception(32, 16, cells3=9, cells5=25)
                       + 2 * inception(64, 16, cells3=9, cells5=25) + dense(64, 10)),
    # stem 16 + BN, 3 stages × 3 blocks (16, 32, 64), GAP; ResNet-20's depth, 0.27M like the paper
    "resnet-small": (conv(3, 16, 9, bias=False) + 2 * 16 + 3 * residual(16, 16, 9)
                     + residual(16, 32, 9) + 2 * residual(32, 32, 9)
                     + residual(32, 64, 9) + 2 * residual(64, 64, 9) + dense(64, 10)),
    # (inception(16) → batchnorm 64) × 2 on one lead, GAP, dense 2
    "ecg-inception": (inception(1, 16, cells3=3, cells5=5) + 2 * 64 + inception(64, 16, cells3=3, cells5=5)
                      + 2 * 64 + dense(64, 2)),
    # stem 32@15 + BN, 4 strided residual blocks (projection for the stride), GAP, dense 2
    "ecg-resnet1d": conv(1, 32, 15, bias=False) + 2 * 32 + 4 * (residual(32, 32, 9) + conv(32, 32, 1, bias=False)
                                                                + 2 * 32) + dense(32, 2),
}


def test_every_preset_is_listed_and_counted_by_hand():
    assert list_presets() == sorted(HAND_COUNTS)


@pytest.mark.parametrize("name", sorted(HAND_COUNTS))
def test_preset_parameter_count_matches_the_hand_computation(name):
    net = build_model({"preset": name})
    assert n_params(net) == HAND_COUNTS[name]
    preset = get_preset(name)
    x = torch.randn(2, *preset.input_shape)
    assert net(x).shape == (2, preset.params["num_classes"])
    assert net.final_activation == "softmax" and preset.description and preset.reference


def test_reference_counts_from_the_papers_and_notebooks():
    assert HAND_COUNTS["keras-mnist-cnn"] == 126_490  # the seed notebook's Keras summary
    assert HAND_COUNTS["lenet5"] == 61_706
    assert round(HAND_COUNTS["resnet-small"] / 1e6, 2) == 0.27  # ResNet-20, He et al. Table 6


@pytest.mark.parametrize("name", [n for n in sorted(HAND_COUNTS) if len(get_preset(n).input_shape) == 3])
def test_image_presets_build_on_the_default_mnist_shape(name):
    assert build_model({"preset": name}, (1, 28, 28), num_classes=10)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_knobs_override_the_preset():
    assert load_preset("keras-mnist-cnn", num_classes=2)[-1] == {"dense": {"units": 2, "activation": "softmax"}}
    deep = build_model({"preset": "ecg-inception", "blocks": 3, "filters": 8})
    assert [n for n, _ in deep.layers.named_children()].count("inception3") == 1
    assert n_params(build_model({"preset": "resnet-small", "blocks": 1})) < HAND_COUNTS["resnet-small"]
    from_config = build_model(ModelConfig(preset="vgg-small", dropout=0.3, batchnorm=True), num_classes=4)
    assert from_config.output_shape == (4,) and from_config.layers.dropout1.p == 0.3
    assert "batchnorm6" in dict(from_config.layers.named_children())


def test_num_classes_follows_the_data_unless_the_user_set_it():
    assert build_model({"preset": "ecg-resnet1d"}, (1, 500), num_classes=5).output_shape == (5,)
    with pytest.raises(BuildError) as err:
        build_model({"preset": "ecg-resnet1d", "num_classes": 3}, (1, 500), num_classes=5)
    assert "preset ecg-resnet1d: layers[4] (dense 3): the network outputs 3 units but the data has 5 classes" in str(
        err.value)


def test_unknown_preset_and_knob_suggest_names():
    with pytest.raises(BuildError, match="unknown preset 'keras-mnist-cn'; did you mean 'keras-mnist-cnn'?"):
        build_model({"preset": "keras-mnist-cn"})
    with pytest.raises(BuildError) as err:
        load_preset("googlenet-mini", block=3)
    assert err.value.message == "preset 'googlenet-mini' has no knob 'block'; did you mean 'blocks'?"
    assert "blocks (default 2)" in err.value.hint


def test_presets_ship_as_package_data():
    files = [f.name for f in resources.files("convscope.models").joinpath("zoo").iterdir()]
    assert sorted(f.removesuffix(".yaml") for f in files if f.endswith(".yaml")) == list_presets()
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"models/zoo/*.yaml"' in pyproject.split("[tool.setuptools.package-data]")[1]


def _train(net, x, y, *, epochs=2, batch=16, lr=1e-2):
    """Plain Adam on logits with cross-entropy (the softmax is in the loss); mean loss of each epoch."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(x), batch):
            loss = F.cross_entropy(net(x[i:i + batch]), y[i:i + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x[i:i + batch])
        losses.append(total / len(x))
    return losses


def test_googlenet_mini_learns_on_tiny_images():
    torch.manual_seed(0)
    y = torch.randint(0, 2, (160,))
    x = 0.3 * torch.randn(160, 1, 12, 12)
    x[y == 0, :, 2:6, 2:10] += 1.5  # class 0: a bright bar at the top, class 1: at the bottom
    x[y == 1, :, 6:10, 2:10] += 1.5
    net = build_model({"preset": "googlenet-mini", "blocks": 1, "filters": 4, "dropout": 0.0}, (1, 12, 12),
                      num_classes=2)
    before = F.cross_entropy(net(x), y).item()
    losses = _train(net, x, y)
    assert losses[-1] < losses[0] and losses[-1] < before
    assert (net.predict_proba(x).argmax(dim=1) == y).float().mean() > 0.9


def test_ecg_inception_learns_on_tiny_signals():
    torch.manual_seed(0)
    y = torch.randint(0, 2, (160,))
    t = torch.arange(200) / 100.0
    freq = torch.where(y == 0, 2.0, 9.0)[:, None]  # slow vs fast rhythm, random phase, noise
    x = torch.sin(2 * torch.pi * freq * t + 6.28 * torch.rand(160, 1)) + 0.3 * torch.randn(160, 200)
    net = build_model({"preset": "ecg-inception", "filters": 4, "dropout": 0.0}, (1, 200))
    before = F.cross_entropy(net(x[:, None]), y).item()
    losses = _train(net, x[:, None], y)
    assert losses[-1] < losses[0] and losses[-1] < before
    assert (net.predict_proba(x[:, None]).argmax(dim=1) == y).float().mean() > 0.9
