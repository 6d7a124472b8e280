"""Record-level splits: named records train, others test (``split: {train_records, test_records}``).

A recording's samples (its beats or windows) share the record's ``ids``; this split sends whole
records to train or test, so no person's heartbeats are on both sides — the inter-patient protocol
of de Chazal et al. (2004). Validation is carved from the training records by patient (``groups``),
never from the test records. ``preset`` names both lists (:data:`SPLIT_PRESETS`); ``by: beat`` pools
the same records' samples and splits them at random, the flattering "intra-patient" protocol, kept so
that users can see the leak for themselves.

Example:
    >>> from convscope.config import SplitConfig
    >>> ids = np.repeat(["100", "101", "102", "103"], 5)
    >>> src = Source(train=Split(np.zeros((20, 1, 4), np.float32), np.arange(20) % 2, ids, ids), class_names=["a", "b"])
    >>> train, val, test, assignment = record_split(src, SplitConfig(train_records=[100, 101, 102],
    ...                                                             test_records=[103], val=0.3), seed=0)
    >>> assignment
    {'train': ['100', '101'], 'val': ['102'], 'test': ['103']}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from convscope.config import SplitConfig
from convscope.data.base import Source, Split
from convscope.data.splits import _carve
from convscope.errors import ConfigError, DataError
from convscope.registry import Registry

LEAKAGE_NOTE = ("split by: beat: beats of one patient land in train and test; scores are inflated by "
                "leakage (the inter-patient split is the honest one)")


@dataclass(frozen=True)
class RecordLists:
    """A named record-level split."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    description: str


SPLIT_PRESETS: Registry[RecordLists] = Registry("split preset", field="data.split.preset")
SPLIT_PRESETS.add("mitbih-ds1-ds2", RecordLists(
    train=tuple("101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()),
    test=tuple("100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()),
    description="MIT-BIH inter-patient DS1 -> DS2 (de Chazal et al. 2004; paced 102, 104, 107, 217 in neither)"))


def _records(part: Split) -> list[str]:
    """The records in ``part`` (what an audit of a record-level split needs), sorted."""
    return sorted({str(r) for r in part.ids}) if part.ids is not None else []


def uses_records(split: SplitConfig) -> bool:
    """True when ``split`` asks for a record-level split."""
    return split.preset is not None or split.train_records is not None or split.test_records is not None


def record_lists(split: SplitConfig) -> tuple[list[str], list[str], str]:
    """``(train records, test records, what named them)`` of a record-level split: the preset's lists or the
    config's own (``bench/mitbih_cv.py`` reads the first and refuses to open the second).

    Raises:
        ConfigError: both a preset and lists, one list missing, a record in both lists.
    """
    if split.preset is not None:
        if split.train_records is not None or split.test_records is not None:
            raise ConfigError("data.split.preset: give a preset or train_records/test_records, not both",
                              hint="remove train_records and test_records to use the preset's lists")
        preset = SPLIT_PRESETS.get(split.preset)
        return list(preset.train), list(preset.test), f"preset {split.preset}"
    if split.train_records is None or split.test_records is None:
        missing = "test_records" if split.test_records is None else "train_records"
        raise ConfigError(f"data.split.{missing}: a record-level split needs both lists",
                          hint="e.g. split: {train_records: [101, 106], test_records: [100, 103]}")
    train, test = [str(r) for r in split.train_records], [str(r) for r in split.test_records]
    both = sorted(set(train) & set(test))
    if both:
        raise ConfigError(f"data.split: record {both[0]} is in train_records and test_records",
                          hint="a record belongs to one side")
    return train, test, "train_records/test_records"


def record_split(source: Source, split: SplitConfig, *, seed: int,
                 notes: list[str] | None = None) -> tuple[Split, Split, Split | None, dict[str, list[str]]]:
    """``(train, val, test, assignment)`` of a record-level split (see the module docstring).

    Raises:
        ConfigError: both a preset and lists, a record in both lists, a source with splits of its own.
        DataError: a listed record that the source does not hold, a source without record ids.
    """
    notes = notes if notes is not None else []
    train_names, test_names, what = record_lists(split)
    part = source.train
    if source.val is not None or source.test is not None or part.ids is None:
        raise ConfigError(f"data.split: source '{source.name}' cannot be split by record",
                          hint="record-level splits need a source that keeps record ids and has no split of its own")
    ids = part.ids.astype(str)
    held = set(ids.tolist())
    for field, names in (("train_records", train_names), ("test_records", test_names)):
        absent = [r for r in names if r not in held]
        if absent:
            raise DataError(f"data.split.{field}: record {absent[0]} is not in {source.name} ({what})",
                            hint="it may be excluded (exclude_records) or absent from data.path; "
                                 f"records present: {' '.join(sorted(held)[:12])}{' ...' if len(held) > 12 else ''}")
    in_train, in_test = np.isin(ids, train_names), np.isin(ids, test_names)
    unused = sorted(held - set(train_names) - set(test_names))
    if unused:
        notes.append(f"record split: {len(unused)} records in neither list are unused ({' '.join(unused)})")
    carve = {"stratify": split.stratify, "seed": seed, "notes": notes}
    if split.by == "beat":
        pool = part.take(np.flatnonzero(in_train | in_test))
        rest, test = _carve(pool, in_test.sum() / len(pool), what="test", grouped=False, **carve)
        train, val = _carve(rest, split.val, what="validation", grouped=False, **carve)
        notes.append(LEAKAGE_NOTE)
        warnings.warn(LEAKAGE_NOTE, stacklevel=3)
    else:
        test = part.take(np.flatnonzero(in_test))
        train_part = part.take(np.flatnonzero(in_train))
        if train_part.groups is None:
            train_part = Split(train_part.x, train_part.y, train_part.ids, train_part.ids)
        train, val = _carve(train_part, split.val, what="validation", grouped=True, **carve)
        notes.append(f"record split ({what}): {len(train_names)} training records (validation: "
                     f"{len(np.unique(val.ids))} of them, by patient), {len(test_names)} test records")
    return train, val, test, {"train": _records(train), "val": _records(val), "test": _records(test)}
