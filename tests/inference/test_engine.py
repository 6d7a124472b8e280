"""One inference path: the trainer's stored test numbers, the report's confusion picture and ensemble's
member scores all come from :func:`convscope.inference.infer` and therefore agree exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convscope
from convscope.ensemble import ensemble
from convscope.inference import InferenceSettings, infer, infer_run
from convscope.insight.plots import run_confusion
from convscope.insight.run_parts import run_data
from convscope.models import build_model
from convscope.train import metrics as M


def test_report_confusion_equals_stored_test_confusion(digits_run):
    split, counts, threshold = run_confusion(digits_run)
    assert split == "test"
    assert counts.tolist() == digits_run.info.test_confusion
    assert np.trace(counts) / counts.sum() == digits_run.test_metrics["test_accuracy"]


def test_run_settings_repeat_the_training_precision(digits_run):
    settings = InferenceSettings.for_run(digits_run)
    assert settings.precision == digits_run.info.env["precision"]
    assert settings.batch_size == digits_run.config.train.eval_batch_size


def test_infer_in_fp32_matches_the_eager_model():
    torch.manual_seed(0)
    net = build_model([{"conv": {"filters": 4, "kernel": 3, "activation": "relu", "batchnorm": True}},
                       {"maxpool": 2}, "flatten", {"dense": {"units": 3, "activation": "softmax"}}], (1, 10, 10))
    net.eval()
    x = torch.randn(37, 1, 10, 10)
    logits, prob = infer(net, x, precision="fp32", batch_size=8)
    with torch.no_grad():
        expected = net(x)
    assert torch.allclose(logits, expected, atol=1e-5)
    assert torch.allclose(prob, torch.softmax(expected, dim=1), atol=1e-6)


def test_infer_bf16_rounds_but_keeps_the_shape():
    torch.manual_seed(0)
    net = build_model([{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 2}], (1, 8, 8)).eval()
    x = torch.randn(5, 1, 8, 8)
    fp32, _ = infer(net, x, precision="fp32")
    bf16, _ = infer(net, x, precision="bf16")
    assert bf16.dtype == torch.float32 and bf16.shape == (5, 2)
    assert torch.allclose(fp32, bf16, atol=0.1)


def test_ensemble_members_score_their_stored_test_accuracy(tmp_path):
    torch.set_num_threads(1)
    cfg = {"name": "member", "data": {"source": "builtin:digits",
                                      "split": {"val": 0.2, "test": 0.3, "seed": 0}},
           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "flatten",
                                {"dense": {"units": 10, "activation": "softmax"}}]},
           "train": {"epochs": 2, "batch_size": 64, "health": False}}
    runs = [convscope.run({**cfg, "seed": seed}, home=tmp_path) for seed in (0, 1)]
    result = ensemble([r.id for r in runs], how="mean", home=tmp_path)
    for run in runs:
        assert result.members[run.id] == run.test_metrics["test_accuracy"]


def test_infer_run_reproduces_the_stored_test_metrics(digits_run):
    data = run_data(digits_run)
    _, prob = infer_run(digits_run, data.x_test)
    scores = M.compute(["accuracy"], data.y_test.numpy(), prob)
    assert scores["accuracy"] == digits_run.test_metrics["test_accuracy"]


@pytest.mark.cuda
def test_a_gpu_run_is_evaluated_on_the_gpu_and_its_pictures_still_draw(digits_cfg):
    digits_cfg["train"].update(device="cuda", epochs=1)
    run = convscope.load_run(convscope.run(digits_cfg).id)
    assert InferenceSettings.for_run(run).device == "cuda"
    _, prob = infer_run(run, run_data(run).x_test)
    assert prob.shape == (len(run_data(run).x_test), 10)
    assert next(run.model.parameters()).device.type == "cpu"  # infer_run gave it back where it was
    from convscope.report import run_report

    assert run_report(run).exists()  # every picture (correlation, occlusion, ...) on that model


def test_an_fp16_run_predicts_on_a_cpu_in_float32():
    # what a GPU's fp16 run meets on a CPU-only machine: no float16 convolutions there
    torch.manual_seed(0)
    model = build_model([{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 3}], (1, 16))
    x = torch.randn(5, 1, 16)
    logits, _ = infer(model, x, precision="fp16", device="cpu")
    expected, _ = infer(model, x, precision="fp32", device="cpu")
    assert torch.equal(logits, expected)
