"""Diagnostic metrics, per class and averaged: sensitivity (Se, recall), positive predictive value
(+P, precision), specificity (Sp), negative predictive value and F1 — the AAMI EC57 set for beat
classes N, S, V, F, Q, and the usual set for any classifier.

Each class k is scored one-vs-rest from scikit-learn's counts (``precision_recall_fscore_support``
for Se, +P and F1; ``multilabel_confusion_matrix`` for the true negatives behind Sp and NPV). A
value whose denominator is zero (a class absent from the labels, or never predicted) is NaN and is
left out of the macro averages, as scikit-learn's ``zero_division=np.nan`` does.

Three names per measure:

- ``sensitivity``: the positive class (class 1) of a binary task, the macro average otherwise —
  the number a clinician means by "the test's sensitivity";
- ``macro_sensitivity``: the mean over classes, for two classes too;
- ``sensitivity/S`` (``sensitivity/*``): one class (every class), see :mod:`.base`.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1, 1, 2])
    >>> pred = np.array([0, 0, 1, 1, 2, 2])  # (N,)
    >>> class_sensitivity(y, np.eye(3)[pred], pred).round(3).tolist()
    [0.667, 0.5, 1.0]
    >>> round(macro_f1(y, np.eye(3)[pred], pred), 3)  # F1 per class: 0.8, 0.5, 0.667
    0.656
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from convscope.train.metrics.base import METRICS


def _labels(prob: np.ndarray) -> list[int]:
    return list(range(prob.shape[1]))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, NaN where den is 0."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _prf(y: np.ndarray, pred: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1, each (K,)."""
    precision, recall, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=_labels(prob),
                                                                   zero_division=np.nan)
    return precision, recall, f1


def _negatives(y: np.ndarray, pred: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class true negatives, false positives and false negatives, each (K,)."""
    counts = skm.multilabel_confusion_matrix(y, pred, labels=_labels(prob))  # (K, 2, 2): [[tn, fp], [fn, tp]]
    return counts[:, 0, 0], counts[:, 0, 1], counts[:, 1, 0]


def class_sensitivity(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Se of each class: TP / (TP + FN), (K,)."""
    return _prf(y, pred, prob)[1]


def class_ppv(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """+P of each class: TP / (TP + FP), (K,)."""
    return _prf(y, pred, prob)[0]


def class_f1(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """F1 of each class: 2 TP / (2 TP + FP + FN), (K,)."""
    return _prf(y, pred, prob)[2]


def class_specificity(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Sp of each class: TN / (TN + FP), (K,)."""
    tn, fp, _ = _negatives(y, pred, prob)
    return _ratio(tn, tn + fp)


def class_npv(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """NPV of each class: TN / (TN + FN), (K,)."""
    tn, _, fn = _negatives(y, pred, prob)
    return _ratio(tn, tn + fn)


def _macro(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def _headline(values: np.ndarray) -> float:
    """Class 1 of a binary task (the positive class), else the macro average."""
    return float(values[1]) if len(values) == 2 else _macro(values)


@METRICS.register("sensitivity", better="higher", per_class=class_sensitivity)
def sensitivity(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Recall of the positive class (class 1) for binary tasks; macro recall for multi-class."""
    return _headline(class_sensitivity(y, prob, pred))


@METRICS.register("specificity", better="higher", per_class=class_specificity)
def specificity(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """True-negative rate for binary tasks; macro one-vs-rest specificity for multi-class."""
    return _headline(class_specificity(y, prob, pred))


@METRICS.register("ppv", better="higher", per_class=class_ppv)
def ppv(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Positive predictive value (precision) of class 1 for binary tasks; macro for multi-class."""
    return _headline(class_ppv(y, prob, pred))


@METRICS.register("npv", better="higher", per_class=class_npv)
def npv(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Negative predictive value for binary tasks; macro one-vs-rest NPV for multi-class."""
    return _headline(class_npv(y, prob, pred))


@METRICS.register("f1", better="higher", per_class=class_f1)
def f1(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """F1 of class 1 for binary tasks; macro F1 for multi-class."""
    return _headline(class_f1(y, prob, pred))


@METRICS.register("macro_sensitivity", better="higher")
def macro_sensitivity(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Mean Se over the classes it is defined for."""
    return _macro(class_sensitivity(y, prob, pred))


@METRICS.register("macro_ppv", better="higher")
def macro_ppv(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Mean +P over the classes it is defined for."""
    return _macro(class_ppv(y, prob, pred))


@METRICS.register("macro_specificity", better="higher")
def macro_specificity(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Mean Sp over the classes it is defined for."""
    return _macro(class_specificity(y, prob, pred))


@METRICS.register("macro_f1", better="higher")
def macro_f1(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """Mean F1 over the classes it is defined for (scikit-learn's ``f1_score(average="macro")``)."""
    return _macro(class_f1(y, prob, pred))
