"""``train.log``: names and options checked when the config loads, a missing extra named in one line
before any run is written, ``--log`` on the command line."""

from __future__ import annotations

import sys

import pytest
import yaml
from typer.testing import CliRunner

from convscope import api
from convscope.cli import app
from convscope.config import load_config
from convscope.errors import ConfigError
from convscope.store import Store
from convscope.train.loggers import LOGGERS, parse_log, require

runner = CliRunner()


def test_registry_discovers_each_logger_file():
    assert LOGGERS.names() == ["mlflow", "tensorboard"]
    assert LOGGERS.field == "train.log"


def test_log_accepts_names_and_options(digits_cfg):
    digits_cfg["train"]["log"] = ["tensorboard", {"mlflow": {"experiment": "demo", "report": False}}]
    cfg = load_config(digits_cfg)
    assert parse_log(cfg.train.log) == [("tensorboard", {}), ("mlflow", {"experiment": "demo", "report": False})]
    assert [cls.__name__ for cls, _ in require(cfg.train.log)] == ["TensorBoardLogger", "MlflowLogger"]


@pytest.mark.parametrize(("log", "needles"), [
    (["tensorbord"], ["train.log", "unknown logger 'tensorbord'", "did you mean 'tensorboard'"]),
    ([{"mlflow": {"experimnt": "x"}}], ["train.log", "mlflow.experimnt", "known: uri, experiment"]),
    ([{"tensorboard": {"histogram_every": 0}}], ["train.log", "histogram_every", "greater than or equal to 1"]),
    ([42], ["train.log", "expected a logger name"]),
])
def test_a_bad_log_entry_is_one_config_error(digits_cfg, log, needles):
    digits_cfg["train"]["log"] = log
    with pytest.raises(ConfigError) as err:
        load_config(digits_cfg, source="exp.yaml")
    message = str(err.value)
    assert message.startswith("exp.yaml: train.log"), message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(("logger", "package", "extra"), [
    ("tensorboard", "tensorboard", "tensorboard"),
    ("mlflow", "mlflow", "mlflow"),
])
def test_a_missing_extra_says_what_to_install_before_a_run_exists(tmp_path, digits_cfg, monkeypatch, logger,
                                                                   package, extra):
    monkeypatch.setitem(sys.modules, package, None)  # how Python spells "not installed" to importlib
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(digits_cfg))
    result = runner.invoke(app, ["run", str(path), "--log", logger])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if "error" in line or "hint" in line]
    assert errors == [f"error: {path}: train.log: {logger} needs the '{package}' package: "
                      f'pip install "convscope[{extra}]"'], result.output
    assert Store(tmp_path / "runs").runs() == []  # nothing written


def test_cli_log_option_sets_train_log(tmp_path, digits_cfg):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(digits_cfg))
    result = runner.invoke(app, ["run", str(path), "--log", "tensorboard", "--set", "train.epochs=1", "--no-report"])
    assert result.exit_code == 0, result.output
    run = api.load_run(1)
    assert run.config.train.log == ["tensorboard"]
    assert any((tmp_path / "runs" / "tensorboard" / "run-1-digits-cnn").glob("events.out.tfevents.*"))
    resumed = runner.invoke(app, ["run", "--resume", "1", "--log", "mlflow"])
    assert resumed.exit_code == 2 and "a resumed run keeps the loggers it started with" in resumed.output
