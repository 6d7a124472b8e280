"""The per-class table a cardiologist reads (AAMI EC57 style): one row per class with its count,
Se, +P, Sp and F1, then the macro averages and the accuracy.

It is built from a stored confusion matrix, so every stored run has one (``RunInfo.test_confusion``,
``RunInfo.val_confusion``) without re-running the model. The matrix is expanded back into the
(label, prediction) pairs it counts and scored by the same registered per-class metrics that the
trainer logs, so the table and ``val_f1/S`` can never disagree.

Example:
    >>> table = class_table([[8, 2, 0], [1, 3, 0], [0, 0, 6]], ["N", "S", "V"])
    >>> [(r.name, r.count, round(r.sensitivity, 3)) for r in table.rows]
    [('N', 10, 0.8), ('S', 4, 0.75), ('V', 6, 1.0)]
    >>> round(table.macro.f1, 3), table.accuracy
    (0.836, 0.85)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convscope.train.metrics.diagnostic import (
    class_f1,
    class_ppv,
    class_sensitivity,
    class_specificity,
)


@dataclass(frozen=True)
class ClassRow:
    """One class's (or the macro average's) diagnostic numbers; NaN where a denominator is 0."""

    name: str
    count: int  # samples of the class (the row total of the confusion matrix); all samples for macro
    sensitivity: float  # Se: TP / (TP + FN)
    ppv: float  # +P: TP / (TP + FP)
    specificity: float  # Sp: TN / (TN + FP)
    f1: float  # 2 TP / (2 TP + FP + FN)


@dataclass(frozen=True)
class ClassTable:
    """Rows per class, their macro average and the accuracy, of one split's predictions."""

    rows: list[ClassRow]
    macro: ClassRow
    accuracy: float
    total: int
    confusion: list[list[int]]  # (K, K) the counts it was computed from; rows: true class, columns: predicted


COLUMNS = (("Se", "sensitivity"), ("+P", "ppv"), ("Sp", "specificity"), ("F1", "f1"))
"""(heading, ClassRow field) in the order the AAMI tables print them."""


def class_table(confusion: Sequence[Sequence[int]] | np.ndarray, class_names: Sequence[str]) -> ClassTable:
    """The per-class table of a (K, K) confusion matrix (rows: true classes, columns: predicted).

    Raises:
        ValueError: the matrix is not K x K for the K class names.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    k = len(class_names)
    if counts.shape != (k, k):
        raise ValueError(f"class_table: a {k}x{k} confusion matrix is needed for {k} classes, got {counts.shape}")
    true_class, predicted = np.nonzero(counts)
    y = np.repeat(true_class, counts[true_class, predicted])  # (N,) the pairs the matrix counts
    pred = np.repeat(predicted, counts[true_class, predicted])  # (N,)
    prob = np.zeros((0, k))  # only its width (K) is read by the per-class metrics
    per_class = {field: fn(y, prob, pred) for field, fn in (("sensitivity", class_sensitivity), ("ppv", class_ppv),
                                                            ("specificity", class_specificity), ("f1", class_f1))}
    rows = [ClassRow(str(name), int(counts[i].sum()), *(float(per_class[f][i]) for _, f in COLUMNS))
            for i, name in enumerate(class_names)]

    def macro(values: np.ndarray) -> float:
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if len(finite) else float("nan")

    total = int(counts.sum())
    return ClassTable(rows=rows, macro=ClassRow("macro", total, *(macro(per_class[f]) for _, f in COLUMNS)),
                      accuracy=float(np.trace(counts) / total) if total else float("nan"), total=total,
                      confusion=counts.tolist())
