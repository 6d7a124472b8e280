"""Each verdict fires on a run built to have the problem, and a healthy run gets none of them.

The runs are real (``convscope.run`` on the built-in 8x8 digits); the verdicts are read back from the
store, where ``run()`` put them, so this also checks the wiring.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import convscope
from convscope.insight.diagnose import diagnose
from convscope.train.callbacks import Callback

PROBLEMS = {"overfitting", "not_learning", "underfitting", "divergence", "vanishing_gradients",
            "exploding_gradients", "no_gradient", "dead_relu", "saturation", "large_activations"}


class Reinit(Callback):
    """Before training, scale every conv/dense weight by ``scale`` and set every bias to ``bias``."""

    def __init__(self, *, scale: float = 1.0, bias: float | None = None) -> None:
        self.scale, self.bias = scale, bias

    def on_train_begin(self, trainer) -> None:  # noqa: ANN001
        with torch.no_grad():
            for m in trainer.model.modules():
                if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d):
                    m.weight.mul_(self.scale)
                    if self.bias is not None and m.bias is not None:
                        m.bias.fill_(self.bias)


def _verdicts(run) -> dict[str, dict]:
    return {v["kind"]: v for v in run.info.diagnosis}


def _dense_stack(cfg: dict, *, units: int, depth: int, activation: str) -> dict:
    cfg["model"]["layers"] = ["flatten", *[{"dense": {"units": units, "activation": activation}}] * depth,
                              {"dense": 10}]
    return cfg


def test_healthy_run_gets_no_verdict(digits_cfg):
    digits_cfg["train"]["epochs"] = 10
    run = convscope.run(digits_cfg)
    assert run.test_metrics["test_accuracy"] > 0.9
    assert not PROBLEMS & set(_verdicts(run)), run.info.diagnosis
    assert all(h["health"]["layers"] for h in run.history)


def test_small_net_on_100_samples_overfits(digits_cfg):
    digits_cfg["data"]["limit"] = 100
    digits_cfg["train"].update(epochs=40, batch_size=16)
    _dense_stack(digits_cfg, units=64, depth=2, activation="relu")  # 3 dense layers
    run = convscope.run(digits_cfg)
    v = _verdicts(run)["overfitting"]
    best = min(run.history, key=lambda h: h["val_loss"])
    assert v["data"]["best_epoch"] == best["epoch"] == run.best_epoch
    assert v["data"]["epochs_after"] == 40 - best["epoch"] >= 2
    assert f"val loss minimal at epoch {best['epoch']} ({best['val_loss']:.3f})" in v["text"]
    assert "final train acc 100.0% vs val" in v["text"] and "epochs after the optimum" in v["text"]
    assert v["short"] == f"overfits from epoch {best['epoch']}"


def test_tiny_learning_rate_is_not_learning(digits_cfg):
    digits_cfg["train"].update(epochs=3, optimizer={"name": "sgd", "lr": 1e-5})
    v = _verdicts(convscope.run(digits_cfg))["not_learning"]
    assert v["severity"] == "error" and "ln(10) = 2.303" in v["text"]


def test_one_unit_bottleneck_underfits(digits_cfg):
    digits_cfg["train"]["epochs"] = 4
    digits_cfg["model"]["layers"] = ["flatten", {"dense": 1}, {"dense": 10}]
    v = _verdicts(convscope.run(digits_cfg))["underfitting"]
    assert v["data"]["best_train_accuracy"] < 0.9 and v["data"]["best_val_accuracy"] < 0.9


def test_huge_learning_rate_diverges_and_its_gradients_explode(digits_cfg):
    digits_cfg["train"].update(epochs=5, optimizer={"name": "sgd", "lr": 1.0e12})
    run = convscope.run(digits_cfg)
    assert run.status == "diverged"
    verdicts = _verdicts(run)
    epoch = run.history[-1]["epoch"]
    assert verdicts["divergence"]["data"]["epoch"] == epoch
    assert f"NaN at epoch {epoch}" in verdicts["divergence"]["text"]
    assert "exploding_gradients" in verdicts


def test_rising_loss_without_nan_is_divergence():
    history = [{"epoch": e, "train_loss": t, "val_loss": t} for e, t in enumerate([2.0, 2.5, 4.0, 9.0], 1)]
    (v,) = diagnose(history, num_classes=10)
    assert v.kind == "divergence" and "rose from 2.000 (epoch 1) to 9.000 (epoch 4)" in v.text


def test_deep_sigmoid_stack_vanishes(digits_cfg):
    digits_cfg["train"].update(epochs=3, optimizer={"name": "sgd", "lr": 0.1})
    run = convscope.run(_dense_stack(digits_cfg, units=32, depth=8, activation="sigmoid"))
    v = _verdicts(run)["vanishing_gradients"]
    assert v["layer"] == "dense1" and v["severity"] == "error"
    assert v["data"]["ratio_first_epoch"] < 1e-3 and "dense9" in v["text"]


def test_large_init_explodes_the_gradients(digits_cfg):
    digits_cfg["train"].update(epochs=2, optimizer={"name": "sgd", "lr": 1e-6})
    run = convscope.run(_dense_stack(digits_cfg, units=32, depth=8, activation="relu"), callbacks=[Reinit(scale=3)])
    verdicts = _verdicts(run)
    assert verdicts["exploding_gradients"]["data"]["grad_norms"]["dense1"] > 100
    assert verdicts["large_activations"]["layer"] == "dense8"  # the deepest layer grew the most


def test_strongly_negative_biases_kill_the_relus(digits_cfg):
    run = convscope.run(digits_cfg, callbacks=[Reinit(bias=-5.0)])
    verdicts = _verdicts(run)
    dead = verdicts["dead_relu"]
    assert dead["severity"] == "error" and dead["data"]["dead_frac"] == {"conv1": 1.0, "dense1": 1.0}
    assert "conv1 (8 of 8 channels), dense1 (32 of 32 units)" in dead["text"]
    assert verdicts["no_gradient"]["layer"] == "conv1"


def test_large_init_saturates_a_sigmoid_stack(digits_cfg):
    digits_cfg["train"].update(epochs=2, optimizer={"name": "sgd", "lr": 0.1})
    run = convscope.run(_dense_stack(digits_cfg, units=32, depth=4, activation="sigmoid"), callbacks=[Reinit(scale=20)])
    v = _verdicts(run)["saturation"]
    assert v["layer"] in {"dense1", "dense2", "dense3", "dense4"}
    assert all(f >= 0.5 for f in v["data"]["saturated_frac"].values()) and "sigmoid" in v["text"]


def test_large_first_epoch_activations_name_the_layer(digits_cfg):
    run = convscope.run(digits_cfg, callbacks=[Reinit(scale=30)])
    v = _verdicts(run)["large_activations"]
    assert v["layer"] == "dense1" and v["data"]["epoch"] == 1 and v["data"]["pre_max"]["dense1"] >= 100


def test_output_layer_activation_is_not_judged():
    # a sigmoid at the output is saturated by design once the model is confident: not a verdict
    layer = {"type": "dense", "act": "sigmoid", "grad_norm": 0.1, "saturated_frac": 0.99, "pre_max": 8.0}
    history = [{"epoch": 1, "train_loss": 0.2, "val_loss": 0.2,
                "health": {"layers": {"dense1": {"type": "dense", "act": "relu", "grad_norm": 0.1, "dead_frac": 0.1,
                                                 "units": 10}, "dense2": layer}}}]
    assert diagnose(history, num_classes=2) == []


def test_show_prints_the_verdicts(digits_cfg):
    from typer.testing import CliRunner

    from convscope.cli import app

    digits_cfg["train"].update(epochs=3, optimizer={"name": "sgd", "lr": 1e-5})
    run = convscope.run(digits_cfg)
    result = CliRunner().invoke(app, ["show", str(run.id)])
    assert result.exit_code == 0 and "verdict:" in result.output and "not learning" in result.output


@pytest.mark.parametrize("health", [True, False])
def test_health_switch(digits_cfg, health):
    digits_cfg["train"].update(epochs=1, health=health)
    run = convscope.run(digits_cfg)
    assert ("health" in run.history[0]) is health
    if health:
        layers = run.history[0]["health"]["layers"]
        assert list(layers) == ["conv1", "dense1", "dense2"]
        assert layers["conv1"]["act"] == "relu" and math.isfinite(layers["conv1"]["grad_norm"])


def _learning(val_losses: list[float]) -> list[dict]:
    """A run whose losses fall every epoch, ending at ``val_losses``; accuracy rises well above chance."""
    return [{"epoch": e, "train_loss": 0.9 * v, "val_loss": v, "train_accuracy": 1 - v / 30, "val_accuracy": 1 - v / 25}
            for e, v in enumerate(val_losses, 1)]


def test_val_loss_still_falling_at_the_end_says_train_longer():
    (v,) = diagnose(_learning([1.2, 0.8, 0.6, 0.5]), num_classes=10)  # -16.7% in the last epoch
    assert (v.kind, v.severity, v.short) == ("still_improving", "info", "still improving")
    assert "0.600 → 0.500" in v.text and "more epochs would likely help" in v.text
    assert v.data == {"previous_val_loss": 0.6, "final_val_loss": 0.5}


def test_a_flat_last_epoch_is_not_still_improving():
    # the best epoch is the last, but it gained under STILL_IMPROVING (2%): the curve has levelled off
    assert diagnose(_learning([1.2, 0.8, 0.6, 0.595]), num_classes=10) == []
