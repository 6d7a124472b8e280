"""Loading a config's ``data:`` section: train/validation/test tensors out.

:func:`load_data` finds the source loader registered under ``data.source`` in :data:`SOURCES` (``images.py``,
``builtin.py``, ``ecg/`` ...), applies ``data.limit``, splits (``splits.py``, or ``record_splits.py`` by
record), shrinks the training split to ``data.train_size`` (``train_size.py``) and checks the result, so
the trainer only ever sees well-formed tensors and the user sees one clear line when their data is not.

Example:
    >>> from convscope.config import DataConfig
    >>> data = load_data(DataConfig(source="builtin:digits", split={"val": 0.1, "test": 0.2}), seed=0)
    >>> tuple(data.x_train.shape), data.num_classes
    ((1258, 1, 8, 8), 10)
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Dataset, Loader, Source, Split
from convscope.data.record_splits import record_split, uses_records
from convscope.data.splits import split_source
from convscope.data.train_size import shrink_train
from convscope.errors import DataError


def find_source(name: str) -> Loader:
    """The loader registered for ``data.source``; a did-you-mean ConfigError for an unknown name."""
    return SOURCES.get(name)


def _limit(train: Split, n: int, *, seed: int) -> Split:
    """The first ``n`` samples' worth of ``train``, class proportions kept (a folder source is sorted
    by class, so a plain head would hold one class), in the original order."""
    if n >= len(train):
        return train
    try:
        keep, _ = train_test_split(np.arange(len(train)), train_size=n, random_state=seed, stratify=train.y)
    except ValueError:  # fewer samples than classes, or a class of one
        keep = np.arange(n)
    return train.take(np.sort(keep))


def _check(name: str, part: Split, *, num_classes: int, sample_shape: tuple[int, ...], source: str) -> None:
    if len(part) == 0:
        raise DataError(f"{source}: the {name} split is empty",
                        hint="use more data, a larger data.limit, or different data.split fractions")
    if part.x.shape[1:] != sample_shape:
        raise DataError(f"{source}: {name} samples have shape {part.x.shape[1:]}, train samples {sample_shape}",
                        hint="every split must hold samples of one shape")
    y = part.y
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y[(y < 0) | (y >= num_classes)][0])
        raise DataError(f"{source}: {name} label {bad} is outside 0..{num_classes - 1} ({num_classes} classes)",
                        hint="labels must be class indices; check the label files")
    if not np.isfinite(part.x).all():
        raise DataError(f"{source}: the {name} split contains NaN or infinite values",
                        hint="clean the data (e.g. np.nan_to_num) before training")


def _tensors(part: Split) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(part.x, dtype=np.float32))  # (N, C, L) or (N, C, H, W)
    y = torch.from_numpy(np.ascontiguousarray(part.y, dtype=np.int64))  # (N,)
    return x, y


def load_data(cfg: DataConfig, *, seed: int) -> Dataset:
    """Load ``cfg.source``, apply ``limit``, split, validate and return in-memory tensors.

    Args:
        cfg: the config's ``data:`` section.
        seed: the experiment's seed; makes ``limit``, the carved splits and ``train_size`` repeatable
            (``data.split.seed`` overrides it for the splits and ``train_size``).

    Raises:
        ConfigError: unknown source or option, impossible split settings.
        DataError: missing or malformed files, an empty split, labels out of range.
    """
    source: Source = find_source(cfg.source)(cfg)
    source.name = source.name or cfg.source
    notes = list(source.notes)
    if len(source.train) == 0:
        raise DataError(f"{cfg.source}: the training data is empty", hint="check data.path")
    if cfg.limit is not None and cfg.limit < len(source.train):
        source.train = _limit(source.train, cfg.limit, seed=seed)
        notes.append(f"limit: {cfg.limit} training samples")
    for own in ("val", "test"):  # a quick try should not spend its time evaluating 10k samples either
        part = getattr(source, own)
        if cfg.limit is not None and part is not None and cfg.limit < len(part):
            setattr(source, own, _limit(part, cfg.limit, seed=seed))
            notes.append(f"limit: {cfg.limit} samples of the source's {own} set")
    split_seed = seed if cfg.split.seed is None else cfg.split.seed
    divide = record_split if uses_records(cfg.split) else split_source
    train, val, test, assignment = divide(source, cfg.split, seed=split_seed, notes=notes)
    meta = dict(source.meta)
    if cfg.train_size is not None:  # after the split: validation and test are the same for every size
        pool = len(train)
        train = shrink_train(train, cfg.train_size, seed=split_seed)
        kept = {str(v) for part in (train.groups, train.ids) if part is not None for v in part}
        assignment["train"] = [name for name in assignment.get("train", []) if name in kept]
        meta.update(train_samples=len(train), train_pool=pool)
        notes.append(f"train_size: {len(train)} of the {pool} training samples (stratified, nested); "
                     "validation and test unchanged")

    k = len(source.class_names)
    shape = tuple(train.x.shape[1:])
    present = np.unique(train.y)
    if len(present) < 2:
        only = source.class_names[int(present[0])] if len(present) and 0 <= present[0] < k else present
        raise DataError(f"{cfg.source}: the training data holds one class only ({only!r}); a classifier needs two "
                        f"or more", hint="check the labels (y) in data.path, or a data.limit that keeps one class")
    for name, part in (("train", train), ("val", val), ("test", test)):
        if part is not None:
            _check(name, part, num_classes=k, sample_shape=shape, source=cfg.source)
    x_train, y_train = _tensors(train)
    x_val, y_val = _tensors(val)
    x_test, y_test = _tensors(test) if test is not None else (None, None)
    parts = (("train", train), ("val", val), ("test", test))
    groups = {name: part.groups for name, part in parts if part is not None and part.groups is not None}
    ids = {name: part.ids for name, part in parts if part is not None and part.ids is not None}
    return Dataset(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
                   class_names=list(source.class_names), name=source.name, notes=notes, meta=meta,
                   assignment=assignment, groups=groups, ids=ids)
