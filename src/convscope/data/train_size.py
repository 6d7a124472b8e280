"""``data.train_size``: shrink only the training split, stratified and nested, for curves against data size.

A learning curve against training-set size is only readable when every point is measured on the same
validation and test sets, and when a bigger training set holds the smaller ones (so a rising curve is
more data, not different data). ``train_size`` is applied *after* ``splits.py`` has carved validation
and test from the full training data, and it takes a prefix of one seeded order of the training split:

- **nested**: the order depends only on the training split and the split seed, never on the size, so the
  500 samples of ``train_size: 500`` are the first 500 of the 1,000 of ``train_size: 1000``;
- **stratified**: the order interleaves the classes so that *every* prefix keeps the class proportions
  (each class within one sample of its share).

scikit-learn's stratified splitters draw each size independently (``train_test_split(train_size=500)`` is
not inside ``train_size=1000``) and have no nested mode, hence this order written here.

Example:
    >>> y = np.array([0] * 80 + [1] * 20)                  # 80% / 20%
    >>> order = nested_order(y, seed=0)
    >>> np.bincount(y[order[:10]]).tolist(), np.bincount(y[order[:50]]).tolist()
    ([8, 2], [40, 10])
    >>> set(order[:10]) <= set(order[:50])
    True
    >>> resolve_train_size(0.25, 200), resolve_train_size(60, 200)
    (50, 60)
"""

from __future__ import annotations

import numpy as np

from convscope.data.base import Split
from convscope.errors import ConfigError


def nested_order(y: np.ndarray, *, seed: int) -> np.ndarray:
    """A permutation of ``range(len(y))`` whose every prefix keeps the class proportions of ``y``.

    The classes are dealt like Tijdeman's "chairman assignment": with ``K`` classes and slack
    ``delta = 1 - 1/(2K - 2)``, position ``n`` goes, among the classes that would not exceed their share
    ``n * n_c / N`` by more than ``delta``, to the one whose next sample is due soonest (earliest deadline
    first). This keeps every class of every prefix within ``delta < 1`` sample of its share (R. Tijdeman,
    "The chairman assignment problem", Discrete Math. 32, 1980); a greedy "most behind first" rule does
    not (it drifts past one sample). Within a class the samples come in a seeded random order.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    labels, y_index, sizes = np.unique(y, return_inverse=True, return_counts=True)
    members = [rng.permutation(np.flatnonzero(y_index == c)) for c in range(len(labels))]
    share = sizes / len(y)  # (K,)
    delta = 1 - 1 / (2 * len(labels) - 2) if len(labels) > 1 else 0.0
    taken = np.zeros(len(labels), dtype=np.int64)  # (K,) samples of each class dealt so far
    order = np.empty(len(y), dtype=np.int64)  # (N,)
    for n in range(1, len(y) + 1):
        allowed = (taken + 1 - n * share <= delta + 1e-9) & (taken < sizes)  # (K,) the theorem: never empty
        due = np.where(allowed, (taken + delta) / share, np.inf)  # (K,) when each class falls delta behind
        c = int(np.argmin(due))
        order[n - 1] = members[c][taken[c]]
        taken[c] += 1
    return order


def resolve_train_size(train_size: int | float, available: int) -> int:
    """How many training samples ``train_size`` means: a count as given, a fraction of ``available``."""
    if isinstance(train_size, float):
        n = max(1, round(train_size * available))
    else:
        n = int(train_size)
    if n > available:
        raise ConfigError(f"data.train_size: {train_size} is more than the {available} training samples left "
                          "after validation and test were set aside",
                          hint=f"use at most {available}, or a fraction such as 0.5")
    return n


def shrink_train(train: Split, train_size: int | float, *, seed: int) -> Split:
    """The first ``train_size`` samples of :func:`nested_order` of ``train``, in their original order."""
    n = resolve_train_size(train_size, len(train))
    if n == len(train):
        return train
    keep = nested_order(train.y, seed=seed)[:n]
    return train.take(np.sort(keep))


__all__ = ["nested_order", "resolve_train_size", "shrink_train"]
