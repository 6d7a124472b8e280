"""Metrics of the whole prediction, one number for any number of classes: accuracy, balanced
accuracy and ROC AUC (scikit-learn's implementations).

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1])
    >>> prob = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])  # (N, 2)
    >>> pred = prob.argmax(1)
    >>> accuracy(y, prob, pred), balanced_accuracy(y, prob, pred), auc(y, prob, pred)
    (0.75, 0.75, 1.0)
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from convscope.train.metrics.base import METRICS


@METRICS.register("accuracy", better="higher")
def accuracy(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """The fraction of samples predicted right."""
    return float(np.mean(pred == y)) if len(y) else float("nan")


@METRICS.register("balanced_accuracy", better="higher")
def balanced_accuracy(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """The mean recall of the classes present in ``y`` (plain accuracy when only one is)."""
    return float(skm.balanced_accuracy_score(y, pred)) if len(np.unique(y)) > 1 else accuracy(y, prob, pred)


@METRICS.register("auc", better="higher")
def auc(y: np.ndarray, prob: np.ndarray, pred: np.ndarray) -> float:
    """ROC AUC: positive-class score for binary tasks, macro one-vs-rest for multi-class."""
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")  # undefined with a single class present
    if prob.shape[1] == 2:
        return float(skm.roc_auc_score(y, prob[:, 1]))
    if len(present) < prob.shape[1]:
        # classes absent from this split: score only the ones present, renormalized
        sub = prob[:, present] / prob[:, present].sum(axis=1, keepdims=True)
        remap = {c: i for i, c in enumerate(present)}
        sub = sub[:, 1] if len(present) == 2 else sub  # two classes present: sklearn wants one score column
        return float(skm.roc_auc_score(np.vectorize(remap.get)(y), sub, multi_class="ovr", average="macro"))
    return float(skm.roc_auc_score(y, prob, multi_class="ovr", average="macro"))
