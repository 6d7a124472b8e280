"""From class probabilities to decisions: argmax or a binary threshold, Youden's threshold, the
confusion matrix those decisions make.

Example:
    >>> import numpy as np
    >>> prob = np.array([[0.7, 0.3], [0.4, 0.6], [0.2, 0.8]])  # (N, 2)
    >>> predictions(prob).tolist(), predictions(prob, threshold=0.7).tolist()
    ([0, 1, 1], [0, 0, 1])
    >>> confusion(np.array([0, 1, 1]), prob).tolist()  # rows: true class, columns: predicted
    [[1, 0], [0, 2]]
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def predictions(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class predictions (N,): argmax, or ``P(class 1) >= threshold`` for binary tasks."""
    if prob.shape[1] == 2:
        return (prob[:, 1] >= threshold).astype(np.int64)
    return prob.argmax(axis=1)


def youden_threshold(y: np.ndarray, prob: np.ndarray) -> float:
    """The threshold maximizing sensitivity + specificity - 1 on (validation) data."""
    fpr, tpr, thresholds = skm.roc_curve(y, prob[:, 1])
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def confusion(y: np.ndarray, prob: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """The (K, K) confusion matrix of the predictions: rows are true classes, columns predicted ones."""
    return skm.confusion_matrix(y, predictions(prob, threshold), labels=list(range(prob.shape[1])))
