"""Built-in data: scikit-learn's digits and MNIST-1D, offline, exact and cached."""

from __future__ import annotations

import random

import numpy as np
import pytest

from convscope.config import DataConfig
from convscope.data import find_source, load_data
from convscope.data.cache import cache_dir, cached_datasets
from convscope.errors import ConfigError


def test_digits_are_sklearn_digits_scaled_to_unit_range():
    from sklearn.datasets import load_digits

    src = find_source("builtin:digits")(DataConfig(source="builtin:digits"))
    ref = load_digits()
    assert src.train.x.shape == (1797, 1, 8, 8) and src.train.x.dtype == np.float32 and src.test is None
    np.testing.assert_array_equal(src.train.x[:, 0], ref.images.astype(np.float32) / 16)
    np.testing.assert_array_equal(src.train.y, ref.target)
    assert src.train.x.max() == 1.0


def test_digits_through_load_data_carves_test_and_val():
    data = load_data(DataConfig(source="builtin:digits"), seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (1347, 180, 270)  # 75 / 10 / 15 %
    assert data.input_shape == (1, 8, 8) and data.num_classes == 10
    assert any("15%" in note for note in data.notes)


def test_mnist1d_default_is_the_published_benchmark_and_is_cached():
    from mnist1d.data import get_dataset_args, make_dataset

    np.random.seed(123)
    random.seed(123)
    before_np, before_py = np.random.get_state()[1].copy(), random.getstate()
    src = find_source("builtin:mnist1d")(DataConfig(source="builtin:mnist1d"))
    assert np.array_equal(np.random.get_state()[1], before_np) and random.getstate() == before_py  # globals untouched
    assert src.train.x.shape == (4000, 1, 40) and src.test.x.shape == (1000, 1, 40)
    ref = make_dataset(get_dataset_args())  # seed 42: the published dataset
    np.testing.assert_array_equal(src.train.x[:, 0], ref["x"].astype(np.float32))
    np.testing.assert_array_equal(src.test.y, ref["y_test"])
    cached = list((cache_dir() / "builtin").glob("mnist1d-*.npz"))
    assert len(cached) == 1
    assert [d["samples"] for d in cached_datasets() if d["name"] == "builtin:mnist1d"] == [5000]
    again = find_source("builtin:mnist1d")(DataConfig(source="builtin:mnist1d"))
    np.testing.assert_array_equal(again.train.x, src.train.x)


def test_mnist1d_options_change_the_cache_key():
    small = find_source("builtin:mnist1d")(DataConfig(source="builtin:mnist1d", num_samples=200))
    other = find_source("builtin:mnist1d")(DataConfig(source="builtin:mnist1d", num_samples=200, seed=7))
    assert small.train.x.shape == (160, 1, 40) and small.test.x.shape == (40, 1, 40)
    assert not np.array_equal(small.train.x, other.train.x)
    assert len(list((cache_dir() / "builtin").glob("mnist1d-*.npz"))) == 2
    with pytest.raises(ConfigError, match="data.num_sample: unknown option for source 'builtin:mnist1d'") as exc:
        find_source("builtin:mnist1d")(DataConfig(source="builtin:mnist1d", num_sample=200))
    assert "did you mean 'num_samples'" in exc.value.hint


def test_digits_takes_no_options():
    with pytest.raises(ConfigError, match="data.leads: unknown option for source 'builtin:digits'"):
        load_data(DataConfig(source="builtin:digits", leads=["ii"]), seed=0)
