"""Records through the pipeline: a :class:`Record` per recording in, a :class:`~convscope.data.base.Source` out.

Samples come out as float32 ``(N, leads, samples)``; ``Split.groups`` holds patient ids and
``Split.ids`` record ids (shared by a record's windows), so ``aggregate: mean`` can average a
record's window predictions and ``split: {group_by: patient}`` keeps patients out of two splits.

Example:
    >>> import numpy as np
    >>> from convscope.config import DataConfig
    >>> from convscope.data.ecg.options import SignalOptions
    >>> recs = [Record(np.random.default_rng(i).normal(size=(1, 100)), 10.0, i % 2, group=f"p{i}", id=f"r{i}")
    ...         for i in range(4)]
    >>> source = build_source(recs, SignalOptions(window_s=5), class_names=["a", "b"], name="demo",
    ...                       cfg=DataConfig(source="demo", split={"group_by": "patient"}))
    >>> source.train.x.shape, source.train.groups[:3].tolist()
    ((8, 1, 50), ['p0', 'p0', 'p1'])
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.config import DataConfig
from convscope.data.base import Source, Split
from convscope.data.ecg.options import SignalOptions
from convscope.data.ecg.pipeline import (
    bandpass,
    cut_beats,
    r_peaks,
    remove_baseline,
    resample,
    sliding_windows,
    zscore,
)
from convscope.errors import DataError


@dataclass
class Record:
    """One recording before the pipeline (after lead selection)."""

    signal: np.ndarray  # (leads, samples), physical units (mV)
    fs: float  # Hz
    label: int
    group: str  # patient id
    id: str  # record name, e.g. "patient001/s0010_re"
    split: str = "train"  # train | val | test (PTB-XL's folds)
    leads: list[str] = field(default_factory=list)  # names of the signal's rows, lower case


@dataclass
class _Parts:
    x: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    groups: list[np.ndarray] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)

    def add(self, x: np.ndarray, rec: Record) -> None:
        n = len(x)
        self.x.append(x.astype(np.float32, copy=False))
        self.y.append(np.full(n, rec.label, dtype=np.int64))
        self.groups.append(np.full(n, rec.group, dtype=object))
        self.ids.append(np.full(n, rec.id, dtype=object))

    def split(self) -> Split:
        shapes = Counter(x.shape[1:] for x in self.x)
        if len(shapes) > 1:
            raise DataError(f"records give samples of different shapes {sorted(shapes)} (leads, samples)",
                            hint="records differ in length: set window_s (e.g. window_s: 5) to cut equal windows")
        return Split(np.concatenate(self.x), np.concatenate(self.y),
                     np.concatenate(self.groups).astype(str), np.concatenate(self.ids).astype(str))


def process(rec: Record, opts: SignalOptions) -> tuple[np.ndarray, float]:
    """One record through the pipeline (after ``leads``): samples ``(n, leads, samples)`` and their rate."""
    sig, fs = np.asarray(rec.signal, dtype=np.float64), rec.fs  # (leads, samples)
    if opts.resample_hz is not None:
        sig, fs = resample(sig, fs, opts.resample_hz), float(opts.resample_hz)
    if opts.filter is not None:
        sig = bandpass(sig, fs, *opts.filter)
    if opts.baseline:
        sig = remove_baseline(sig, fs)
    if opts.window_s is not None:
        windows, starts = sliding_windows(sig, fs, opts.window_s, opts.stride_s, record=f"record {rec.id}")
    else:
        windows, starts = sig[None], np.zeros(1, dtype=np.int64)  # (1, leads, samples)
    if opts.normalize == "window":
        windows = zscore(windows)
    elif opts.normalize == "record":
        windows = zscore(windows, mean=sig.mean(axis=-1, keepdims=True), std=sig.std(axis=-1, keepdims=True))
    if opts.beats:
        # R peaks are found once on the whole record (the first selected lead): a detector needs a
        # few beats of context, and a beat cut from a window must be the same beat as in the record.
        windows = cut_beats(windows, starts, r_peaks(sig[0], fs), round(opts.beat_s * fs))
    return windows, fs


def build_source(records: Iterable[Record], opts: SignalOptions, *, class_names: list[str], name: str,
                 cfg: DataConfig, notes: list[str] | None = None, meta: dict[str, Any] | None = None) -> Source:
    """Run ``records`` through the pipeline and pack train/val/test splits into a :class:`Source`."""
    parts: dict[str, _Parts] = {}
    rates: set[float] = set()
    counts: Counter[int] = Counter()  # records per class
    patients: set[str] = set()
    beatless = 0
    leads: list[str] = []
    for rec in records:
        leads = leads or rec.leads
        x, fs = process(rec, opts)
        rates.add(fs)
        counts[rec.label] += 1
        patients.add(rec.group)
        if len(x):
            parts.setdefault(rec.split, _Parts()).add(x, rec)
        else:
            beatless += 1
    if len(rates) > 1:
        raise DataError(f"{name}: records have different sampling rates ({', '.join(f'{r:g}' for r in sorted(rates))} Hz)",
                        hint="set resample_hz (e.g. resample_hz: 250) so every record has one rate")
    if "train" not in parts:
        what = "beats were detected" if opts.beats else "records were left after label selection"
        raise DataError(f"{name}: no training samples (no {what})", hint="check data.path, labels and leads")
    splits = {key: part.split() for key, part in parts.items()}
    fs = rates.pop()
    n_records = sum(counts.values())
    per_class = ", ".join(f"{c} {counts[k]}" for k, c in enumerate(class_names))
    shape = splits["train"].x.shape[1:]
    unit = "beats" if opts.beats else "windows" if opts.window_s is not None else "records"
    notes = list(notes or [])
    notes.append(f"{name}: {n_records} records of {len(patients)} patients ({per_class}) -> "
                 f"{sum(len(s) for s in splits.values())} {unit} of {shape[0]} leads x {shape[1]} samples"
                 + (f" at {fs:g} Hz" if fs else ""))
    if opts.beats and beatless:
        notes.append(f"{name}: {beatless} records gave no complete beat (no R peak detected) and were skipped")
    train = splits["train"]
    shared = len(np.unique(train.groups)) < len(train)  # some patient has several samples
    if shared and "val" not in splits and "test" not in splits and cfg.split.group_by is None:
        message = (f"{name}: data.split.group_by is not set: {unit} of one patient can land in train and test "
                   "(leakage inflates accuracy); set split: {group_by: patient}")
        notes.append(message)
        warnings.warn(message, stacklevel=3)
    meta = {"sample_rate": fs or None, "leads": leads or opts.lead_labels, "aggregate": opts.resolved_aggregate, "synthetic": False,
            **(meta or {})}
    return Source(train=splits["train"], val=splits.get("val"), test=splits.get("test"), class_names=class_names,
                  name=name, notes=notes, meta=meta)
