"""RR features by name (rr_intervals.py): the rhythm features by hand on a regular rhythm with one premature
beat and on an irregular one, the names in a config (order, count, one-line errors) on WFDB records and
annotations written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
import yaml
from typer.testing import CliRunner

from convscope.cli import app
from convscope.config import DataConfig
from convscope.data import load_data
from convscope.data.ecg import annotated
from convscope.data.ecg.rr_intervals import RR_FEATURES, RR_TABLE, rr_features, rr_names
from convscope.errors import ConfigError
from convscope.store import Store

RHYTHM = ("pre_median_ratio", "post_median_ratio", "rr_spread", "pre_z")


def _premature_in_regular() -> np.ndarray:
    """Beats every 1.0 s; beat 20 comes 0.4 s early (0.6 s after beat 19), then the rhythm goes on."""
    times = np.arange(40, dtype=float)
    times[20] -= 0.4
    return times


def test_a_premature_beat_in_a_regular_rhythm_stands_out():
    feats = rr_features(_premature_in_regular(), RHYTHM)  # (40, 4)
    np.testing.assert_allclose(feats[20], [0.6, 1.4, 0.0, -10.0])  # 0.6 s of a 1 s median; no spread: z clipped
    np.testing.assert_allclose(feats[10], [1.0, 1.0, 0.0, 0.0])  # far from it: the median is 1 s
    # beat 21's own intervals (1.4 s) are left out of its median; its pre is 1.4 / 1.0; the one short
    # interval (beat 20's) among its 16 neighbours leaves the median spread at 0
    np.testing.assert_allclose(feats[21, :3], [1.4, 1.0, 0.0])


def test_in_an_irregular_rhythm_a_short_interval_is_not_unusual():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.5, 1.1, size=200))  # atrial-fibrillation-like: RR anywhere in 0.5-1.1 s
    feats = rr_features(times, RHYTHM)
    shortest = np.argmin(np.diff(times)) + 1  # the beat after the shortest interval
    assert feats[shortest, 0] < 0.75  # as early against the median as a premature beat ...
    assert feats[shortest, 2] > 0.1  # ... but the rhythm around it is irregular
    assert -3 < feats[shortest, 3] < 0  # so its z is small, where the premature beat's above was -10
    regular = rr_features(_premature_in_regular(), RHYTHM)
    assert np.median(feats[:, 2]) > 10 * max(np.median(regular[:, 2]), 0.01)


def test_the_default_seven_and_names_in_order():
    times = np.array([0.0, 1.0, 2.0, 2.5, 3.5, 4.5])
    assert rr_names(True) == RR_FEATURES and rr_names(False) == () and rr_names(["rr_spread"]) == ("rr_spread",)
    np.testing.assert_array_equal(rr_features(times), rr_features(times, RR_FEATURES))
    np.testing.assert_array_equal(rr_features(times, ["post_rr", "pre_rr"]), rr_features(times)[:, [1, 0]])
    assert set(RR_FEATURES) < set(RR_TABLE)


def test_two_beats_have_no_neighbours_and_no_warning():
    with np.errstate(all="raise"):
        feats = rr_features(np.array([0.0, 0.8]), RHYTHM)
    np.testing.assert_allclose(feats, [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])


FS = 100


@pytest.fixture(scope="module")
def regular_records(tmp_path_factory) -> Path:
    """Two 40 s one-lead records, beats every 0.9 s with a premature 'A' beat, annotated with wfdb.wrann."""
    root = tmp_path_factory.mktemp("rr")
    for k, name in enumerate(("p1", "p2")):
        samples = np.arange(50, 40 * FS - 50, 90)
        samples[20 + k] -= 35
        symbols = ["A" if i == 20 + k else "N" for i in range(len(samples))]
        sig = np.random.default_rng(k).normal(0, 0.01, size=(40 * FS, 1))
        sig[samples, 0] = 1.0
        wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=sig, fmt=["16"], write_dir=str(root))
        wfdb.wrann(name, "atr", samples, symbol=symbols, write_dir=str(root))
    return root


def _cfg(root: Path, rr) -> DataConfig:
    return DataConfig(source="ecg-wfdb", path=str(root), labels="annotations", leads=["mlii"], normalize="none",
                      classes={"N": ["N"], "S": ["A"]}, rr_features=rr,
                      split={"train_records": ["p1"], "test_records": ["p2"], "val": 0.3})


def test_named_features_are_the_last_values_of_lead_zero(regular_records, monkeypatch, tmp_path):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))
    cfg = _cfg(regular_records, ["pre_ratio", "rr_spread", "pre_z"])
    source = annotated.load_annotated(cfg, regular_records, annotated.WfdbOptions.model_validate(cfg.options))
    assert source.meta["scalar_inputs"] == 3 and "3 RR features (pre_ratio, rr_spread, pre_z)" in source.notes[0]
    tail = source.train.x[source.train.ids == "p1", 0, -3:]  # (B, 3)
    premature = source.train.y[source.train.ids == "p1"] == 1
    assert premature.sum() == 1
    np.testing.assert_allclose(tail[premature][0, 1:], [0.0, -10.0], atol=1e-6)  # regular around it, as early as it gets
    assert tail[~premature, 2].min() > -10  # the only beat that early (the one after it is late: +10)


@pytest.mark.parametrize(("rr", "needles"), [
    (["pre_ratio", "rr_sprd"], ["data.rr_features", "unknown RR feature 'rr_sprd'", "did you mean 'rr_spread'"]),
    ([], ["data.rr_features", "at least one RR feature"]),
    (["pre_z", "pre_z"], ["data.rr_features", "named twice"]),
])
def test_bad_names_are_one_line_exit_2_and_nothing_stored(regular_records, tmp_path, rr, needles):
    cfg = {"name": "rr", "data": _cfg(regular_records, rr).model_dump(exclude_none=True),
           "model": {"layers": ["flatten", {"dense": 2}]}, "train": {"epochs": 1}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and all(n in result.output for n in needles), result.output
    assert Store().runs() == []
    with pytest.raises(ConfigError):
        load_data(_cfg(regular_records, rr), seed=0)
