"""The fast paths give the plain path's results: channels_last (2D, and 1D nets run as images), single-channel
convs as window matmuls, bf16 autocast, folded batchnorm, fused conv+ReLU and max pools, fused Adam."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import convscope
from convscope.config import TrainConfig
from convscope.data.base import Dataset
from convscope.models import build_model
from convscope.train.speedups import (
    fold_batchnorm,
    fuse_for_inference,
    match_state_layout,
    signals_as_images,
    window_convs,
)
from convscope.train.trainer import Trainer


def _numbers(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "health")} for row in history]


def _close(a, b, *, rel):
    assert len(a) == len(b)
    for row_a, row_b in zip(_numbers(a), _numbers(b), strict=True):
        assert row_a.keys() == row_b.keys()
        for key in row_a:
            assert row_a[key] == pytest.approx(row_b[key], rel=rel, abs=rel), key


def _signals(n: int = 192, channels: int = 1, length: int = 64) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, channels, length, generator=g)  # (N, C, L)
    y = (x[:, 0, : length // 2].mean(dim=1) > 0).long()
    return Dataset(x[:128], y[:128], x[128:160], y[128:160], x[160:], y[160:], ["neg", "pos"], name="signals")


def _fit(cfg_dict, **train) -> tuple[Trainer, float]:
    """Train ``cfg_dict`` with ``train`` overrides; the trainer and its test accuracy (no store, no plots)."""
    from convscope.api import prepare
    from convscope.config import load_config

    cfg_dict = copy.deepcopy(cfg_dict)
    cfg_dict["train"].update(train)
    cfg = load_config(cfg_dict)
    data, model = prepare(cfg)
    trainer = Trainer(model, data, cfg.train, seed=cfg.seed)
    trainer.fit()
    scores, _ = trainer.evaluate(data.x_test, data.y_test, prefix="test_")
    return trainer, scores["test_accuracy"]


BN_NET_2D = [
    {"conv": {"filters": 6, "kernel": 3, "padding": "same", "batchnorm": True, "activation": "relu"}},
    {"maxpool": 2},
    {"conv": {"filters": 8, "kernel": 3, "batchnorm": True, "activation": "relu"}},
    "flatten",
    {"dense": {"units": 16, "batchnorm": True, "activation": "relu"}},
    {"dense": {"units": 10, "activation": "softmax"}},
]

# No dropout: its random mask follows the memory layout, so NCL and NHWC drop different (equally many) units.
# The first conv sees one channel (run as a window matmul), the rest are oneDNN convs, batchnorm and pools.
SIGNAL_NET = [
    {"repeat": 2, "layers": [
        {"conv": {"filters": 6, "kernel": 7, "padding": "same", "batchnorm": True, "activation": "relu"}},
        {"maxpool": 2}]},
    {"conv": {"filters": 4, "kernel": 3, "stride": 2}}, {"avgpool": 2},
    "global_avg_pool", {"dense": {"units": 2, "activation": "softmax"}}]


# -- training: the same history -------------------------------------------------------------------


def test_channels_last_trains_the_same_history_as_contiguous(digits_cfg):
    digits_cfg["model"]["layers"] = BN_NET_2D
    plain, plain_acc = _fit(digits_cfg, channels_last=False, precision="fp32")
    nhwc, nhwc_acc = _fit(digits_cfg, channels_last=True, precision="fp32")
    assert nhwc.channels_last and not plain.channels_last
    _close(nhwc.history, plain.history, rel=1e-4)
    assert nhwc_acc == pytest.approx(plain_acc, abs=0.01)


def test_1d_net_run_as_images_trains_the_same_history_as_plain_1d():
    histories = {}
    for channels_last in (False, True):
        torch.manual_seed(0)
        trainer = Trainer(build_model(SIGNAL_NET, (1, 64)), _signals(),
                          TrainConfig(epochs=3, batch_size=32, channels_last=channels_last, precision="fp32"), seed=0)
        assert trainer.channels_last == channels_last
        histories[channels_last] = trainer.fit()
        state = trainer.model.state_dict()
    _close(histories[True], histories[False], rel=1e-4)
    assert int(state["layers.batchnorm1.num_batches_tracked"]) == 3 * 4  # the twin updated the real buffers


def test_channels_last_auto_is_on_for_conv_nets_it_can_run(digits_cfg):
    from convscope.api import prepare
    from convscope.config import load_config

    cfg = load_config(digits_cfg)
    data, model = prepare(cfg)
    assert Trainer(model, data, cfg.train, seed=0).channels_last  # auto, 2D convs, CPU
    signal_net = [{"conv": {"filters": 4, "kernel": 3}}, "global_avg_pool", {"dense": 2}]
    assert Trainer(build_model(signal_net, (1, 64)), _signals(), TrainConfig(), seed=0).channels_last
    keras_same = [{"conv": {"filters": 4, "kernel": 4, "padding": "same"}}, "global_avg_pool", {"dense": 2}]
    assert not Trainer(build_model(keras_same, (1, 64)), _signals(), TrainConfig(channels_last=True),
                       seed=0).channels_last  # an even 'same' kernel pads asymmetrically: no twin for it
    mlp = ["flatten", {"dense": 2}]
    assert not Trainer(build_model(mlp, (1, 64)), _signals(), TrainConfig(channels_last=True), seed=0).channels_last


def test_bf16_autocast_learns_as_well_as_float32_and_reproduces(digits_cfg):
    fp32, fp32_acc = _fit(digits_cfg, precision="fp32", epochs=4)
    bf16, bf16_acc = _fit(digits_cfg, precision="bf16", epochs=4)
    again, _ = _fit(digits_cfg, precision="bf16", epochs=4)
    assert _numbers(again.history) == _numbers(bf16.history)  # bf16 is as reproducible as float32
    assert _numbers(bf16.history) != _numbers(fp32.history)  # the knob is really on
    assert bf16.history[-1]["train_loss"] == pytest.approx(fp32.history[-1]["train_loss"], rel=0.15)
    assert bf16_acc == pytest.approx(fp32_acc, abs=0.03)


def test_precision_auto_is_fp32_for_dense_only_nets():
    mlp = build_model(["flatten", {"dense": 8, "activation": "relu"}, {"dense": 2}], (1, 64))
    assert Trainer(mlp, _signals(), TrainConfig(), seed=0).precision == "fp32"


def test_bf16_run_test_metrics_agree_with_its_float32_weights(digits_cfg):
    from convscope.api import prepare

    digits_cfg["train"].update(precision="bf16", epochs=2)
    run = convscope.run(digits_cfg)
    data, _ = prepare(run.config)
    with torch.no_grad():
        expected = run.model(data.x_test).argmax(1)  # the stored weights, reloaded into a plain float32 model
    fp32_accuracy = float((expected == data.y_test).float().mean())
    assert run.test_metrics["test_accuracy"] == pytest.approx(fp32_accuracy, abs=2.5 / len(data.y_test))


def test_resumed_channels_last_training_matches_an_uninterrupted_one(digits_cfg, tmp_path):
    from convscope.api import prepare
    from convscope.config import load_config

    digits_cfg["model"]["layers"] = BN_NET_2D
    cfg = load_config(digits_cfg)

    def trainer():
        data, model = prepare(cfg)
        return Trainer(model, data, cfg.train, seed=cfg.seed)

    whole = trainer()
    whole.fit()
    first = trainer()
    first.cfg = cfg.train.model_copy(update={"epochs": 1})
    first.fit()
    first.save_state(tmp_path / "state.safetensors", epoch=1)
    second = trainer()
    second.load_state(tmp_path / "state.safetensors")
    assert second.channels_last
    second.fit()
    assert _numbers(second.history) == _numbers(whole.history)


def test_match_state_layout_gives_moments_their_parameters_strides():
    p = nn.Parameter(torch.randn(4, 3, 2, 2).contiguous(memory_format=torch.channels_last))
    opt = torch.optim.Adam([p], fused=True)
    p.grad = torch.ones_like(p)
    opt.step()
    opt.state[p]["exp_avg"] = opt.state[p]["exp_avg"].contiguous()  # as a checkpoint loads it
    match_state_layout(opt)
    assert opt.state[p]["exp_avg"].stride() == p.stride()
    assert torch.equal(opt.state[p]["exp_avg"], torch.full_like(p, 0.1))


# -- evaluation: the same outputs ---------------------------------------------------------------


def _trained_bn_net(spec, shape, steps: int = 5) -> nn.Module:
    torch.manual_seed(0)
    net = build_model(spec, shape)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(steps):  # moves the running statistics and the affine parameters away from their init
        loss = net(torch.randn(16, *shape)).logsumexp(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 64)])
def test_folded_batchnorm_matches_unfolded_up_to_float_error(shape):
    net = _trained_bn_net(BN_NET_2D if len(shape) == 3 else SIGNAL_NET, shape)
    before = copy.deepcopy(net.state_dict())
    folded = fold_batchnorm(net)
    x = torch.randn(32, *shape)
    with torch.no_grad():
        assert torch.allclose(folded(x), net(x), atol=1e-5, rtol=1e-4)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    for key, value in net.state_dict().items():  # the original is untouched
        assert torch.equal(value, before[key])


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 64)])
def test_inference_twin_matches_the_plain_eval_forward(shape):
    net = _trained_bn_net(BN_NET_2D if len(shape) == 3 else SIGNAL_NET, shape)
    twin = fold_batchnorm(net)
    if len(shape) == 2:
        twin = window_convs(signals_as_images(twin))
    twin = fuse_for_inference(twin)
    relus = sum(type(m) is nn.ReLU for m in twin.modules())
    assert relus == (1 if len(shape) == 3 else 0)  # fused into the convs; the dense layer's ReLU stays
    assert not any(type(m) is nn.MaxPool2d for m in twin.modules())  # swapped for maxima of strided views
    x = torch.randn(32, *shape)
    with torch.inference_mode():
        assert torch.allclose(twin(x), net(x), atol=1e-5, rtol=1e-4)


def test_folded_network_shares_activations_so_their_hooks_fire_and_stay_unfused():
    net = _trained_bn_net(BN_NET_2D, (1, 8, 8))
    seen = []
    net.layers.relu1.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    with torch.no_grad():
        fuse_for_inference(fold_batchnorm(net))(torch.randn(4, 1, 8, 8))
    assert seen == [torch.Size([4, 6, 8, 8])]


def test_fold_refuses_a_model_in_training_mode():
    with pytest.raises(ValueError, match="eval"):
        fold_batchnorm(build_model(BN_NET_2D, (1, 8, 8)))


@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 1e-5), ("bf16", 3e-2)])
def test_trainer_predict_matches_the_plain_eval_forward(precision, tolerance):
    net = _trained_bn_net(BN_NET_2D, (1, 8, 8))
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(64, 1, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)
    data = Dataset(x, y, x, y, None, None, [str(i) for i in range(10)], name="t")
    with torch.no_grad():
        expected = net(x)
    trainer = Trainer(net, data, TrainConfig(eval_batch_size=24, precision=precision), seed=0)  # chunks of 24
    logits, prob = trainer.predict(x)
    assert torch.allclose(logits, expected, atol=tolerance, rtol=tolerance)
    assert torch.allclose(prob.sum(dim=1), torch.ones(64))


def test_1d_net_predicts_like_the_plain_model():
    data = _signals()
    torch.manual_seed(0)
    trainer = Trainer(build_model(SIGNAL_NET, (1, 64)), data,
                      TrainConfig(epochs=2, batch_size=32, precision="fp32"), seed=0)
    trainer.fit()
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(data.x_val)
    assert torch.allclose(trainer.predict(data.x_val)[0], expected, atol=1e-5, rtol=1e-4)
