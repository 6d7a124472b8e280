"""Train / validation / test splits: stratified, group-wise (patient-wise) and k-fold.

The rules, in order:

1. A source's own splits win. MNIST's test set stays the test set and a validation set shipped
   with the data (Nielsen's 10k MNIST validation images) stays the validation set; nothing is
   carved from train for them, and ``split.val`` is ignored (a note says where validation came from).
2. Asking to carve a test set (``split.test``) from a source that has its own is a ConfigError:
   results would silently stop being comparable with everyone else's on that dataset.
3. A source without a test set gets ``split.test`` of the data carved out, or
   :data:`DEFAULT_TEST` (15%) when the config does not say; ``test: 0`` means no test set.
4. Validation is carved from what remains, ``split.val`` of the source's training data (so
   ``val: 0.15, test: 0.15`` gives 70/15/15). A run needs a validation set (it picks the best
   epoch), so ``val: 0`` without a source validation set is a DataError.
5. ``kfold: k, fold: i``: the test set is carved first (the same for every fold), the rest
   (including a source's validation set) is cut into k folds and fold i is validation.
6. ``group_by``: no group (patient) appears in two splits. Fractions are then met by whole
   groups: ``StratifiedGroupKFold`` with k folds of which m are held out, ``m / k`` as close to
   the fraction as up to 20 folds allow.

Everything random takes ``random_state=seed``, so the same seed gives the same split.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold, train_test_split

from convscope import formatting as fmt
from convscope.config import SplitConfig
from convscope.data.base import Source, Split
from convscope.errors import ConfigError, DataError

DEFAULT_TEST = 0.15  # test fraction carved when the source has no test set and the config gives none
MAX_GROUP_FOLDS = 20  # finest granularity (1/20 = 5%) for group-wise fractions


def concat(a: Split, b: Split) -> Split:
    """One split holding both (groups/ids kept only when both have them)."""
    def both(u: np.ndarray | None, v: np.ndarray | None) -> np.ndarray | None:
        return None if u is None or v is None else np.concatenate([u, v])

    return Split(np.concatenate([a.x, b.x]), np.concatenate([a.y, b.y]), both(a.groups, b.groups), both(a.ids, b.ids))


def _fold_fraction(frac: float, n_groups: int) -> tuple[int, int]:
    """(m, k): hold out m of k group folds so that m / k is closest to ``frac`` (smallest k on ties)."""
    candidates = [(abs(m / k - frac), k, m) for k in range(2, min(MAX_GROUP_FOLDS, n_groups) + 1) for m in range(1, k)]
    _, k, m = min(candidates)
    return m, k


def _group_folds(part: Split, k: int, *, stratify: bool, seed: int) -> list[np.ndarray]:
    """Validation indices of k group folds. With ``stratify`` off, a constant label makes
    StratifiedGroupKFold a shuffled GroupKFold that balances fold sizes (GroupKFold only shuffles
    from scikit-learn 1.6 on)."""
    y = part.y if stratify else np.zeros(len(part), dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has fewer members than n_splits"
        return [held for _, held in splitter.split(np.zeros(len(part)), y, part.groups)]


def _carve(part: Split, frac: float, *, what: str, stratify: bool, grouped: bool, seed: int,
           notes: list[str]) -> tuple[Split, Split]:
    """Split ``part`` into (rest, held-out) with about ``frac`` of it held out."""
    n = len(part)
    if grouped:
        n_groups = len(np.unique(part.groups))
        if n_groups < 2:
            raise DataError(f"cannot carve a {what} set by group: only {n_groups} group in {n} samples",
                            hint="group-wise splits need at least 2 groups (e.g. patients)")
        m, k = _fold_fraction(frac, n_groups)
        held = np.sort(np.concatenate(_group_folds(part, k, stratify=stratify, seed=seed)[:m]))
    else:
        n_held = round(frac * n)
        if not 1 <= n_held <= n - 1:
            raise DataError(f"cannot carve a {what} set of {fmt.percent(frac, decimals=0)} from {n} samples",
                            hint="use more data (or a larger data.limit), or change data.split")
        index = np.arange(n)
        try:
            _, held = train_test_split(index, test_size=n_held, random_state=seed,
                                       stratify=part.y if stratify else None)
        except ValueError:  # a class with one sample, or fewer held-out samples than classes
            notes.append(f"{what} set not stratified: some classes are too small")
            _, held = train_test_split(index, test_size=n_held, random_state=seed)
        held = np.sort(held)
    rest = np.setdiff1d(np.arange(n), held)
    return part.take(rest), part.take(held)


def _kfold(part: Split, split: SplitConfig, *, grouped: bool, seed: int, notes: list[str]) -> tuple[Split, Split]:
    k, fold = split.kfold, split.fold
    assert k is not None
    if fold >= k:
        raise ConfigError(f"data.split.fold: {fold} is not a fold of kfold: {k}", hint=f"use fold: 0..{k - 1}")
    if grouped:
        n_groups = len(np.unique(part.groups))
        if n_groups < k:
            raise DataError(f"kfold: {k} needs at least {k} groups, the data has {n_groups}",
                            hint=f"use kfold: {max(n_groups, 2)} or fewer")
        held = _group_folds(part, k, stratify=split.stratify, seed=seed)[fold]
    else:
        if len(part) < k:
            raise DataError(f"kfold: {k} needs at least {k} samples, the data has {len(part)}",
                            hint="use fewer folds or more data")
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed) if split.stratify else KFold(
            k, shuffle=True, random_state=seed)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                held = list(splitter.split(np.zeros(len(part)), part.y))[fold][1]
        except ValueError:  # every class smaller than k
            notes.append("k-fold not stratified: every class has fewer than k samples")
            held = list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(len(part))))[fold][1]
    held = np.sort(held)
    return part.take(np.setdiff1d(np.arange(len(part)), held)), part.take(held)


def _names(part: Split | None) -> list[str]:
    """What an audit needs to know went into a split: its groups, else its record ids, else nothing."""
    if part is None:
        return []
    values = part.groups if part.groups is not None else part.ids
    return [] if values is None else sorted({str(v) for v in values})


def split_source(source: Source, split: SplitConfig, *, seed: int,
                 notes: list[str] | None = None) -> tuple[Split, Split, Split | None, dict[str, list[str]]]:
    """Divide a source into train, validation and (optional) test splits by the module's rules.

    Args:
        source: what a loader returned; its own ``val``/``test`` are kept.
        split: the config's ``data.split``.
        seed: makes every random choice repeatable.
        notes: if given, human-readable remarks (what was carved, fallbacks) are appended to it.

    Returns:
        ``(train, val, test, assignment)``; ``assignment`` maps ``train``/``val``/``test`` to the
        sorted group ids (or record ids when there are no groups, else ``[]``) in each split.

    Example:
        >>> from convscope.config import SplitConfig
        >>> src = Source(train=Split(np.zeros((100, 1, 4), np.float32), np.arange(100) % 2), class_names=["a", "b"])
        >>> train, val, test, _ = split_source(src, SplitConfig(val=0.1), seed=0)
        >>> len(train), len(val), len(test)
        (75, 10, 15)
    """
    notes = notes if notes is not None else []
    grouped = split.group_by is not None
    if grouped and source.train.groups is None:
        raise DataError(f"data.split.group_by: {split.group_by}: source '{source.name}' has no group ids",
                        hint="remove group_by, or use a source that records groups (e.g. npz with a groups array)")
    carve = {"stratify": split.stratify, "grouped": grouped, "seed": seed, "notes": notes}
    if split.source_val == "merge" and source.val is not None:
        notes.append(f"the source's own {len(source.val)} validation samples were merged into train "
                     "(data.split.source_val: merge)")
        source = replace(source, train=concat(source.train, source.val), val=None)

    part, test, test_frac = source.train, source.test, 0.0
    if source.test is not None:
        if split.test is not None:
            raise ConfigError(f"data.split.test: source '{source.name}' has its own test set "
                              f"({len(source.test)} samples)",
                              hint="remove data.split.test to use it (results stay comparable with others')")
    else:
        test_frac = DEFAULT_TEST if split.test is None else split.test
        if test_frac > 0:
            part, test = _carve(part, test_frac, what="test", **carve)
            notes.append(f"test: {len(test)} samples ({fmt.percent(test_frac, decimals=0)}) carved from the training data"
                         + (" (the source has no test set)" if split.test is None else ""))

    if split.kfold is not None:
        if source.val is not None:
            part = concat(part, source.val)
            notes.append("k-fold: the source's validation set joins the folds")
        train, val = _kfold(part, split, grouped=grouped, seed=seed, notes=notes)
        notes.append(f"validation: fold {split.fold} of {split.kfold}")
    elif source.val is not None:
        train, val = part, source.val
        notes.append(f"validation: the source's own {len(val)} samples (nothing carved from train)")
    else:
        if split.val <= 0:
            raise DataError(f"data.split.val is 0 and source '{source.name}' has no validation set",
                            hint="a run picks its best epoch on validation data: set data.split.val, e.g. 0.1")
        if split.val + test_frac >= 1:
            raise ConfigError(f"data.split: val {split.val} + test {test_frac} leaves nothing to train on",
                              hint="keep val + test below 1, e.g. val: 0.15, test: 0.15")
        train, val = _carve(part, split.val / (1.0 - test_frac), what="validation", **carve)
        notes.append(f"validation: {len(val)} samples ({fmt.percent(split.val, decimals=0)}) carved from the training data")

    if grouped:
        train_groups = set(_names(train))
        own_splits = (("validation", None if split.kfold is not None else source.val), ("test", source.test))
        for name, own in own_splits:
            if own is not None and own.groups is not None:
                shared = train_groups & set(_names(own))
                if shared:
                    notes.append(f"leakage: {len(shared)} groups of train also appear in the source's {name} set")
    return train, val, test, {"train": _names(train), "val": _names(val), "test": _names(test)}
