"""Search configs for the tests: the tiny digits CNN (tests/conftest.py) with some params made ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def make_search(digits_cfg):
    """``make_search(params, **search)`` → a config dict whose params and search section are given."""

    def build(params: dict[str, Any], *, epochs: int = 1, **search: Any) -> dict[str, Any]:
        cfg = {**digits_cfg, "params": {**digits_cfg["params"], **params}}
        cfg["train"] = {**cfg["train"], "epochs": epochs}
        # one torch thread per worker: tests share 2 cores with each other (see tests/conftest.py)
        cfg["search"] = {"objective": {"metric": "val_accuracy"}, "threads_per_worker": 1, **search}
        return cfg

    return build


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "runs"  # the CONVSCOPE_HOME tests/conftest.py sets
