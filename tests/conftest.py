"""Shared fixtures: every test gets its own run store and dataset cache."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_HOME", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)  # identical numbers run to run, and 2 cores shared by tests stay calm
    yield


DIGITS_CNN = {
    "name": "digits-cnn",
    "seed": 0,
    "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
    "params": {"lr": 0.01, "filters": 8},
    "model": {"layers": [
        {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same", "activation": "relu"}},
        {"maxpool": 2},
        "flatten",
        {"dense": {"units": 32, "activation": "relu"}},
        {"dense": {"units": 10, "activation": "softmax"}},
    ]},
    "train": {"epochs": 3, "batch_size": 64, "optimizer": {"name": "adam", "lr": "${lr}"}},
}


@pytest.fixture
def digits_cfg():
    import copy

    return copy.deepcopy(DIGITS_CNN)
