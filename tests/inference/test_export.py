"""``convscope export``: a model file with a dynamic batch dimension and a sidecar, usable without convscope,
verified against PyTorch on real validation samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from convscope.cli import app
from convscope.errors import ConfigError
from convscope.inference.export import export_run
from convscope.insight.run_parts import run_data

runner = CliRunner()


@pytest.mark.parametrize("which", ["ecg_run", "digits_run"])
def test_onnx_runs_without_convscope_at_any_batch(which, request, tmp_path):
    import onnxruntime as ort

    run = request.getfixturevalue(which)
    result = export_run(run, fmt="onnx", out=tmp_path / "model.onnx")
    assert result.max_abs_diff < 1e-4 and result.samples > 1
    sidecar = json.loads(result.sidecar.read_text())
    assert sidecar["input"]["shape"] == ["batch", *run.info.input_shape]
    assert sidecar["class_names"] == run.info.class_names and sidecar["output"]["kind"] == "logits"
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    x = run_data(run).x_val[:5].numpy()
    logits = session.run(None, {sidecar["input"]["name"]: x})[0]  # batch 5, exported with batch 2
    with torch.no_grad():
        expected = run.model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_the_ecg_sidecar_carries_the_pipeline(ecg_run, tmp_path):
    sidecar = json.loads(export_run(ecg_run, fmt="torchscript", out=tmp_path / "m.pt").sidecar.read_text())
    pre = sidecar["preprocessing"]
    assert (pre["sample_rate_hz"], pre["leads"], pre["window_s"], pre["stride_s"]) == (250.0, ["ii", "v1"], 2, 1)
    assert pre["filter_hz"] == [0.5, 40] and pre["normalize"] == "window"
    assert sidecar["threshold"] == ecg_run.info.threshold
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    assert loaded(torch.zeros(3, 2, 500)).shape == (3, 2)


def test_cli_export_prints_the_difference(digits_run, tmp_path):
    out = tmp_path / "digits.pt"
    result = runner.invoke(app, ["export", str(digits_run.id), "--format", "torchscript", "--out", str(out),
                                 "--home", str(digits_run.home)])
    assert result.exit_code == 0, result.output
    assert "largest |logit difference| from PyTorch" in result.output
    assert out.is_file() and (tmp_path / "digits.pt.json").is_file()
    assert not list(tmp_path.glob(".*tmp*"))


def test_unknown_format_is_one_line(digits_run, tmp_path):
    with pytest.raises(ConfigError, match="unknown export format 'onx'"):
        export_run(digits_run, fmt="onx", out=tmp_path / "m.onx")
    result = runner.invoke(app, ["export", str(digits_run.id), "--format", "onx", "--home", str(digits_run.home)])
    assert result.exit_code == 2 and "did you mean 'onnx'" in result.output
