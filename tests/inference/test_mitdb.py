"""Prediction on a real MIT-BIH record (/work/shared/data/mitdb): the 30-minute record is read at its own
360 Hz, its leads are picked by name, and NeuroKit2's detector finds about as many beats as the
cardiologists annotated."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import wfdb
from tests.mitdb import MITDB

import convscope
from convscope.errors import DataError

pytestmark = pytest.mark.skipif(not (MITDB / "101.hea").is_file(),
                                reason=f"{MITDB} (MIT-BIH Arrhythmia Database) is absent")
BEAT_SYMBOLS = set("NLRejAaJSVEFQ/f")  # annotation symbols that are beats (AAMI EC57)


@pytest.fixture(scope="module")
def v1_beat_run(ecg_records, tmp_path_factory):
    torch.set_num_threads(1)
    data = {"source": "ecg-wfdb", "path": str(ecg_records), "layout": "flat",
            "labels": {"slow": ["slow_*"], "fast": ["fast_*"]}, "leads": ["v1"], "resample_hz": 250,
            "filter": [0.5, 40], "window_s": 8, "beats": True, "beat_s": 0.6,
            "split": {"val": 0.25, "test": 0.25, "group_by": "patient"}}
    cfg = {"name": "v1-beats", "data": data, "train": {"epochs": 1, "health": False},
           "model": {"layers": [{"conv": {"filters": 4, "kernel": 7, "activation": "relu"}}, "global_avg_pool",
                                {"dense": {"units": 2, "activation": "softmax"}}]}}
    return convscope.run(cfg, home=tmp_path_factory.mktemp("v1-home"))


def test_a_real_record_gives_about_its_annotated_beats(v1_beat_run):
    (row,) = v1_beat_run.predict(MITDB / "101.hea")
    annotated = sum(s in BEAT_SYMBOLS for s in wfdb.rdann(str(MITDB / "101"), "atr").symbol)
    # beats straddling an 8 s window edge are not cut, as in training (0.6 / 8 = 7.5% fewer), and R peaks
    # come from V1 alone, a weaker lead for the detector than MLII: 1448 of 1865 annotated beats measured
    assert 0.7 * annotated <= row["n_beats"] <= 1.02 * annotated
    assert row["predicted"] in ("slow", "fast") and np.isclose(row["p_slow"] + row["p_fast"], 1, atol=1e-5)


def test_a_real_record_without_the_models_lead(ecg_run):
    with pytest.raises(DataError, match=r"lacks lead ii, v1,.*it has: mlii, v5"):
        ecg_run.predict(MITDB / "100.hea")
