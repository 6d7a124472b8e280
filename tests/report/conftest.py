"""A trained run and a small search in one store, shared by the report tests (trained once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.insight.conftest import scalar_run  # noqa: F401 -- a beat run with packed RR features

import convscope
from convscope.report import run_report, search_report
from convscope.tuning import search

# A user-provided string with HTML in it: the report must show it, escaped, never run it.
HOSTILE_NAME = 'digits <script>alert("x")</script> & co'


def digits_config(name: str, *, epochs: int = 4) -> dict:
    return {"name": name, "seed": 0, "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
            "params": {"lr": 0.01, "filters": 8},
            "model": {"layers": [
                {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same", "activation": "relu"}},
                {"maxpool": 2}, "flatten", {"dense": {"units": 32, "activation": "relu"}},
                {"dense": {"units": 10, "activation": "softmax"}}]},
            "train": {"epochs": epochs, "batch_size": 64, "optimizer": {"name": "adam", "lr": "${lr}"}}}


@pytest.fixture(scope="session")
def report_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report-runs")


@pytest.fixture(scope="session")
def reported_run(report_home) -> convscope.Run:
    torch.set_num_threads(1)
    return convscope.run(digits_config(HOSTILE_NAME), home=report_home)


@pytest.fixture(scope="session")
def small_search(report_home) -> str:
    """A 4-trial grid with ASHA, where lr = 10 cannot learn: pruned trials for the faded curves."""
    cfg = digits_config("digits-search", epochs=3)
    cfg["params"] = {"lr": {"grid": [10.0, 0.01]}, "filters": {"grid": [4, 8]}}
    cfg["search"] = {"strategy": "grid", "pruner": "asha", "objective": {"metric": "val_accuracy"},
                     "threads_per_worker": 1, "workers": 1}
    search(cfg, name="digits-grid", home=report_home, progress=False)
    return "digits-grid"


@pytest.fixture(scope="session")
def run_page(reported_run, report_home) -> Path:
    """The run's report, written once for the session."""
    return run_report(reported_run.id, home=report_home)


@pytest.fixture(scope="session")
def search_page(small_search, report_home) -> Path:
    """The search's report (which also writes its best trial's run report), written once for the session."""
    return search_report(small_search, home=report_home)


@pytest.fixture(scope="session")
def deep_signal_page(tmp_path_factory) -> Path:
    """The report of a deep 1D net (three inception modules, 1-tap convs, five metrics): the page that
    used to scroll for 18,000 px, with 15 one-dot kernel plots per layer and a 150 px strip of curves."""
    folder = tmp_path_factory.mktemp("deep-signal")
    rng = np.random.default_rng(0)
    y = np.arange(160) % 2
    t = np.linspace(0, 1, 256)
    x = rng.normal(0, 0.3, (160, 1, 256)) + np.sin(2 * np.pi * (3 + 4 * y[:, None, None]) * t)  # (N, C, L)
    np.savez(folder / "signals.npz", x=x.astype(np.float32), y=y)
    cfg = {"name": "deep-signal", "seed": 0,
           "data": {"source": "npz", "path": str(folder / "signals.npz"), "split": {"val": 0.25, "test": 0.25}},
           "model": {"layers": [{"repeat": 3, "layers": [{"inception": {"filters": 4}}, {"maxpool": 2}]},
                                {"conv": {"filters": 8, "kernel": 1, "activation": "relu"}},
                                "global_avg_pool", {"dense": 2}]},
           "train": {"epochs": 2, "batch_size": 32, "threads": 1,
                     "metrics": ["accuracy", "sensitivity", "specificity", "auc"]}}
    torch.set_num_threads(1)
    run = convscope.run(cfg, home=folder / "runs")
    return run_report(run.id, home=folder / "runs")
