"""Two small trained runs for the picture tests -- a 1D and a 2D model on generated data whose evidence
sits in a known place, so a picture can be checked against where it must look."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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
