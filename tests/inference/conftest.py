"""Small trained runs for the inference tests: an ECG run on generated WFDB records (two named leads at
500 Hz, resampled, filtered, windowed) and an image run on scikit-learn's digits, each trained once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb

import convscope

FS = 500  # Hz of the generated records; the run resamples to 250
LEADS = ["v1", "ii", "avr"]  # the file's order; the run asks for [ii, v1]


def ecg(seconds: float, fs: int, heart_rate: float, seed: int) -> np.ndarray:
    """(samples, 3) leads v1, ii, avr of one synthetic record (NeuroKit2's ECGSYN), in mV."""
    import neurokit2 as nk

    ii = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=heart_rate, method="ecgsyn",
                         random_state=seed)
    rng = np.random.default_rng(seed)
    v1 = -0.6 * ii + 0.02 * rng.standard_normal(len(ii))
    return np.stack([v1, ii, -0.5 * ii], axis=1)


def write_record(folder: Path, name: str, sig: np.ndarray, fs: float, leads: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(leads), sig_name=leads, p_signal=sig, fmt=["16"] * len(leads),
                write_dir=str(folder))
    return folder / f"{name}.hea"


@pytest.fixture(scope="session")
def ecg_records(tmp_path_factory) -> Path:
    """A flat WFDB folder: 12 'slow' (60 bpm) and 12 'fast' (110 bpm) 8 s records."""
    folder = tmp_path_factory.mktemp("ecg-records")
    for i in range(12):
        write_record(folder, f"slow_{i:02d}", ecg(8, FS, 60, i), FS, LEADS)
        write_record(folder, f"fast_{i:02d}", ecg(8, FS, 110, 100 + i), FS, LEADS)
    return folder


def ecg_config(path: Path, **pipeline) -> dict:
    data = {"source": "ecg-wfdb", "path": str(path), "layout": "flat",
            "labels": {"slow": ["slow_*"], "fast": ["fast_*"]}, "leads": ["ii", "v1"], "resample_hz": 250,
            "filter": [0.5, 40], "window_s": 2, "stride_s": 1,
            "split": {"val": 0.25, "test": 0.25, "group_by": "patient"}, **pipeline}
    return {"name": "ecg-windows", "seed": 0, "data": data,
            "model": {"layers": [{"conv": {"filters": 4, "kernel": 7, "activation": "relu"}}, {"maxpool": 4},
                                 {"conv": {"filters": 4, "kernel": 5, "activation": "relu"}}, "global_avg_pool",
                                 {"dense": {"units": 2, "activation": "softmax"}}]},
            "train": {"epochs": 2, "batch_size": 32, "health": False}}


@pytest.fixture(scope="session")
def ecg_run(ecg_records, tmp_path_factory) -> convscope.Run:
    torch.set_num_threads(1)
    return convscope.run(ecg_config(ecg_records), home=tmp_path_factory.mktemp("ecg-home"))


@pytest.fixture(scope="session")
def beat_run(ecg_records, tmp_path_factory) -> convscope.Run:
    torch.set_num_threads(1)
    cfg = ecg_config(ecg_records, beats=True, beat_s=0.6, window_s=4, stride_s=4)
    cfg["name"] = "ecg-beats"
    return convscope.run(cfg, home=tmp_path_factory.mktemp("beat-home"))


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory) -> convscope.Run:
    torch.set_num_threads(1)
    cfg = {"name": "digits", "seed": 0, "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3, "activation": "relu", "batchnorm": True}},
                                {"maxpool": 2}, "flatten", {"dense": {"units": 10, "activation": "softmax"}}]},
           "train": {"epochs": 3, "batch_size": 64, "health": False}}
    return convscope.run(cfg, home=tmp_path_factory.mktemp("digits-home"))


@pytest.fixture
def make_record():
    """``make_record(folder, name, fs=FS, leads=LEADS, seconds=8, keep=None)``: write a synthetic record
    (``keep``: a slice of its samples) and return its ``.hea`` path."""

    def make(folder: Path, name: str, *, fs: int = FS, leads: list[str] = LEADS, seconds: float = 8,
             keep: slice | None = None) -> Path:
        sig = ecg(seconds, fs, 60, 3)[:, [LEADS.index(lead) for lead in leads]]
        return write_record(folder, name, sig[keep] if keep is not None else sig, fs, leads)

    return make
