"""``train.log: [tensorboard]``: a real run writes event files, read back with TensorBoard's own reader."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import convscope
from convscope.store import Store
from convscope.train.callbacks import Callback
from convscope.train.loggers.tensorboard import kernel_image, tag_of

EVERYTHING = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}


def _events(folder):
    events = EventAccumulator(str(folder), size_guidance=EVERYTHING)
    events.Reload()
    return events


class StopAt(Callback):
    """Ctrl-C after epoch ``epoch`` has been logged (a real KeyboardInterrupt through the trainer)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):  # noqa: ANN001
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_run_logs_metrics_health_histograms_and_kernels(tmp_path, digits_cfg):
    digits_cfg["train"].update(epochs=2, log=["tensorboard"])
    run = convscope.run(digits_cfg)
    folder = tmp_path / "runs" / "tensorboard" / f"run-{run.id}-digits-cnn"
    events = _events(folder)
    tags = events.Tags()

    # every stored metric, every epoch, with the stored value
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"):
        logged = [(e.step, e.value) for e in events.Scalars(tag_of(key))]
        assert logged == [(row["epoch"], pytest.approx(row[key], rel=1e-6)) for row in run.history], key
    for key, value in run.test_metrics.items():
        assert events.Scalars(tag_of(key))[-1].value == pytest.approx(value, rel=1e-6)

    # the health monitor's per-layer numbers, as the store holds them
    stored = Store(tmp_path / "runs").epochs(run.id)
    for layer in ("conv1", "dense1", "dense2"):
        logged = [e.value for e in events.Scalars(f"grad_norm/{layer}")]
        assert logged == [pytest.approx(row["health"]["layers"][layer]["grad_norm"], rel=1e-6) for row in stored]
    assert "act_std/conv1" in tags["scalars"] and "dead_frac/dense1" in tags["scalars"]

    # weight histograms of every layer each epoch; the last one describes the last weights
    last = load_file(str(run.dir / "last.safetensors"))
    for layer in ("conv1", "dense1", "dense2"):
        histograms = events.Histograms(f"weights/{layer}")
        assert [h.step for h in histograms] == [1, 2]
        weight = last[f"model.layers.{layer}.weight"]
        assert histograms[-1].histogram_value.num == weight.numel()
        assert histograms[-1].histogram_value.min == pytest.approx(float(weight.min()), rel=1e-6)
        assert histograms[-1].histogram_value.max == pytest.approx(float(weight.max()), rel=1e-6)

    # the first conv's kernels: a lossless picture of the last weights
    image = events.Images("kernels/conv1")[-1]
    pixels = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert("RGB"))
    np.testing.assert_array_equal(pixels, kernel_image(last["model.layers.conv1.weight"]))

    status = events.Tensors("status/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert "completed" in status and "ran all 2 epochs" in status


def test_a_resumed_run_continues_its_curves_without_duplicate_epochs(tmp_path, digits_cfg):
    # no checkpoint after epoch 1 (checkpoint_every 2): the resumed run retrains it, and the events the
    # killed process wrote for it must be dropped, not doubled
    digits_cfg["train"].update(epochs=3, log=["tensorboard"], checkpoint_every=2)
    with pytest.raises(KeyboardInterrupt):
        convscope.run(digits_cfg, callbacks=[StopAt(1)])
    folder = tmp_path / "runs" / "tensorboard" / "run-1-digits-cnn"
    killed = _events(folder)
    assert [e.step for e in killed.Scalars("loss/val")] == [1]
    assert "interrupted" in killed.Tensors("status/text_summary")[-1].tensor_proto.string_val[0].decode()

    run = convscope.run(resume=1)
    events = _events(folder)
    logged = [(e.step, e.value) for e in events.Scalars("loss/val")]
    assert logged == [(row["epoch"], pytest.approx(row["val_loss"], rel=1e-6)) for row in run.history]
    assert [step for step, _ in logged] == [1, 2, 3]


def test_kernel_image_is_red_for_positive_and_blue_for_negative_weights():
    weight = torch.zeros(2, 1, 1, 2)  # (out, in, kh, kw)
    weight[0, 0, 0] = torch.tensor([1.0, -1.0])  # filter 0: strongest positive, strongest negative

    image = kernel_image(weight, scale=1)  # (2 filters + 1 gap row, 2 taps, RGB)
    assert image.shape == (3, 2, 3)
    assert image[0, 0].tolist() == [255, 0, 0] and image[0, 1].tolist() == [0, 0, 255]
    assert image[2, 0].tolist() == [255, 255, 255]  # filter 1 is all zero: white


def test_kernel_image_draws_1d_kernels_as_one_pixel_high_strips():
    image = kernel_image(torch.randn(4, 2, 5), scale=6)  # (out, in, taps) of a signal model's Conv1d
    assert image.shape == (4 * (6 + 1) - 1, 2 * (5 * 6 + 1) - 1, 3)
