"""aggregate: one prediction per record (or patient) from its windows' probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.errors import DataError
from convscope.train.aggregate import aggregate
from convscope.train.metrics import compute


def test_mean_of_probabilities_per_key_in_sorted_key_order():
    prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6], [0.0, 1.0]])
    y = np.array([1, 0, 1, 0, 0])
    keys = np.array(["b", "a", "b", "a", "c"])
    p, labels, out_keys = aggregate(prob, y, keys)
    assert out_keys.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(p, [[0.3, 0.7], [0.8, 0.2], [0.0, 1.0]])
    assert labels.tolist() == [0, 1, 0]
    np.testing.assert_allclose(p.sum(axis=1), 1)


def test_multiclass_and_integer_keys():
    rng = np.random.default_rng(0)
    prob = rng.dirichlet(np.ones(5), size=12)  # (12, 5)
    keys = np.repeat([30, 10, 20], 4)
    y = np.repeat([4, 2, 0], 4)
    p, labels, out_keys = aggregate(prob, y, keys)
    assert out_keys.tolist() == [10, 20, 30] and labels.tolist() == [2, 0, 4]
    np.testing.assert_allclose(p[0], prob[4:8].mean(axis=0))


def test_record_level_can_differ_from_window_level():
    # record r1 (MI) has one window below 0.5, record r2 (normal) one window above: soft voting fixes both
    prob1 = np.array([0.6, 0.7, 0.4, 0.2, 0.1, 0.6])
    prob = np.column_stack([1 - prob1, prob1])
    y = np.array([1, 1, 1, 0, 0, 0])
    keys = np.array(["r1"] * 3 + ["r2"] * 3)
    p, labels, _ = aggregate(prob, y, keys)
    np.testing.assert_allclose(p[:, 1], [1.7 / 3, 0.9 / 3])
    assert compute(["accuracy"], y, prob)["accuracy"] == pytest.approx(4 / 6)
    assert compute(["accuracy"], labels, p)["accuracy"] == 1.0


def test_mixed_labels_within_a_key_are_an_error():
    prob = np.full((3, 2), 0.5)
    with pytest.raises(DataError, match=r"windows of 'r1' carry different labels \[0, 1\]"):
        aggregate(prob, np.array([0, 1, 0]), np.array(["r1", "r1", "r2"]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown how='median'"):
        aggregate(np.full((2, 2), 0.5), np.zeros(2), np.arange(2), how="median")
    with pytest.raises(ValueError, match="expected prob"):
        aggregate(np.full((3, 2), 0.5), np.zeros(2), np.arange(3))
