"""Metrics that fit the task: accuracy for any classifier; the diagnostic set for binary tasks.

Each metric is a function of (labels, probabilities, predictions) on the host, computed once per
epoch from outputs gathered on-device, so the hot loop never syncs per batch. Where scikit-learn has
the metric we call it; sensitivity/specificity/ppv/npv come from its confusion matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm


def _binary_counts(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return int(tn), int(fp), int(fn), int(tp)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def _per_class_recall(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    return skm.recall_score(y, pred, labels=list(range(n_classes)), average=None, zero_division=np.nan)


def accuracy(y, prob, pred):
    return float(np.mean(pred == y)) if len(y) else float("nan")


def sensitivity(y, prob, pred):
    """Recall of the positive class (class 1) for binary tasks; macro recall for multi-class."""
    if prob.shape[1] == 2:
        tn, fp, fn, tp = _binary_counts(y, pred)
        return _ratio(tp, tp + fn)
    return float(np.nanmean(_per_class_recall(y, pred, prob.shape[1])))


def specificity(y, prob, pred):
    """True-negative rate for binary tasks; macro one-vs-rest specificity for multi-class."""
    if prob.shape[1] == 2:
        tn, fp, fn, tp = _binary_counts(y, pred)
        return _ratio(tn, tn + fp)
    cm = skm.confusion_matrix(y, pred, labels=list(range(prob.shape[1])))
    total = cm.sum()
    spec = []
    for k in range(cm.shape[0]):
        fp = cm[:, k].sum() - cm[k, k]
        tn = total - cm[k, :].sum() - cm[:, k].sum() + cm[k, k]
        spec.append(_ratio(tn, tn + fp))
    return float(np.nanmean(spec))


def ppv(y, prob, pred):
    if prob.shape[1] == 2:
        tn, fp, fn, tp = _binary_counts(y, pred)
        return _ratio(tp, tp + fp)
    return float(skm.precision_score(y, pred, average="macro", zero_division=np.nan))


def npv(y, prob, pred):
    """Negative predictive value (binary tasks only; NaN for multi-class)."""
    if prob.shape[1] != 2:
        return float("nan")
    tn, fp, fn, tp = _binary_counts(y, pred)
    return _ratio(tn, tn + fn)


def f1(y, prob, pred):
    average = "binary" if prob.shape[1] == 2 else "macro"
    return float(skm.f1_score(y, pred, average=average, zero_division=np.nan))


def balanced_accuracy(y, prob, pred):
    return float(skm.balanced_accuracy_score(y, pred)) if len(np.unique(y)) > 1 else accuracy(y, prob, pred)


def auc(y, prob, pred):
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


METRICS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "sensitivity": sensitivity,
    "specificity": specificity,
    "ppv": ppv,
    "npv": npv,
    "f1": f1,
    "balanced_accuracy": balanced_accuracy,
    "auc": auc,
}

# For picking the best epoch / early stopping: which direction is better.
LOWER_IS_BETTER = {"loss"}


def lower_is_better(name: str) -> bool:
    return name.removeprefix("val_").removeprefix("train_").removeprefix("test_") in LOWER_IS_BETTER


def predictions(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class predictions: argmax, or ``P(class 1) >= threshold`` for binary tasks."""
    if prob.shape[1] == 2:
        return (prob[:, 1] >= threshold).astype(np.int64)
    return prob.argmax(axis=1)


def youden_threshold(y: np.ndarray, prob: np.ndarray) -> float:
    """The threshold maximizing sensitivity + specificity - 1 on (validation) data."""
    fpr, tpr, thresholds = skm.roc_curve(y, prob[:, 1])
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def compute(names: list[str], y: np.ndarray, prob: np.ndarray, *, threshold: float = 0.5) -> dict[str, float]:
    """Every metric in ``names`` on labels ``y`` and class probabilities ``prob`` (N, K)."""
    pred = predictions(prob, threshold)
    return {name: METRICS[name](y, prob, pred) for name in names}


def confusion(y: np.ndarray, prob: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    return skm.confusion_matrix(y, predictions(prob, threshold), labels=list(range(prob.shape[1])))
