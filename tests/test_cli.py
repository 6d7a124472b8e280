"""The convscope command: run/runs/show/summary, and one clear line + exit code 2 for every user mistake."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from convscope.cli import app
from convscope.store import Store

runner = CliRunner()


def _write(tmp_path, cfg, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_run_runs_show_summary(tmp_path, digits_cfg):
    path = _write(tmp_path, digits_cfg)
    result = runner.invoke(app, ["run", str(path), "--set", "train.epochs=2"])
    assert result.exit_code == 0, result.output
    assert "test" in result.output and "stored in" in result.output
    assert "report.html" in result.output and (tmp_path / "runs" / "runs" / "1" / "report.html").exists()
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0 and "digits-cnn" in listing.output and "completed" in listing.output
    show = runner.invoke(app, ["show", "1"])
    assert show.exit_code == 0, show.output
    assert "per-epoch history" in show.output and "curves.png" in show.output
    summary = runner.invoke(app, ["summary", str(path)])
    assert summary.exit_code == 0, summary.output
    assert "Total" in summary.output or "total" in summary.output


def _expect_error(tmp_path, cfg, *needles):
    path = _write(tmp_path, cfg)
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output
    assert Store().runs() == []  # nothing written for input that fails validation
    return result


def test_unknown_field_with_did_you_mean(tmp_path, digits_cfg):
    digits_cfg["train"]["epoch"] = 3
    _expect_error(tmp_path, digits_cfg, "train.epoch: unknown field", "did you mean 'epochs'")


def test_wrong_type(tmp_path, digits_cfg):
    digits_cfg["train"]["batch_size"] = "large"
    _expect_error(tmp_path, digits_cfg, "train.batch_size")


def test_undefined_param(tmp_path, digits_cfg):
    digits_cfg["train"]["optimizer"]["lr"] = "${learning_rate}"
    _expect_error(tmp_path, digits_cfg, "'${learning_rate}' is not defined in params")


def test_unknown_layer(tmp_path, digits_cfg):
    digits_cfg["model"]["layers"][1] = {"maxpooling": 2}
    _expect_error(tmp_path, digits_cfg, "maxpooling", "maxpool")


def test_impossible_shapes_name_the_layer(tmp_path, digits_cfg):
    digits_cfg["model"]["layers"] = [{"maxpool": 2}, {"maxpool": 2}, {"conv": {"filters": 4, "kernel": 5}},
                                     "flatten", {"dense": 10}]
    _expect_error(tmp_path, digits_cfg, "layers[2]", "(1, 2, 2)")


def test_missing_data_files(tmp_path, digits_cfg):
    digits_cfg["data"] = {"source": "mnist", "path": str(tmp_path / "nowhere")}
    _expect_error(tmp_path, digits_cfg, "nowhere")


def test_empty_dataset(tmp_path, digits_cfg):
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 1, 8, 8), np.float32), y=np.zeros((0,), np.int64))
    digits_cfg["data"] = {"source": "npz", "path": str(tmp_path / "empty.npz")}
    _expect_error(tmp_path, digits_cfg, "empty")


def test_wrong_number_of_outputs(tmp_path, digits_cfg):
    digits_cfg["model"]["layers"][-1] = {"dense": 3}
    result = runner.invoke(app, ["run", str(_write(tmp_path, digits_cfg))])
    assert result.exit_code == 2 and "10 classes" in result.output and "units: 10" in result.output


def test_unknown_run_id():
    result = runner.invoke(app, ["show", "42"])
    assert result.exit_code == 2 and "no run 42" in result.output


@pytest.mark.parametrize("args", [["run", "missing.yaml"], ["summary", "missing.yaml"]])
def test_missing_config_file(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "no such config file" in result.output
