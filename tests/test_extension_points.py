"""Each extensible part takes one more of its kind from one file: a data source, a verdict, a pruner.

Each test below *is* that one file: it registers the new thing the way a module under ``src/convscope``
would (the decorator, nothing else), then uses it end to end through the public API. (A layer type:
``tests/models/test_module_traits.py``.) Each registration is removed afterwards so tests stay independent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import optuna
import pytest

import convscope
from convscope.config import DataConfig
from convscope.data import load_data
from convscope.data.base import SOURCES, Source, Split
from convscope.insight.diagnose import VERDICTS, Verdict, diagnose
from convscope.registry import Registry
from convscope.store import Store
from convscope.tuning.pruners import PRUNERS
from convscope.tuning.study import open_storage, open_study, storage_path
from convscope.tuning.worker import WorkerSpec, work

TINY_MODEL = {"layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten", {"dense": 2}]}


@contextmanager
def registered(registry: Registry, name: str, obj: Any, **traits: Any) -> Iterator[None]:
    """``@registry.register(name, **traits)`` for the duration of a test."""
    registry.register(name, **traits)(obj)
    try:
        yield
    finally:
        registry._entries.pop(name)  # the registry has no public removal: entries live as long as their module


# -- a data source ---------------------------------------------------------------------------------


def load_stripes(cfg: DataConfig) -> Source:
    """Two classes of 1D signals (1, 32): a rising or a falling ramp plus noise."""
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    ramp = np.linspace(-1, 1, 32, dtype=np.float32)
    x = np.where(y[:, None] == 1, ramp, -ramp)[:, None, :] + 0.1 * rng.standard_normal((120, 1, 32))  # (N, 1, 32)
    return Source(train=Split(x.astype(np.float32), y.astype(np.int64)), class_names=["falling", "rising"],
                  name="stripes")


def test_a_data_source_is_one_registered_function():
    with registered(SOURCES, "test-stripes", load_stripes):
        data = load_data(DataConfig(source="test-stripes", split={"val": 0.25, "test": 0.25}), seed=0)
        assert data.input_shape == (1, 32) and data.class_names == ["falling", "rising"]
        assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 120
        run = convscope.run({"data": {"source": "test-stripes", "split": {"val": 0.25, "test": 0.25}},
                             "model": TINY_MODEL, "train": {"epochs": 2, "optimizer": {"lr": 0.05}}})
        assert run.status == "completed" and run.info.input_shape == [1, 32]
        assert run.test_metrics["test_accuracy"] > 0.9  # the ramps are trivially separable
    with pytest.raises(convscope.ConvscopeError, match="unknown data source 'test-stripes'"):
        load_data(DataConfig(source="test-stripes"), seed=0)


# -- a verdict ---------------------------------------------------------------------------------------

FEW_EPOCHS = 3  # fewer epochs than this is too short a curve to judge


def too_short(history: list[dict[str, Any]], health: list[dict[str, Any] | None], *, num_classes: int,
              chance: float) -> list[Verdict]:
    if len(history) >= FEW_EPOCHS:
        return []
    return [Verdict("too_short", "info", f"only {len(history)} epochs: too short a curve to judge",
                    "too short", data={"epochs": len(history)})]


def test_a_verdict_is_one_registered_check():
    short = [{"epoch": 1, "train_loss": 2.0, "val_loss": 2.1}, {"epoch": 2, "train_loss": 1.0, "val_loss": 1.2}]
    assert "too_short" not in [v.kind for v in diagnose(short, num_classes=10)]
    with registered(VERDICTS, "too_short", too_short):
        verdicts = diagnose(short, num_classes=10)
        assert [v.kind for v in verdicts] == ["still_improving", "too_short"]  # the built-ins still run
        run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1}, "model": {
            "layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten", {"dense": 10}]}})
        assert "too_short" in [v["kind"] for v in run.info.diagnosis]  # stored with the run, shown by show/report
    long = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e} for e in range(1, 5)]
    assert "too_short" not in [v.kind for v in diagnose(long, num_classes=10)]


# -- a pruner ----------------------------------------------------------------------------------------


class PruneAfterFirstEpoch(optuna.pruners.BasePruner):
    """Stops every trial once it has reported one epoch."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return len(trial.intermediate_values) >= 1


def first_epoch_only(search: Any, epochs: int) -> optuna.pruners.BasePruner:
    return PruneAfterFirstEpoch()


def test_a_pruner_is_one_registered_factory(tmp_path, digits_cfg):
    config = digits_cfg | {"params": {**digits_cfg["params"], "lr": {"grid": [0.01, 0.001]}},
                           "search": {"strategy": "grid", "pruner": "test-first-epoch-only"}}
    with registered(PRUNERS, "test-first-epoch-only", first_epoch_only, rungs=False):
        home = tmp_path / "search"
        open_study("demo", open_storage(storage_path(home, "demo")), direction="minimize")
        # a worker in this process: a spawned one would not see a pruner registered by this test
        assert work(WorkerSpec(name="demo", home=str(home), config=config, threads=1)) == 2
    runs = Store(home).runs(search="demo")
    assert sorted(r["status"] for r in runs) == ["pruned", "pruned"]  # both stopped by it, after epoch 1
    assert [r["epochs"] for r in runs] == [1, 1]
