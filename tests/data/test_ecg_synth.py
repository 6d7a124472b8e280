"""builtin:ecg-synth: deterministic, cached, labelled synthetic, patient-structured and learnable."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict

from convscope.config import DataConfig
from convscope.data import ecg_synth, load_data
from convscope.data.ecg_synth import (
    SYNTHETIC_NOTE,
    SynthOptions,
    _ecgsyn_would_hang,
    generate,
    load_ecg_synth,
)
from convscope.errors import ConfigError
from convscope.train.aggregate import aggregate

TINY = {"patients": 6, "records_per_patient": 2, "duration_s": 4, "window_s": 2}


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _one_cache_for_this_module(shared_cache, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(shared_cache))  # generate each cohort once, not once per test


def synth(**options) -> DataConfig:
    return DataConfig(source="builtin:ecg-synth", **({"split": {"group_by": "patient"}} | TINY | options))


def test_shapes_groups_and_synthetic_labels():
    src = load_ecg_synth(synth())
    assert src.train.x.shape == (6 * 2 * 2, 1, 500)  # patients x records x 2 s windows of a 4 s record, 250 Hz
    assert src.class_names == ["normal", "mi"] and set(src.train.y.tolist()) == {0, 1}
    assert SYNTHETIC_NOTE in src.notes and src.meta["synthetic"] is True
    assert src.meta["sample_rate"] == 250 and src.meta["aggregate"] == "mean" and src.meta["leads"] == ["ii"]
    assert sorted(set(src.train.groups.tolist())) == [f"p{i:03d}" for i in range(6)]
    for group in set(src.train.groups):  # a patient: several records, one label
        rows = src.train.groups == group
        assert len(set(src.train.ids[rows])) == 2 and len(set(src.train.y[rows])) == 1
    np.testing.assert_allclose(src.train.x.std(axis=-1), 1, atol=1e-3)  # normalize: window by default


def test_deterministic_by_seed_and_cached(monkeypatch, shared_cache):
    a = load_ecg_synth(synth())
    assert list((shared_cache / "builtin").glob("ecg-synth-*.npz"))

    def fail(_opts):
        raise AssertionError("generated again instead of read from the cache")

    monkeypatch.setattr(ecg_synth, "generate", fail)
    b = load_ecg_synth(synth())
    np.testing.assert_array_equal(a.train.x, b.train.x)
    monkeypatch.undo()
    fresh = generate(SynthOptions(**TINY))
    again = generate(SynthOptions(**TINY))
    np.testing.assert_array_equal(fresh["x"], again["x"])
    other = generate(SynthOptions(**(TINY | {"seed": 1})))
    assert not np.allclose(fresh["x"], other["x"])


def test_pipeline_options_apply():
    src = load_ecg_synth(synth(window_s=None, resample_hz=100, filter=[0.5, 40], normalize="none"))
    assert src.train.x.shape == (12, 1, 400) and src.meta["aggregate"] == "none"
    with pytest.raises(ConfigError, match="builtin:ecg-synth has one lead, 'ii'"):
        load_ecg_synth(synth(leads=["v1"]))
    with pytest.raises(ConfigError, match="data.patient: unknown option") as err:
        load_ecg_synth(synth(patient=3))
    assert "did you mean 'patients'" in err.value.hint


def test_patient_wise_split_through_load_data():
    data = load_data(synth(patients=8, split={"val": 0.25, "test": 0.25, "group_by": "patient"}), seed=0)
    train, val, test = (set(data.groups[k].tolist()) for k in ("train", "val", "test"))
    assert not (train & val) and not (train & test) and not (val & test)
    assert any("synthetic" in note for note in data.notes)


def test_ecgsyn_hang_is_predicted_and_avoided():
    # neurokit2 0.2.x's ecgsyn never returns for this call (its RR loop stalls on a trailing zero)
    assert _ecgsyn_would_hang(0, heart_rate=60, heart_rate_std=1, sampling_rate=100, duration=10)
    assert not _ecgsyn_would_hang(0, heart_rate=70, heart_rate_std=1, sampling_rate=100, duration=10)
    arrays = generate(SynthOptions(patients=2, records_per_patient=1, duration_s=4, sampling_rate=100))
    assert arrays["x"].shape == (2, 1, 400)


def test_mi_is_learnable_patient_wise_but_not_trivially():
    """A linear model on beats, patient-wise cross-validated, finds MI well above chance."""
    src = load_ecg_synth(synth(patients=12, duration_s=6, window_s=None, beats=True))
    x = src.train.x.reshape(len(src.train), -1)  # (beats, 200)
    prob = cross_val_predict(LogisticRegression(C=0.1, max_iter=2000), x, src.train.y, groups=src.train.groups,
                             cv=GroupKFold(4), method="predict_proba")
    per_record, y, _ = aggregate(prob, src.train.y, src.train.ids)
    assert 0.7 < roc_auc_score(y, per_record[:, 1])
