"""The baseline's running median is exactly SciPy's median filter with repeated edges, at every size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from convscope.data.ecg.pipeline import remove_baseline, running_median


@pytest.mark.parametrize("k", [1, 3, 51, 217, 801])  # 801 > the signal's length: edges dominate
def test_running_median_equals_scipy_nearest(k):
    x = np.random.default_rng(k).normal(size=(3, 600)).astype(np.float32)  # (leads, samples)
    assert np.array_equal(running_median(x, k), ndimage.median_filter(x, size=(1, k), mode="nearest"))


def test_remove_baseline_takes_away_a_slow_wander_and_keeps_the_beats():
    fs = 360
    t = np.arange(10 * fs) / fs
    spikes = np.zeros_like(t)
    spikes[fs // 2::fs] = 1.0  # one narrow "beat" a second, mid-second
    wander = 0.8 * np.sin(2 * np.pi * 0.2 * t)
    out = remove_baseline((spikes + wander)[None].astype(np.float32), fs)[0]
    inner = np.zeros_like(t, dtype=bool)
    inner[fs:-fs] = True  # away from the edges, where the repeated edge value bends the estimate
    assert np.abs(out[inner & (spikes == 0)]).max() < 0.05  # the wander is gone between beats
    assert out[spikes == 1].min() > 0.9  # the beats are kept
