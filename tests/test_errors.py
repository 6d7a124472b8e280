"""Every mistake in a config or the data it names is one line that names the config file (issue 14, item 9),
whether pydantic finds it while parsing or the data, the model builder or the first epoch finds it later."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from convscope.cli import app
from convscope.errors import BuildError, StoreError, naming

BASE = {"name": "t", "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}, "limit": 200},
        "model": {"layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten", {"dense": 10}]},
        "train": {"epochs": 1, "threads": 1}}


def _with(field: str, value) -> dict:
    cfg = copy.deepcopy(BASE)
    *parents, last = field.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return cfg


BAD = {  # what a user gets wrong -> a piece of the line that says what (besides the file name)
    "unknown field": (_with("train.optimzer", "adam"), "train.optimzer"),
    "undefined param": (_with("train.batch_size", "${bs}"), "'${bs}' is not defined"),
    "unknown layer": (_with("model.layers", [{"convv": 3}, "flatten", {"dense": 10}]), "unknown layer 'convv'"),
    "layer argument": (_with("model.layers", [{"conv": {"filters": 2, "kernal": 3}}, "flatten", {"dense": 10}]),
                       "unknown argument 'kernal'"),
    "impossible shapes": (_with("model.layers", [{"conv": {"filters": 2, "kernel": 30}}, "flatten", {"dense": 10}]),
                          "smaller than the kernel"),
    "outputs vs classes": (_with("model.layers", ["flatten", {"dense": 3}]), "outputs 3 units"),
    "unknown preset": (_with("model", {"preset": "lenet6"}), "unknown preset 'lenet6'"),
    "unknown source": (_with("data.source", "mnst"), "data.source"),
    "source option": (_with("data.size", [3, 3]), "data.size"),
    "missing data file": (_with("data", {"source": "npz", "path": "nope.npz"}), "nope.npz does not exist"),
    "one-class data": (_with("data", {"source": "npz", "path": "one.npz"}), "one class only"),
    "malformed data": (_with("data", {"source": "npz", "path": "flat.npz"}), "flat.npz: x"),
    "augmentation": (_with("data.augment", {"rotat": 3}), "data.augment.rotat"),
    "monitor": (_with("train.monitor", "val_acurracy"), "train.monitor"),
    "early stopping": (_with("train.early_stopping", {"monitor": "val_acc"}), "train.early_stopping.monitor"),
}


@pytest.mark.parametrize("label", sorted(BAD))
def test_a_bad_config_or_its_data_is_one_line_naming_the_config_file(label, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez("one.npz", x=np.zeros((10, 1, 8, 8)), y=np.zeros(10))
    np.savez("flat.npz", x=np.zeros(10), y=np.arange(10) % 2)
    cfg, what = BAD[label]
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["run", "exp.yaml", "--home", "runs"])
    assert result.exit_code == 2, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("error: "))
    assert line.startswith("error: exp.yaml: ") and what in line, result.output
    assert "Traceback" not in result.output


def test_a_search_budget_error_names_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = {**_with("params", {"lr": {"loguniform": [1e-3, 1e-1]}}), "search": {"strategy": "random"}}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["search", "exp.yaml", "--home", "runs"])
    assert result.exit_code == 2 and "error: exp.yaml: search.trials:" in result.output, result.output


def test_summary_names_the_config_file_for_a_layer_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(BAD["impossible shapes"][0]))
    result = CliRunner().invoke(app, ["summary", "exp.yaml"])
    assert result.exit_code == 2 and "error: exp.yaml: model.layers[0]" in result.output, result.output


def test_naming_leaves_a_line_that_names_the_file_and_store_errors_alone():
    with pytest.raises(BuildError) as caught, naming("exp.yaml"):
        raise BuildError("exp.yaml: model: empty", hint="add layers")
    assert str(caught.value) == "exp.yaml: model: empty\n  hint: add layers"
    with pytest.raises(StoreError) as caught, naming("exp.yaml"):
        raise StoreError("no run 7")
    assert caught.value.message == "no run 7"
