"""Record-level (or patient-level) results from window-level predictions.

A clinician diagnoses a record, not a 5 s window of it. When a source slices records into windows
or beats (``Source.meta["aggregate"] == "mean"``), the evaluation also reports metrics on one
prediction per record: the mean of its windows' class probabilities (soft voting), keyed by
``Split.ids`` (record ids), or by ``Split.groups`` for one prediction per patient.

Example:
    >>> prob = np.array([[0.8, 0.2], [0.6, 0.4], [0.1, 0.9]])
    >>> p, y, keys = aggregate(prob, np.array([0, 0, 1]), np.array(["r1", "r1", "r2"]))
    >>> p.round(2).tolist(), y.tolist(), keys.tolist()
    ([[0.7, 0.3], [0.1, 0.9]], [0, 1], ['r1', 'r2'])
"""

from __future__ import annotations

import numpy as np

from convscope.errors import DataError

HOW = ("mean",)


def aggregate(prob: np.ndarray, y: np.ndarray, keys: np.ndarray, how: str = "mean") -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Average the class probabilities of all samples that share a key.

    Args:
        prob: ``(N, K)`` class probabilities of N windows.
        y: ``(N,)`` labels; every window of a key must carry the same label (a window inherits it).
        keys: ``(N,)`` record (or patient) ids.
        how: ``"mean"``: mean probability per key (soft voting).

    Returns:
        ``(prob_per_key (M, K), y_per_key (M,), keys (M,))``, keys in sorted order.

    Raises:
        ValueError: unknown ``how``, or arrays of different lengths.
        DataError: a key whose windows carry different labels (ids that are not record ids).
    """
    if how not in HOW:
        raise ValueError(f"aggregate: unknown how={how!r} (known: {', '.join(HOW)})")
    prob, y, keys = np.asarray(prob), np.asarray(y), np.asarray(keys)
    if prob.ndim != 2 or not len(prob) == len(y) == len(keys):
        raise ValueError(f"aggregate: expected prob (N, K), y (N,), keys (N,); got {prob.shape}, {y.shape}, "
                         f"{keys.shape}")
    unique, index = np.unique(keys, return_inverse=True)  # index: (N,) position of each window's key
    counts = np.bincount(index, minlength=len(unique))  # (M,)
    sums = np.zeros((len(unique), prob.shape[1]), dtype=np.float64)
    np.add.at(sums, index, prob)
    labels = np.empty(len(unique), dtype=y.dtype)
    labels[index] = y  # the label of some window of each key ...
    mixed = labels[index] != y  # ... which must be the label of all of them
    if mixed.any():
        bad = index[np.argmax(mixed)]
        key, found = unique[bad], sorted({int(v) for v in y[index == bad]})
        raise DataError(f"aggregate: windows of '{key}' carry different labels {found}",
                        hint="aggregation keys must be record (or patient) ids, whose windows share one label")
    return sums / counts[:, None], labels, unique
