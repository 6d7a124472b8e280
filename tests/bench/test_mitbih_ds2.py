"""bench/mitbih_ds2.py's scoring (the run's stored confusion matrix -> per-class Se and +P in percent) and its
list of where each class's false positives come from (record, true class, count)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.bench_scripts import load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("mitbih_ds2")


def test_scores_are_sensitivity_and_ppv_in_percent_of_the_confusion_matrix(bench):
    confusion = [[90, 8, 2], [1, 3, 0], [0, 2, 4]]  # rows: true N, S, V; columns: predicted
    got = bench.scores(confusion, ["N", "S", "V"])
    assert got["S_se"] == pytest.approx(75.0) and got["S_ppv"] == pytest.approx(100 * 3 / 13)
    assert got["V_se"] == pytest.approx(100 * 4 / 6) and got["V_ppv"] == pytest.approx(100 * 4 / 6)
    assert got["accuracy"] == pytest.approx(100 * 97 / 110) and got["N_se"] == pytest.approx(90.0)


def test_false_positives_name_the_record_and_true_class_largest_first(bench):
    ids = np.array(["222"] * 5 + ["105"] * 3 + ["100"] * 2)
    y = np.array([0, 0, 0, 1, 2, 0, 0, 2, 1, 1])
    pred = np.array([1, 1, 2, 1, 1, 2, 2, 2, 1, 0])  # S called for 222's N x2 and V x1; V for 222's N, 105's N x2
    got = bench.false_positives(y, pred, ids, ["N", "S", "V"])
    assert got == {"N": ["100 S 1"], "S": ["222 N 2", "222 V 1"], "V": ["105 N 2", "222 N 1"]}
    assert bench.false_positives(y, pred, None, ["N", "S", "V"]) == {}
