"""Small trained runs for the picture tests -- a 1D and a 2D model on generated data whose evidence
sits in a known place, so a picture can be checked against where it must look, and a beat model whose
samples carry packed RR features (WFDB records written here)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import wfdb

import convscope

BUMP = {1: slice(10, 22), 2: slice(42, 54)}  # where class 1's / class 2's bump sits in a (1, 64) signal
SQUARE = (slice(1, 5), slice(1, 5))  # where class 1's bright square sits in a (1, 12, 12) image


def make_signals(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1, 64) noise; class 0 nothing, class 1 a bump at 10..21, class 2 a bump at 42..53."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = 0.3 * rng.standard_normal((n, 1, 64)).astype(np.float32)
    bump = np.hanning(12).astype(np.float32) * 2.0
    for k, where in BUMP.items():
        x[y == k, 0, where] += bump
    return x, y.astype(np.int64)


def make_images(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1, 12, 12) dim noise in [0, 0.3]; class 1 has a bright 4x4 square in the top-left corner."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = (0.3 * rng.random((n, 1, 12, 12))).astype(np.float32)
    x[y == 1, 0, SQUARE[0], SQUARE[1]] = 0.9
    return x, y.astype(np.int64)


def _config(name: str, path: str, layers: list) -> dict:
    return {"name": name, "seed": 0, "data": {"source": "npz", "path": path, "split": {"val": 0.2, "test": 0.2}},
            "model": {"layers": layers},
            "train": {"epochs": 6, "batch_size": 32, "optimizer": {"name": "adam", "lr": 0.01},
                      "metrics": ["accuracy", "auc"]}}


@pytest.fixture
def evidence() -> dict:
    """Where the generated data's class evidence sits: {"bump": BUMP, "square": SQUARE}."""
    return {"bump": BUMP, "square": SQUARE}


@pytest.fixture(scope="session")
def picture_runs(tmp_path_factory) -> dict[str, convscope.Run]:
    """{"1d": run, "2d": run}: trained once for the whole session, in their own store."""
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("picture-data")
    home = tmp_path_factory.mktemp("picture-runs")
    x1, y1 = make_signals()
    x2, y2 = make_images()
    np.savez(folder / "signals.npz", x=x1, y=y1)
    np.savez(folder / "images.npz", x=x2, y=y2)
    conv = {"padding": "same", "activation": "relu"}
    signal_layers = [{"conv": {"filters": 8, "kernel": 5, **conv}}, {"maxpool": 2},
                     {"conv": {"filters": 8, "kernel": 3, **conv}}, {"maxpool": 2}, "flatten",
                     {"dense": {"units": 16, "activation": "relu"}}, {"dense": {"units": 3, "activation": "softmax"}}]
    image_layers = [{"conv": {"filters": 8, "kernel": 3, **conv}}, {"maxpool": 2},
                    {"conv": {"filters": 8, "kernel": 3, **conv}}, "flatten",
                    {"dense": {"units": 16, "activation": "relu"}}, {"dense": {"units": 2, "activation": "softmax"}}]
    return {"1d": convscope.run(_config("signals", str(folder / "signals.npz"), signal_layers), home=home),
            "2d": convscope.run(_config("images", str(folder / "images.npz"), image_layers), home=home)}


BEAT_FS = 100  # Hz of the generated WFDB records
BEAT_L = 60  # samples of a 0.6 s beat at BEAT_FS: the signal part of every packed sample (1, BEAT_L + 7)


def _beat_record(seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(samples, 1) lead MLII of a 40 s record, its beats' R-peak samples and symbols: every fourth beat a
    premature 'V' (early, wide, inverted), the rest 'N' (a narrow spike)."""
    rng = np.random.default_rng(seed)
    sig = 0.02 * rng.standard_normal((40 * BEAT_FS, 1))
    peaks, symbols, t = [], [], 60
    while t < 40 * BEAT_FS - 60:
        v = len(peaks) % 4 == 3
        peaks.append(t)
        symbols.append("V" if v else "N")
        shape = -np.hanning(15) if v else np.hanning(5)
        sig[t - len(shape) // 2:t - len(shape) // 2 + len(shape), 0] += shape
        t += int(rng.integers(75, 90)) if (len(peaks) % 4 != 3) else int(rng.integers(50, 56))
    return sig, np.array(peaks), symbols


@pytest.fixture(scope="session")
def scalar_run(tmp_path_factory) -> convscope.Run:
    """A with_scalars beat model (1 epoch) on four generated annotated records with ``rr_features: true``:
    samples (1, BEAT_L + 7), the 7 RR features the last 7 values of lead 0."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("beat-records")
    for i, name in enumerate(["b1", "b2", "b3", "b4"]):
        sig, peaks, symbols = _beat_record(i)
        wfdb.wrsamp(name, fs=BEAT_FS, units=["mV"], sig_name=["MLII"], p_signal=sig, fmt=["16"], write_dir=str(root))
        wfdb.wrann(name, "atr", peaks, symbol=symbols, write_dir=str(root))
    data = {"source": "ecg-wfdb", "path": str(root), "labels": "annotations", "leads": ["mlii"], "beat_s": 0.6,
            "rr_features": True, "classes": {"N": ["N"], "V": ["V"]},
            "split": {"train_records": ["b1", "b2", "b3"], "test_records": ["b4"], "val": 0.34}}
    model = {"layers": [{"with_scalars": {"scalars": 7, "layers": [
        {"conv": {"filters": 4, "kernel": 5, "activation": "relu"}}, {"maxpool": 2},
        {"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "global_avg_pool"]}},
        {"dense": {"units": 2, "activation": "softmax"}}]}
    cfg = {"name": "beats-with-rr", "seed": 0, "data": data, "model": model,
           "train": {"epochs": 1, "batch_size": 32, "health": False}}
    return convscope.run(cfg, home=tmp_path_factory.mktemp("scalar-runs"))
