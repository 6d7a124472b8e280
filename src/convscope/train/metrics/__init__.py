"""Metrics: registered functions of (labels, probabilities, predictions), computed once per epoch on
the host from outputs gathered on-device, so the hot loop never syncs per batch.

- :mod:`.base`: the :data:`METRICS` registry, metric names (``f1``, ``f1/S``, ``f1/*``), directions,
  :func:`compute`;
- :mod:`.decision`: predictions from probabilities (argmax or a threshold), Youden's threshold, the
  confusion matrix;
- :mod:`.overall`: accuracy, balanced accuracy, ROC AUC;
- :mod:`.diagnostic`: sensitivity, PPV, specificity, NPV, F1 — per class, macro, binary;
- :mod:`.table`: the per-class (AAMI-style) table of a confusion matrix.

A new metric is one function registered in one file of this package with its direction::

    @METRICS.register("my_metric", better="higher")
    def my_metric(y, prob, pred): ...

The registry imports every module here on first lookup, so no list needs editing.
"""

from convscope.train.metrics.base import (
    METRICS,
    MetricName,
    check_classes,
    check_monitor,
    check_names,
    compute,
    covers,
    lower_is_better,
    strip_split,
)
from convscope.train.metrics.decision import confusion, predictions, youden_threshold
from convscope.train.metrics.diagnostic import (
    f1,
    macro_f1,
    macro_ppv,
    macro_sensitivity,
    macro_specificity,
    npv,
    ppv,
    sensitivity,
    specificity,
)
from convscope.train.metrics.overall import accuracy, auc, balanced_accuracy
from convscope.train.metrics.table import COLUMNS, ClassRow, ClassTable, class_table

__all__ = [
    "COLUMNS", "METRICS", "ClassRow", "ClassTable", "MetricName", "accuracy", "auc", "balanced_accuracy",
    "check_classes", "check_monitor", "check_names", "class_table", "compute", "confusion", "covers", "f1",
    "lower_is_better", "macro_f1", "macro_ppv", "macro_sensitivity", "macro_specificity", "npv", "ppv", "predictions",
    "sensitivity", "specificity", "strip_split", "youden_threshold",
]
