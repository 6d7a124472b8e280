"""compare's config diff: layers matched by structure, only fields someone chose, the runs' own verdicts."""

from __future__ import annotations

import copy
from types import SimpleNamespace

from convscope.config import load_config
from convscope.insight.diagnose import verdict_label
from convscope.report.compare import config_differences

BASE = {"name": "a", "data": {"source": "builtin:digits"},
        "model": {"layers": [{"conv": {"filters": 8, "kernel": 3}}, {"maxpool": 2}, "flatten", {"dense": 10}]},
        "train": {"schedule": {"name": "cosine"}}}


def _run(raw: dict) -> SimpleNamespace:
    return SimpleNamespace(config=load_config(raw))


def test_an_inserted_layer_is_one_row_not_a_shift_of_every_layer():
    other = copy.deepcopy(BASE)
    other["model"]["layers"].insert(1, {"dropout": 0.5})
    rows = dict(config_differences([_run(BASE), _run(other)]))
    layer_rows = {k: v for k, v in rows.items() if k.startswith("model.layers")}
    assert len(layer_rows) == 1, layer_rows
    (values,) = layer_rows.values()
    assert values[0] == "-" and "dropout" in values[1]


def test_defaults_nobody_set_are_not_differences():
    other = copy.deepcopy(BASE)
    other["train"]["schedule"] = {"name": "plateau"}
    other["train"]["optimizer"] = {"name": "adam", "lr": 0.01}
    rows = dict(config_differences([_run(BASE), _run(other)]))
    assert rows["train.schedule.name"] == ["cosine", "plateau"]
    assert rows["train.optimizer.lr"] == ["0.001", "0.01"]  # a run left at the default shows the default
    assert not [k for k in rows if k.split(".")[-1] in ("factor", "gamma", "step_size", "patience")], rows


def test_the_verdict_label_lists_every_stored_verdict_like_show():
    stored = [{"short": "still improving", "severity": "info"}, {"short": "overfits from epoch 3", "severity": "warning"}]
    assert verdict_label(stored) == "overfits from epoch 3; still improving"
    assert verdict_label([]) == "no verdict"
