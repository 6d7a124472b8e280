"""HealthMonitor: a compact per-layer summary each epoch, read off the trainer's own validation pass."""

from __future__ import annotations

import pytest
import torch

import convscope
from convscope.api import prepare
from convscope.config import load_config
from convscope.train.callbacks import Callback
from convscope.train.health import HealthMonitor
from convscope.train.trainer import Trainer


def _train(cfg_dict: dict, monitor: HealthMonitor, *before: Callback) -> Trainer:
    cfg = load_config(cfg_dict)
    data, model = prepare(cfg)
    trainer = Trainer(model, data, cfg.train, seed=cfg.seed, callbacks=[*before, monitor])
    trainer.fit()
    return trainer


class ScaleWeights(Callback):
    """Before training, multiply every dense layer's weights by ``scale``."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def on_train_begin(self, trainer: Trainer) -> None:
        with torch.no_grad():
            for module in trainer.model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.weight.mul_(self.scale)


class OwnPass(HealthMonitor):
    """Never rides on the trainer's validation pass: always runs its own."""

    def on_train_begin(self, trainer: Trainer) -> None:
        super().on_train_begin(trainer)
        self.piggyback = False


def test_summary_is_compact_and_uses_the_trainers_validation_pass(digits_cfg, monkeypatch):
    def no_own_pass(self, trainer):  # noqa: ANN001
        raise AssertionError("the trainer's validation pass should have been observed")

    monkeypatch.setattr(HealthMonitor, "_own_pass", no_own_pass)
    trainer = _train(digits_cfg, HealthMonitor())
    health = trainer.health
    assert 1 <= health["grad_steps"] <= 10  # a few sampled steps per epoch, not every step
    assert list(health["layers"]) == ["conv1", "dense1", "dense2"]
    conv = health["layers"]["conv1"]
    assert set(conv) == {"type", "act", "grad_norm", "act_mean", "act_std", "units", "dead_frac"}  # pre_max: epoch 1
    assert conv["type"] == "conv" and conv["act"] == "relu" and conv["units"] == 8
    assert 0 <= conv["dead_frac"] <= 1 and conv["act_mean"] >= 0
    assert set(health["layers"]["dense2"]) == {"type", "grad_norm"}  # the output: its softmax is in the loss


def test_own_pass_gives_the_same_statistics(digits_cfg):
    # the validation split (360 samples) fits in the fallback's 1024: both ways see the same data;
    # float32, because the own pass runs the plain module and a bf16 validation pass rounds differently
    digits_cfg["train"]["precision"] = "fp32"
    riding, own = _train(digits_cfg, HealthMonitor()).health, _train(digits_cfg, OwnPass()).health
    for name, stats in riding["layers"].items():
        for key, value in stats.items():
            expected = value if isinstance(value, str) else pytest.approx(value, rel=1e-5, abs=1e-7)
            assert own["layers"][name][key] == expected, (name, key)


def test_sigmoid_and_tanh_report_saturation(digits_cfg):
    digits_cfg["model"]["layers"] = ["flatten", {"dense": {"units": 16, "activation": "sigmoid"}},
                                     {"dense": {"units": 16, "activation": "tanh"}}, {"dense": 10}]
    digits_cfg["train"].update(epochs=1, optimizer={"name": "sgd", "lr": 1e-9})  # the weights stay as scaled

    def saturation(scale: float) -> dict[str, float]:
        layers = _train(digits_cfg, HealthMonitor(), ScaleWeights(scale)).health["layers"]
        assert (layers["dense1"]["act"], layers["dense2"]["act"]) == ("sigmoid", "tanh")
        assert "dead_frac" not in layers["dense2"]
        return {name: layers[name]["saturated_frac"] for name in ("dense1", "dense2")}

    # tiny weights: every pre-activation near 0, outputs mid-range (0.5 and 0): nothing within 1% of a bound
    assert saturation(1e-3) == {"dense1": 0.0, "dense2": 0.0}
    # huge weights: |pre-activation| in the hundreds, outputs pinned to the bounds
    assert all(frac > 0.9 for frac in saturation(100.0).values())


def test_every_stored_epoch_has_its_health(digits_cfg):
    run = convscope.run(digits_cfg)
    grads = [h["health"]["layers"]["conv1"]["grad_norm"] for h in run.history]
    assert len(grads) == 3 and len(set(grads)) == 3  # each epoch its own numbers
    assert [("pre_max" in h["health"]["layers"]["conv1"]) for h in run.history] == [True, False, False]
    assert run.history[0]["health"]["layers"]["conv1"]["pre_max"] > 0
