"""The metric registry, the names metrics are logged under, and computing a list of them.

A metric is a function ``(y, prob, pred) -> float`` of the labels ``y`` (N,), the class
probabilities ``prob`` (N, K) and the class predictions ``pred`` (N,), registered in
:data:`METRICS` with the direction in which it is better. A metric that is also defined for each
class on its own (sensitivity, positive predictive value, ...) registers that form too, as the
trait ``per_class``: a function returning one value per class, (K,).

Names, in ``train.metrics`` and in the logs (where they carry the split's prefix, ``val_``):

- ``f1``: one number (the positive class for binary tasks, the macro average otherwise);
- ``f1/S``: the per-class form for the class named ``S`` (logged as ``val_f1/S``);
- ``f1/*``: the per-class form for every class (``val_f1/N``, ``val_f1/S``, ...).

``/`` separates metric and class because it is safe everywhere a name goes: plain YAML (in flow
lists too, where ``[`` and ``]`` are syntax), ``--set``, Optuna, and TensorBoard, which groups tags
that share the part before the slash.

Example:
    >>> import numpy as np
    >>> y, pred = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])
    >>> prob = np.eye(3)[pred]  # (N, K) one-hot: the predictions as probabilities
    >>> scores = compute(["accuracy", "macro_f1", "sensitivity/*"], y, prob, class_names=["N", "S", "V"])
    >>> {k: round(v, 3) for k, v in scores.items()}
    {'accuracy': 0.75, 'macro_f1': 0.778, 'sensitivity/N': 0.5, 'sensitivity/S': 1.0, 'sensitivity/V': 1.0}
    >>> lower_is_better("val_sensitivity/S"), lower_is_better("val_loss")
    (False, True)
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from convscope.errors import ConfigError
from convscope.registry import Registry

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], float]
PerClassMetric = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # -> (K,)

METRICS: Registry[Metric] = Registry("metric", discover="convscope.train.metrics", field="train.metrics")
"""Every metric: ``@METRICS.register(name, better="higher"|"lower"[, per_class=fn])``."""

SPLIT_PREFIXES = ("test_record_", "train_", "val_", "test_")  # how logs name a metric per split
EVERY_CLASS = "*"


@dataclass(frozen=True)
class MetricName:
    """A name from ``train.metrics`` (or a log key without its split prefix), taken apart.

    Example:
        >>> MetricName.parse("ppv/S"), MetricName.parse("accuracy").cls
        (MetricName(metric='ppv', cls='S'), None)
    """

    metric: str  # the registered name
    cls: str | None = None  # a class name, EVERY_CLASS, or None for the one-number form

    @classmethod
    def parse(cls, text: str) -> MetricName:
        metric, sep, klass = str(text).partition("/")
        return cls(metric, klass if sep else None)


def strip_split(key: str) -> str:
    """``val_sensitivity/S`` -> ``sensitivity/S``: the metric a log key holds."""
    for prefix in SPLIT_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def check_names(names: Sequence[str]) -> None:
    """Raise a :class:`ConfigError` for a name in ``train.metrics`` that no registered metric answers.

    Classes are not known until the data is loaded; :func:`check_classes` checks them then.
    """
    for text in names:
        name = MetricName.parse(text)
        entry = METRICS.entry(name.metric)  # unknown: did-you-mean error naming train.metrics
        if name.cls is not None and "per_class" not in entry.traits:
            per_class = [e.name for e in METRICS.entries() if "per_class" in e.traits]
            raise ConfigError(f"train.metrics: '{text}': {name.metric} has no per-class form",
                              hint=f"use {name.metric}, or a per-class metric: {', '.join(per_class)}")
        if name.cls == "":
            raise ConfigError(f"train.metrics: '{text}' names no class",
                              hint=f"write {name.metric}/CLASS for one class or {name.metric}/* for every class")


def check_classes(names: Sequence[str], class_names: Sequence[str]) -> None:
    """Raise a :class:`ConfigError` for a per-class name whose class the data does not have."""
    for text in names:
        name = MetricName.parse(text)
        if name.cls not in (None, EVERY_CLASS) and name.cls not in class_names:
            close = difflib.get_close_matches(name.cls, list(class_names), n=1)
            hint = f"did you mean '{name.metric}/{close[0]}'? " if close else ""
            raise ConfigError(f"train.metrics: '{text}': the data has no class '{name.cls}'",
                              hint=f"{hint}classes: {', '.join(class_names)}")


def check_monitor(field: str, key: str, names: Sequence[str], class_names: Sequence[str]) -> None:
    """Raise a :class:`ConfigError` naming ``field`` when ``key`` is a per-class log key (``val_f1/S``)
    that computing ``names`` on these classes will not log. Other keys are checked after the first
    epoch, against what was logged."""
    name = MetricName.parse(strip_split(key))
    if name.cls is None:
        return
    if name.cls not in class_names:
        close = difflib.get_close_matches(name.cls, list(class_names), n=1)
        hint = f"did you mean '{key.removesuffix(name.cls)}{close[0]}'? " if close else ""
        raise ConfigError(f"{field}: '{key}': the data has no class '{name.cls}'",
                          hint=f"{hint}classes: {', '.join(class_names)}")
    if not key.startswith("val_") or not covers(names, key):
        raise ConfigError(f"{field}: '{key}' is not logged each epoch",
                          hint=f"add {name.metric}/{name.cls} (or {name.metric}/*) to train.metrics and monitor "
                               f"val_{name.metric}/{name.cls}")


def covers(names: Sequence[str], key: str) -> bool:
    """Whether computing ``names`` logs ``key`` (a log key such as ``val_f1/S``, split prefix included).

    Example:
        >>> covers(["accuracy", "f1/*"], "val_f1/S"), covers(["f1/N"], "val_f1/S")
        (True, False)
    """
    name = MetricName.parse(strip_split(key))
    if name.cls is None:
        return name.metric in names
    return f"{name.metric}/{name.cls}" in names or f"{name.metric}/{EVERY_CLASS}" in names


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of ``key`` (``val_loss``, ``val_f1/S``, ...) is better: the registered
    direction of its metric; a name the registry does not know is better lower only if it is a loss."""
    metric = MetricName.parse(strip_split(key)).metric
    if metric in METRICS:
        return METRICS.traits(metric).get("better", "higher") == "lower"
    return metric.endswith("loss")


def compute(names: Sequence[str], y: np.ndarray, prob: np.ndarray, *, threshold: float = 0.5,
            class_names: Sequence[str] | None = None) -> dict[str, float]:
    """Every metric in ``names`` on labels ``y`` (N,) and class probabilities ``prob`` (N, K).

    Args:
        names: ``train.metrics`` entries (``accuracy``, ``f1/S``, ``f1/*``).
        threshold: binary tasks: class 1 is predicted when its probability reaches it.
        class_names: the K class names per-class results are keyed by (default ``"0"``, ``"1"``, ...).
    """
    from convscope.train.metrics.decision import predictions

    class_names = [str(c) for c in (class_names if class_names is not None else range(prob.shape[1]))]
    pred = predictions(prob, threshold)
    per_class: dict[str, np.ndarray] = {}  # one computation per metric, however many classes are asked for
    scores: dict[str, float] = {}
    for text in names:
        name = MetricName.parse(text)
        entry = METRICS.entry(name.metric)
        if name.cls is None:
            scores[text] = float(entry.obj(y, prob, pred))
            continue
        if name.metric not in per_class:
            per_class[name.metric] = entry.traits["per_class"](y, prob, pred)  # (K,)
        chosen = class_names if name.cls == EVERY_CLASS else [name.cls]
        for klass in chosen:
            if klass not in class_names:
                check_classes([text], class_names)
            scores[f"{name.metric}/{klass}"] = float(per_class[name.metric][class_names.index(klass)])
    return scores
