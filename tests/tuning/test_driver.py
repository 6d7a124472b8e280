"""What the driver hands its workers: --workers reaches TPE's constant-liar mode, one place decides threads."""

from __future__ import annotations

import optuna
import pytest
import yaml
from typer.testing import CliRunner

from convscope.cli import app
from convscope.tuning import driver, names
from convscope.tuning.worker import Worker


@pytest.fixture
def started_specs(monkeypatch):
    """Run ``search`` up to starting its workers, and keep the WorkerSpecs instead of running them."""
    specs = []
    monkeypatch.setattr(driver, "_run_workers", lambda runner, given, view: specs.extend(given))
    return specs


def test_cli_workers_turn_on_constant_liar_for_tpe(make_search, tmp_path, started_specs):
    path = tmp_path / "tpe.yaml"
    path.write_text(yaml.safe_dump(make_search({"lr": {"loguniform": [1e-3, 1e-1]}}, strategy="tpe", trials=4)))
    result = CliRunner().invoke(app, ["search", str(path), "--workers", "2", "--name", "liar"])
    assert result.exit_code == 0, result.output
    assert [s.workers for s in started_specs] == [2, 2]  # search.workers in the YAML is 1
    sampler_of = Worker(started_specs[0])
    sampler_of._use_sampler_for(0)
    assert isinstance(sampler_of.study.sampler, optuna.samplers.TPESampler)
    assert sampler_of.study.sampler._constant_liar


def test_the_search_share_of_threads_is_the_trial_threads(make_search, started_specs):
    cfg = make_search({"filters": {"grid": [4, 8]}}, strategy="grid", threads_per_worker=None)
    cfg["train"]["threads"] = 3  # no threads_per_worker: the config's train.threads is each worker's share
    driver.search(cfg, name="share", workers=2, progress=False)
    assert {s.threads for s in started_specs} == {3}
    cfg["search"]["threads_per_worker"] = 1  # given, it wins over train.threads
    driver.search(cfg, name="share-1", workers=2, progress=False)
    worker = Worker(started_specs[-1])
    assert worker.trial_config({"filters": 8}).train.threads == 1


def test_train_threads_auto_gives_each_worker_an_equal_share_of_the_cores(make_search, started_specs):
    from convscope.tuning.backends.local import available_cores

    cfg = make_search({"filters": {"grid": [4, 8]}}, strategy="grid", threads_per_worker=None)
    cfg["train"]["threads"] = "auto"  # the default: a trial's threads are fixed by the search, not adapted
    driver.search(cfg, name="auto", workers=2, progress=False)
    assert {s.threads for s in started_specs} == {max(1, available_cores() // 2)}
    assert Worker(started_specs[0]).trial_config({"filters": 8}).train.threads == max(1, available_cores() // 2)


def test_a_search_is_found_by_its_config_name(tmp_path):
    from convscope.errors import StoreError
    from convscope.store import Store

    store = Store(tmp_path / "store")
    for name in ("grid-20260101-120000", "grid-20260102-090000", "grid-20260102-090000-2", "gridder-20260103-000000"):
        store.create_search(name, config_yaml="", storage="")
    assert names.resolve_name(store, "grid") == "grid-20260102-090000-2"  # the newest of that config
    assert names.resolve_name(store, "grid-20260101-120000") == "grid-20260101-120000"  # a full name as it is
    with pytest.raises(StoreError, match="no search named 'gri'"):
        names.resolve_name(store, "gri")  # a prefix is not a config name
