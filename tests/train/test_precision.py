"""train.precision: fp16 (float16 autocast with PyTorch's loss scaler) on a GPU; refused on a CPU with one line."""

from __future__ import annotations

import pytest
import torch

import convscope
from convscope.errors import ConfigError
from convscope.train.speedups import autocast, grad_scaler


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_a_gpu_run_learns_in_each_precision_and_predicts_as_it_was_evaluated(digits_cfg, precision):
    digits_cfg["train"].update(device="cuda", precision=precision)
    run = convscope.run(digits_cfg)
    assert run.status == "completed"
    assert run.info.env["precision"] == precision and run.info.env["device"].startswith("cuda")
    assert run.test_metrics["test_accuracy"] > 0.8  # chance is 0.1
    # the stored weights (saved from the GPU) reload and give the stored test accuracy, evaluated on the GPU in
    # the run's precision as the trainer evaluated it
    from convscope.api import prepare
    from convscope.inference.engine import infer

    data, _ = prepare(run.config)
    loaded = convscope.load_run(run.id)
    _, prob = infer(loaded.model, data.x_test, precision=precision, device="cuda")
    accuracy = float((prob.argmax(dim=1).cpu() == data.y_test).float().mean())
    assert accuracy == pytest.approx(run.test_metrics["test_accuracy"])


@pytest.mark.cuda
def test_a_gpu_run_repeats_to_the_last_bit_and_a_nondeterministic_one_still_learns(digits_cfg):
    digits_cfg["train"].update(device="cuda", precision="fp32")
    digits_cfg["model"]["layers"].insert(3, {"dropout": 0.3})  # the device's generator draws every step
    a, b = convscope.run(digits_cfg), convscope.run(digits_cfg)
    numbers = [[{k: v for k, v in row.items() if k not in ("seconds", "health")} for row in r.history] for r in (a, b)]
    assert numbers[0] == numbers[1]  # train.deterministic (the default): cuDNN's deterministic algorithms
    digits_cfg["train"]["deterministic"] = False  # cuDNN times and picks the fastest
    fast = convscope.run(digits_cfg)
    assert fast.test_metrics["test_accuracy"] > 0.8
    assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic


def test_fp16_on_the_cpu_is_one_line_naming_the_field_and_the_choices(digits_cfg):
    digits_cfg["train"].update(device="cpu", precision="fp16")
    with pytest.raises(ConfigError, match="train.precision: fp16 is for GPUs") as caught:
        convscope.run(digits_cfg)
    assert "bf16" in caught.value.hint


def test_only_fp16_gets_a_loss_scaler_and_each_precision_its_autocast_dtype():
    cpu = torch.device("cpu")
    assert grad_scaler(cpu, "fp32") is None and grad_scaler(cpu, "bf16") is None
    assert grad_scaler(cpu, "fp16") is not None
    assert autocast(cpu, "fp32") is None
    assert autocast(cpu, "bf16").fast_dtype == torch.bfloat16
    assert autocast(cpu, "fp16").fast_dtype == torch.float16


def test_an_unknown_precision_is_one_line_naming_the_field(digits_cfg):
    digits_cfg["train"]["precision"] = "fp8"
    with pytest.raises(ConfigError, match="train.precision"):
        convscope.run(digits_cfg)
