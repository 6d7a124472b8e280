"""The diagnostic metrics agree with scikit-learn's definitions on fixed inputs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from convscope.train import metrics as M


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    p1 = np.clip(0.35 * y + rng.uniform(0, 0.65, 80), 0, 1)  # informative but imperfect scores
    prob = np.column_stack([1 - p1, p1])  # (N, 2)
    return y, prob, M.predictions(prob)


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 120)
    prob = rng.dirichlet(np.ones(5), size=120)
    prob[np.arange(120), y] += 0.4
    prob /= prob.sum(axis=1, keepdims=True)  # (N, 5)
    return y, prob, prob.argmax(axis=1)


def test_binary_metrics_match_sklearn(binary):
    y, prob, pred = binary
    assert M.accuracy(y, prob, pred) == pytest.approx(skm.accuracy_score(y, pred))
    assert M.sensitivity(y, prob, pred) == pytest.approx(skm.recall_score(y, pred, pos_label=1))
    assert M.specificity(y, prob, pred) == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert M.ppv(y, prob, pred) == pytest.approx(skm.precision_score(y, pred, pos_label=1))
    assert M.npv(y, prob, pred) == pytest.approx(skm.precision_score(y, pred, pos_label=0))
    assert M.f1(y, prob, pred) == pytest.approx(skm.f1_score(y, pred))
    assert M.balanced_accuracy(y, prob, pred) == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert M.auc(y, prob, pred) == pytest.approx(skm.roc_auc_score(y, prob[:, 1]))


def test_binary_metrics_on_a_hand_counted_confusion_matrix():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    pred = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])  # tp 3, fn 1, tn 4, fp 2
    prob = np.column_stack([1 - pred, pred]).astype(float)
    assert M.sensitivity(y, prob, pred) == pytest.approx(3 / 4)
    assert M.specificity(y, prob, pred) == pytest.approx(4 / 6)
    assert M.ppv(y, prob, pred) == pytest.approx(3 / 5)
    assert M.npv(y, prob, pred) == pytest.approx(4 / 5)
    assert M.balanced_accuracy(y, prob, pred) == pytest.approx((3 / 4 + 4 / 6) / 2)


def test_threshold_changes_predictions_like_sklearn(binary):
    y, prob, _ = binary
    pred = M.predictions(prob, threshold=0.3)
    np.testing.assert_array_equal(pred, (prob[:, 1] >= 0.3).astype(int))
    scores = M.compute(["sensitivity", "specificity"], y, prob, threshold=0.3)
    assert scores["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
    assert scores["specificity"] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    np.testing.assert_array_equal(M.confusion(y, prob, threshold=0.3), skm.confusion_matrix(y, pred))


def test_multiclass_metrics_match_sklearn_macro_averages(multiclass):
    y, prob, pred = multiclass
    assert M.sensitivity(y, prob, pred) == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert M.ppv(y, prob, pred) == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert M.f1(y, prob, pred) == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert M.balanced_accuracy(y, prob, pred) == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert M.auc(y, prob, pred) == pytest.approx(skm.roc_auc_score(y, prob, multi_class="ovr", average="macro"))
    # specificity of class k = recall of "not k" in the one-vs-rest problem
    one_vs_rest = [skm.recall_score(y != k, pred != k) for k in range(5)]
    assert M.specificity(y, prob, pred) == pytest.approx(np.mean(one_vs_rest))
    # NPV of class k = precision of "not k" in the one-vs-rest problem
    assert M.npv(y, prob, pred) == pytest.approx(np.mean([skm.precision_score(y != k, pred != k) for k in range(5)]))


def test_multiclass_with_a_class_absent_from_the_labels(multiclass):
    y, prob, pred = multiclass
    keep = y != 4  # class 4 never occurs (e.g. a small test split): score the classes present
    y, prob, pred = y[keep], prob[keep], pred[keep]
    present = [0, 1, 2, 3]
    assert M.sensitivity(y, prob, pred) == pytest.approx(skm.recall_score(y, pred, labels=present, average="macro"))
    sub = prob[:, present] / prob[:, present].sum(axis=1, keepdims=True)
    assert M.auc(y, prob, pred) == pytest.approx(skm.roc_auc_score(y, sub, multi_class="ovr", average="macro"))


def test_multiclass_auc_with_only_two_classes_present(multiclass):
    y, prob, pred = multiclass
    keep = y < 2  # a five-class task whose (small) validation split holds classes 0 and 1 only
    y, prob, pred = y[keep], prob[keep], pred[keep]
    expected = skm.roc_auc_score(y, prob[:, 1] / prob[:, :2].sum(axis=1))
    assert M.auc(y, prob, pred) == pytest.approx(expected)


def test_auc_with_one_class_is_nan():
    y = np.zeros(5, dtype=int)
    prob = np.full((5, 2), 0.5)
    assert np.isnan(M.auc(y, prob, M.predictions(prob)))


def test_youden_threshold_maximizes_sensitivity_plus_specificity(binary):
    y, prob, _ = binary
    threshold = M.youden_threshold(y, prob)

    def youden(t):  # by hand: sensitivity + specificity - 1 with "positive" meaning p1 >= t
        p1 = prob[:, 1]
        return np.mean(p1[y == 1] >= t) + np.mean(p1[y == 0] < t) - 1

    # every distinct score is a candidate threshold; none does better than the chosen one
    assert youden(threshold) == pytest.approx(max(youden(t) for t in np.unique(prob[:, 1])))


def test_youden_on_separable_scores_splits_the_classes():
    y = np.array([0, 0, 0, 1, 1])
    p1 = np.array([0.1, 0.3, 0.35, 0.6, 0.9])
    prob = np.column_stack([1 - p1, p1])
    threshold = M.youden_threshold(y, prob)
    assert 0.35 < threshold <= 0.6
    np.testing.assert_array_equal(M.predictions(prob, threshold), y)
