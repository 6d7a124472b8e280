"""bench/mitbih_cv.py on WFDB records written here: folds by person (two records of one person stay together),
every training record scored once, and the test records never read — their files here are unreadable, so a
read would fail the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from tests.bench_scripts import load_bench

from convscope.config import load_config
from convscope.data import load_data
from convscope.errors import DataError
from convscope.stored_run import load_run

FS = 100
SECONDS = 30
TRAIN = ["d1", "d2", "d3", "d4", "d5", "d6"]
TEST = ["t1", "t2"]


@pytest.fixture(scope="module")
def bench():
    return load_bench("mitbih_cv")


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    """Six readable training records (a beat every 0.8 s: N, with S and V in a per-record rhythm) and two test
    records whose signal is garbage and whose annotation file is missing."""
    root = tmp_path_factory.mktemp("mitdb")
    for i, name in enumerate(TRAIN):
        rng = np.random.default_rng(i)
        samples = np.arange(80, SECONDS * FS - 80, 80)
        symbols = ["A" if j % (3 + i % 2) == 1 else "V" if j % 5 == 2 else "N" for j in range(len(samples))]
        sig = rng.normal(0, 0.05, size=(SECONDS * FS, 1))
        for pos, sym in zip(samples, symbols, strict=True):
            sig[pos - 3:pos + 3, 0] += {"N": 1.0, "A": 0.6, "V": -1.5}[sym]
        wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=sig, fmt=["16"], adc_gain=[1000],
                    baseline=[0], write_dir=str(root))
        wfdb.wrann(name, "atr", samples, symbol=symbols, write_dir=str(root))
    for name in TEST:
        wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=np.zeros((SECONDS * FS, 1)),
                    fmt=["16"], adc_gain=[1000], baseline=[0], write_dir=str(root))
        (root / f"{name}.dat").write_bytes(b"\x00")  # truncated: any read of this record fails
    return root


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))


def _config(root: Path) -> dict:
    return {"name": "cv", "seed": 0,
            "data": {"source": "ecg-wfdb", "path": str(root), "labels": "annotations", "leads": ["mlii"],
                     "classes": {"N": ["N"], "S": ["A"], "V": ["V"]}, "patients": {"p5": ["d5", "d6"]},
                     "beat_s": 0.6, "normalize": "none",
                     "split": {"train_records": TRAIN, "test_records": TEST, "val": 0.3}},
            "model": {"layers": [{"conv": {"filters": 2, "kernel": 3}}, "flatten", {"dense": 3}]},
            "train": {"epochs": 1, "threads": 1, "health": False}}


def test_the_test_records_here_cannot_be_read(records):
    """What makes the next test fail if cross-validation opened a test record."""
    cfg = load_config(_config(records))
    with pytest.raises(DataError, match="t1"):
        load_data(cfg.data, seed=0)


def test_folds_are_people_every_training_record_is_scored_once_and_test_records_are_never_read(
        bench, records, tmp_path):
    report = bench.cross_validate(_config(records), [], seeds=[0, 1], k=3, fold_seed=0, home=tmp_path / "runs")
    folds = report["folds"]
    assert sorted(r for fold in folds for r in fold) == TRAIN  # a partition of the training records
    assert any({"d5", "d6"} <= set(fold) for fold in folds)  # one person: one fold
    assert report["ds1"] == TRAIN and "t1" not in str(report["per_seed"])
    beats = sum(len(wfdb.rdann(str(records / name), "atr").sample) for name in TRAIN)
    for seed in report["per_seed"]:
        assert sum(np.sum(f["confusion"]) for f in seed["folds"]) == beats  # pooled: each beat once
        for fold in seed["folds"]:
            run = load_run(fold["run_id"], home=tmp_path / "runs")
            assignment = run.info.assignment
            assert sorted(assignment["test"]) == fold["held"]
            assert sorted(assignment["train"] + assignment["val"]) == sorted(set(TRAIN) - set(fold["held"]))
            assert assignment["val"]  # validation carved from the training people, by person:
            assert {"d5", "d6"} <= set(assignment["val"]) or not {"d5", "d6"} & set(assignment["val"])
    assert 0 <= report["ensemble"]["accuracy"] <= 100 and set(report["mean"]) >= {"S_se", "S_ppv", "macro_f1"}


def test_a_config_without_a_record_split_or_split_by_beat_is_refused(bench, records):
    config = _config(records)
    with pytest.raises(SystemExit, match="by: record"):
        bench.ds1_only(config, ["data.split.by=beat"])
    config["data"]["split"] = {"val": 0.3}
    with pytest.raises(SystemExit, match="names no records"):
        bench.ds1_only(config, [])


def test_a_person_with_two_records_is_always_in_one_fold(bench, records):
    ds1, ds2, overrides = bench.ds1_only(_config(records), [])
    cfg = load_config(_config(records), overrides=overrides)
    for fold_seed in range(5):  # by record, d5 and d6 would share a fold by chance 1 time in 5
        folds = bench.patient_folds(cfg, ds1, ds2, k=3, seed=fold_seed)
        assert sorted(r for fold in folds for r in fold) == TRAIN
        assert sum({"d5", "d6"} <= set(fold) for fold in folds) == 1
