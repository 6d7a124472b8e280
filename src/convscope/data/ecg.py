"""ECG sources: WFDB records (PTB Diagnostic, PTB-XL, any folder), beat CSVs, and npz/CSV signals.

Every signal source runs the same pipeline, in this order (the order matters: resampling before
filtering keeps the filter's band inside the new Nyquist band; windowing before normalizing lets a
window be z-scored on its own; beats come last so they are cut from normalized windows):

1. ``leads``       pick leads by name (case-insensitive): ``[ii]``, ``[i, ii, v1, v2]``; they become channels
2. ``resample_hz`` polyphase resampling with its anti-aliasing FIR (``scipy.signal.resample_poly``)
3. ``filter``      zero-phase Butterworth band-pass ``[0.5, 40]`` Hz (``sosfiltfilt``); ``baseline: true``
                   removes baseline wander with two median filters
4. ``window_s``    fixed windows every ``stride_s``; a window keeps its record's label, patient and id
5. ``normalize``   z-score per ``window`` (default), per ``record``, or ``none``
6. ``beats``       R peaks (NeuroKit2's detector, snapped to the extremum by ``wfdb.processing``) and
                   fixed ``beat_s`` beats centred on them

Samples come out as float32 ``(N, leads, samples)``; ``Split.groups`` holds patient ids and
``Split.ids`` record ids (shared by a record's windows), so ``aggregate: mean`` can average a
record's window predictions and ``split: {group_by: patient}`` keeps patients out of two splits.

Example:
    >>> from convscope.config import DataConfig
    >>> cfg = DataConfig(source="ecg-wfdb", path="ptb-diagnostic-ecg-database-1.0.0", layout="ptb",
    ...                  leads=["ii"], resample_hz=250, window_s=5, split={"group_by": "patient"})
    >>> source = load_wfdb(cfg)  # doctest: +SKIP
    >>> source.train.x.shape[1:], source.class_names  # doctest: +SKIP
    ((1, 1250), ['control', 'mi'])
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
import wfdb
import wfdb.processing
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy import ndimage, signal

from convscope.config import DataConfig
from convscope.data.base import Source, Split, register_source
from convscope.errors import ConfigError, DataError

# The 15 leads of the PTB Diagnostic database (12 standard + 3 Frank leads); PTB-XL has the first 12.
LEAD_NAMES = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6", "vx", "vy", "vz")

PTB_CLASSES = {"control": ["Healthy control"], "mi": ["Myocardial infarction"]}
PTBXL_SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]
# Ties between superclasses of equal likelihood go to the first here: a record with an MI statement
# is not called normal just because a NORM statement has the same likelihood.
_PTBXL_TIE_ORDER = ["MI", "STTC", "CD", "HYP", "NORM"]

LEAKAGE_WARNING = "beat-level split: beats of one patient land in train and test; accuracy is inflated by leakage"


# ---------------------------------------------------------------------------------------------
# Options


class SignalOptions(BaseModel):
    """The pipeline's options, shared by every ECG signal source (and ``builtin:ecg-synth``)."""

    model_config = ConfigDict(extra="forbid")

    leads: list[str] | None = None  # lead names to keep, in this order; None: every lead of the record
    resample_hz: int | None = Field(None, gt=0)  # e.g. 1000 -> 250 Hz; None: keep the record's rate
    filter: tuple[float | None, float | None] | None = None  # band-pass [low, high] Hz; None edge: one-sided
    baseline: bool = False  # remove baseline wander (median filters, de Chazal et al. 2004)
    window_s: float | None = Field(None, gt=0)  # slice records into windows of this many seconds
    stride_s: float | None = Field(None, gt=0)  # start-to-start distance of windows; None: window_s
    normalize: Literal["window", "record", "none"] = "window"  # z-score each window / each record / not
    beats: bool = False  # cut beats centred on detected R peaks out of each window
    beat_s: float = Field(0.8, gt=0)  # beat length: 0.4 s either side of R covers P to T at rest
    aggregate: Literal["mean", "none"] | None = None  # evaluation: average a record's window predictions;
    # None: "mean" when a record yields several samples (windows or beats), else "none"

    @field_validator("leads")
    @classmethod
    def _lower(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("give at least one lead, e.g. leads: [ii]")
        return None if value is None else [str(v).lower() for v in value]

    @model_validator(mode="after")
    def _check(self) -> SignalOptions:
        if self.filter is not None:
            low, high = self.filter
            if low is None and high is None:
                raise ValueError("filter: give [low, high] Hz, e.g. [0.5, 40] (null for a one-sided filter)")
            if (low is not None and low <= 0) or (high is not None and high <= 0):
                raise ValueError("filter: cut-off frequencies must be > 0 Hz")
            if low is not None and high is not None and low >= high:
                raise ValueError(f"filter: low cut {low} Hz must be below high cut {high} Hz")
        if self.stride_s is not None and self.window_s is None:
            raise ValueError("stride_s needs window_s (the window length), e.g. window_s: 5, stride_s: 2.5")
        if self.beats and self.window_s is not None and self.beat_s > self.window_s:
            raise ValueError(f"beat_s {self.beat_s} s is longer than window_s {self.window_s} s: no beat fits a window")
        return self

    @property
    def resolved_aggregate(self) -> str:
        if self.aggregate is not None:
            return self.aggregate
        return "mean" if self.window_s is not None or self.beats else "none"


class FoldsOptions(BaseModel):
    """PTB-XL's ``strat_fold`` assignment (the dataset's recommended split: 1-8 / 9 / 10)."""

    model_config = ConfigDict(extra="forbid")

    train: list[int] = Field(default_factory=lambda: list(range(1, 9)))
    val: list[int] = Field(default_factory=lambda: [9])
    test: list[int] = Field(default_factory=lambda: [10])


class WfdbOptions(SignalOptions):
    layout: Literal["auto", "ptb", "ptbxl", "flat"] = "auto"  # auto: ptbxl_database.csv -> ptbxl, patient* -> ptb
    labels: dict[str, list[str]] | list[str] | str | None = None  # see the layout readers below
    diagnoses: Literal["drop", "other"] | None = None  # ptb: records with other diagnoses (default drop)
    task: Literal["superclass", "mi-vs-norm"] | None = None  # ptbxl (default superclass)
    sampling: Literal[100, 500] | None = None  # ptbxl: records100/ or records500/ (default 100)
    min_likelihood: float | None = Field(None, ge=0, le=100)  # ptbxl: ignore SCP codes below (default 0)
    folds: FoldsOptions | None = Field(default_factory=FoldsOptions)  # ptbxl: null puts every fold in train


class ArrayOptions(SignalOptions):
    sample_rate: float | None = Field(None, gt=0)  # Hz; needed by time-based options unless the file has fs
    class_names: list[str] | None = None  # names of labels 0..K-1 (sorted labels otherwise)


class BeatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_rate: float = Field(125.0, gt=0)  # Kachuee et al. 2018's beat CSVs are 125 Hz
    resample_hz: int | None = Field(None, gt=0)
    normalize: Literal["window", "record", "none"] = "none"  # the CSVs are already scaled to [0, 1]
    class_names: list[str] | None = None


M = TypeVar("M", bound=BaseModel)


def parse_options(model: type[M], cfg: DataConfig) -> M:
    """Validate ``cfg.options`` against ``model``; a ConfigError naming ``data.<field>`` and a fix."""
    try:
        return model.model_validate(cfg.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "tuple[", "list[", "dict["))]
        where = "data." + ".".join(loc) if loc else "data"
        if err["type"] == "extra_forbidden":
            owner = model if len(loc) == 1 else FoldsOptions  # folds is the only nested option model
            known = sorted(owner.model_fields)
            close = difflib.get_close_matches(loc[-1], known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: unknown option for source '{cfg.source}'",
                              hint=f"{hint}options: {', '.join(known)}") from None
        message = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        got_text = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        raise ConfigError(f"{where}: {message}{got_text}") from None


# ---------------------------------------------------------------------------------------------
# Pipeline steps (each a plain function on arrays, so tests and other sources can use them alone)


def select_leads(sig: np.ndarray, names: list[str], wanted: list[str] | None, *, record: str) -> np.ndarray:
    """Rows of ``sig`` (leads, samples) for the ``wanted`` lead names, matched case-insensitively."""
    if wanted is None:
        return sig
    have = [n.lower() for n in names]
    rows = []
    for lead in wanted:
        if lead not in have:
            close = difflib.get_close_matches(lead, have, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"data.leads: '{lead}' is not a lead of record {record} (it has: {', '.join(have)})",
                              hint=f"{hint}pick leads from that list, e.g. leads: [{have[min(1, len(have) - 1)]}]")
        rows.append(have.index(lead))
    return sig[rows]


def resample(sig: np.ndarray, fs: float, target: float) -> np.ndarray:
    """Resample along the last axis from ``fs`` to ``target`` Hz with ``scipy.signal.resample_poly``.

    Polyphase filtering applies an anti-aliasing low-pass before decimating; plain slicing
    (``x[::4]``) folds everything above the new Nyquist frequency back into the band.
    """
    if fs == target:
        return sig
    ratio = Fraction(round(target * 1000), round(fs * 1000))  # 250/1000 -> 1/4, 360 -> 250: 25/36
    return signal.resample_poly(sig, ratio.numerator, ratio.denominator, axis=-1)


def bandpass(sig: np.ndarray, fs: float, low: float | None, high: float | None, *, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth filter along the last axis (band-pass, or high/low-pass with one edge None).

    Zero-phase (forward-backward) filtering matters for MI: a causal high-pass shifts and bends the
    ST segment, while a bidirectional one at <= 0.67 Hz leaves it intact (AHA recommendations for
    ECG standardization, Kligfield et al. 2007).
    """
    nyquist = fs / 2
    if high is not None and high >= nyquist:
        raise ConfigError(f"data.filter: high cut {high} Hz is not below the Nyquist frequency {nyquist:g} Hz "
                          f"(sampling rate {fs:g} Hz)", hint=f"use a high cut below {nyquist:g}, e.g. "
                                                             f"filter: [{low}, {min(40, nyquist * 0.8):g}]")
    if low is not None and high is not None:
        sos = signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    elif low is not None:
        sos = signal.butter(order, low, btype="highpass", fs=fs, output="sos")
    else:
        sos = signal.butter(order, high, btype="lowpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, sig, axis=-1)


def remove_baseline(sig: np.ndarray, fs: float) -> np.ndarray:
    """Subtract the baseline estimated by a 200 ms then a 600 ms median filter (de Chazal et al. 2004).

    The 200 ms median removes QRS and P waves, the 600 ms one T waves; what is left is the wander.
    Unlike a high-pass filter it leaves the ST level of every beat untouched.
    """
    first = ndimage.median_filter(sig, size=(1, _odd(0.2 * fs)), mode="nearest")
    wander = ndimage.median_filter(first, size=(1, _odd(0.6 * fs)), mode="nearest")
    return sig - wander


def _odd(n: float) -> int:
    k = max(1, round(n))
    return k if k % 2 else k + 1


def sliding_windows(sig: np.ndarray, fs: float, window_s: float, stride_s: float | None = None, *,
                    record: str = "the record") -> tuple[np.ndarray, np.ndarray]:
    """Cut ``sig`` (leads, samples) into windows; ``floor((L - w) / s) + 1`` of them.

    Returns:
        ``(windows, starts)``: windows ``(n, leads, w)`` and their start samples ``(n,)``.
    """
    width = round(window_s * fs)
    stride = round((stride_s or window_s) * fs)
    length = sig.shape[-1]
    if width > length:
        raise DataError(f"window_s: {window_s:g} s ({width} samples at {fs:g} Hz) is longer than {record} "
                        f"({length} samples = {length / fs:g} s)",
                        hint=f"use window_s <= {length / fs:g}, or leave window_s out to use whole records")
    if stride < 1:
        raise ConfigError(f"data.stride_s: {stride_s} s is less than one sample at {fs:g} Hz",
                          hint=f"use stride_s >= {1 / fs:g}")
    view = np.lib.stride_tricks.sliding_window_view(sig, width, axis=-1)[:, ::stride]  # (leads, n, w)
    windows = np.ascontiguousarray(view.transpose(1, 0, 2))  # (n, leads, w)
    return windows, np.arange(windows.shape[0]) * stride


def zscore(x: np.ndarray, *, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> np.ndarray:
    """Per-lead z-score over the last axis (or with the given ``mean``/``std``); flat leads become 0."""
    mean = x.mean(axis=-1, keepdims=True) if mean is None else mean
    std = x.std(axis=-1, keepdims=True) if std is None else std
    return (x - mean) / np.where(std > 1e-8, std, 1.0)


def r_peaks(lead: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample indices of one lead.

    NeuroKit2's detector (QRS slope envelope, fast and robust on 5-10 s windows where wfdb's XQRS
    has too little signal to learn its thresholds) finds the complexes; ``wfdb.processing.correct_peaks``
    then moves each to the largest deflection within 50 ms, so a beat is centred on R itself.
    """
    import neurokit2 as nk  # slow import (~1.5 s): only when beats are asked for

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NeuroKit warns about short signals; too few peaks is handled below
            cleaned = nk.ecg_clean(lead, sampling_rate=fs)
            _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    except (ValueError, IndexError, ZeroDivisionError):  # flat or very short input: no beats
        return np.zeros(0, dtype=np.int64)
    found = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
    if len(found) == 0:
        return found
    snapped = wfdb.processing.correct_peaks(lead, found, search_radius=round(0.05 * fs),
                                            smooth_window_size=round(0.15 * fs), peak_dir="compare")
    return np.unique(np.clip(np.asarray(snapped, dtype=np.int64), 0, len(lead) - 1))


def cut_beats(windows: np.ndarray, starts: np.ndarray, peaks: np.ndarray, beat_len: int) -> np.ndarray:
    """Beats ``(B, leads, beat_len)`` centred on ``peaks`` (record samples) that lie fully inside a window.

    Sample ``beat_len // 2`` of each beat is its R peak.
    """
    half = beat_len // 2
    offsets = np.arange(beat_len)
    beats = []
    for window, start in zip(windows, starts, strict=True):  # window: (leads, w)
        first = peaks - half - start  # each beat's first sample inside this window
        first = first[(first >= 0) & (first + beat_len <= window.shape[-1])]
        if len(first):
            beats.append(window[:, first[:, None] + offsets].transpose(1, 0, 2))  # (b, leads, beat_len)
    if not beats:
        return np.zeros((0, windows.shape[1], beat_len), dtype=windows.dtype)
    return np.concatenate(beats)


# ---------------------------------------------------------------------------------------------
# Records through the pipeline


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
    meta = {"sample_rate": fs or None, "leads": leads or opts.leads, "aggregate": opts.resolved_aggregate, "synthetic": False,
            **(meta or {})}
    return Source(train=splits["train"], val=splits.get("val"), test=splits.get("test"), class_names=class_names,
                  name=name, notes=notes, meta=meta)


# ---------------------------------------------------------------------------------------------
# ecg-wfdb: PTB Diagnostic, PTB-XL, or any folder of WFDB records


def _read(root: Path, name: str, opts: SignalOptions) -> tuple[np.ndarray, float, list[str]]:
    """A WFDB record's signal (leads, samples) in physical units with the chosen leads, its rate and leads."""
    try:
        rec = wfdb.rdrecord(str(root / name))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{root / name}: cannot read WFDB record ({exc})",
                        hint="each record needs its .hea header and the signal file it names (.dat or .mat)") from None
    sig = np.nan_to_num(rec.p_signal.T)  # (leads, samples); wfdb marks missing samples NaN
    leads = opts.leads or [n.lower() for n in rec.sig_name]
    return select_leads(sig, rec.sig_name, opts.leads, record=name), float(rec.fs), leads


def _record_names(root: Path, pattern: str) -> list[str]:
    """Record names from the ``RECORDS`` file (PhysioNet's index) if present, else every header found."""
    index = root / "RECORDS"
    if index.is_file():
        return [line.strip() for line in index.read_text().splitlines() if line.strip()]
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.glob(pattern))


def _reason(comments: list[str]) -> str:
    for line in comments:
        match = re.match(r"\s*reason for admission\s*:\s*(.*)$", line, flags=re.IGNORECASE)
        if match:
            return match.group(1).strip() or "n/a"
    return "n/a"


def _ptb(root: Path, opts: WfdbOptions) -> tuple[Iterator[Record], list[str], list[str]]:
    """PTB Diagnostic (``patientNNN/sNNNNlre``): patient from the folder, label from ``Reason for admission``.

    ``labels`` maps class -> admission reasons (default ``{control: [Healthy control], mi: [Myocardial
    infarction]}``; class order is label order, so the second class is the positive one);
    ``diagnoses: other`` keeps every other record as class ``other`` instead of dropping it.
    """
    if opts.labels is not None and not isinstance(opts.labels, dict):
        raise ConfigError("data.labels: layout ptb takes a mapping class -> admission reasons",
                          hint="e.g. labels: {control: [Healthy control], mi: [Myocardial infarction]}")
    mapping = opts.labels or PTB_CLASSES
    lookup = {reason.lower(): k for k, reasons in enumerate(mapping.values()) for reason in reasons}
    class_names = list(mapping)
    if opts.diagnoses == "other":
        class_names.append("other")
    names = _record_names(root, "patient*/*.hea")
    if not names:
        raise DataError(f"{root}: no PTB Diagnostic records (expected RECORDS and patientNNN/sNNNNxxx.hea + .dat)",
                        hint="point data.path at the unpacked ptb-diagnostic-ecg-database-1.0.0/ folder")
    chosen: list[tuple[str, int]] = []
    dropped: Counter[str] = Counter()
    for name in names:
        try:
            header = wfdb.rdheader(str(root / name))
        except FileNotFoundError:
            raise DataError(f"{root / name}.hea: missing (listed in RECORDS)",
                            hint="the download is incomplete: fetch the whole ptb-diagnostic-ecg-database-1.0.0/") from None
        reason = _reason(header.comments or [])
        label = lookup.get(reason.lower())
        if label is None and opts.diagnoses == "other":
            label = len(class_names) - 1
        if label is None:
            dropped[reason] += 1
        else:
            chosen.append((name, label))
    notes = []
    if dropped:
        notes.append(f"ptb: {sum(dropped.values())} records dropped (admission reason not in labels: "
                     + ", ".join(f"{r} x{n}" for r, n in dropped.most_common()) + "); keep them with diagnoses: other")

    def records() -> Iterator[Record]:
        for name, label in chosen:
            sig, fs, leads = _read(root, name, opts)
            yield Record(sig, fs, label, group=Path(name).parent.name or name, id=name, leads=leads)

    return records(), class_names, notes


def _ptbxl_labels(codes: dict[str, float], diagnostic: dict[str, str], opts: WfdbOptions,
                  classes: list[str]) -> int | None:
    """The class of one PTB-XL record from its ``scp_codes`` (code -> likelihood), or None to drop it."""
    floor = opts.min_likelihood or 0.0
    score: dict[str, float] = {}
    for code, likelihood in codes.items():
        superclass = diagnostic.get(code)
        if superclass and likelihood >= floor:
            score[superclass] = max(score.get(superclass, -1.0), likelihood)
    if not score:
        return None
    if opts.task == "mi-vs-norm":
        if "MI" in score and "NORM" not in score:
            return classes.index("MI")
        return classes.index("NORM") if set(score) == {"NORM"} else None
    best = max(score.values())
    label = next(c for c in _PTBXL_TIE_ORDER if score.get(c) == best)
    return classes.index(label) if label in classes else None


def _ptbxl(root: Path, opts: WfdbOptions) -> tuple[Iterator[Record], list[str], list[str]]:
    """PTB-XL: labels from ``scp_codes`` via ``scp_statements.csv``, splits from ``strat_fold``.

    ``task: superclass`` (default): one label per record, the diagnostic superclass (NORM, MI, STTC,
    CD, HYP) of its most likely diagnostic SCP statement; ``labels: [NORM, MI]`` keeps a subset.
    PTB-XL is natively multi-label; this single-label reading is what a softmax CNN can learn.
    ``task: mi-vs-norm``: MI = any MI statement and no NORM one; NORM = only NORM statements;
    every other record is dropped.
    """
    database, statements = root / "ptbxl_database.csv", root / "scp_statements.csv"
    missing = [p.name for p in (database, statements) if not p.is_file()]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)} (PTB-XL needs ptbxl_database.csv, "
                        "scp_statements.csv and records100/ or records500/)",
                        hint="point data.path at the unpacked ptb-xl-1.0.3/ folder")
    sampling = opts.sampling or 100
    column = "filename_lr" if sampling == 100 else "filename_hr"
    if not (root / f"records{sampling}").is_dir():
        raise DataError(f"{root}: missing records{sampling}/ (sampling: {sampling})",
                        hint=f"download records{sampling}/ too, or use sampling: {600 - sampling}")
    db = pd.read_csv(database, index_col="ecg_id")
    scp = pd.read_csv(statements, index_col=0)
    need = {"scp_codes", "strat_fold", "patient_id", column}
    if not need <= set(db.columns) or "diagnostic_class" not in scp.columns:
        absent = sorted(need - set(db.columns)) + ([] if "diagnostic_class" in scp.columns else ["diagnostic_class"])
        raise DataError(f"{root}: PTB-XL tables lack columns {', '.join(absent)}",
                        hint="use the CSVs shipped with PTB-XL 1.0.x unchanged")
    diagnostic = scp[scp["diagnostic"] == 1]["diagnostic_class"].dropna().to_dict()
    if opts.task == "mi-vs-norm":
        if opts.labels is not None:
            raise ConfigError("data.labels: task mi-vs-norm has fixed classes NORM and MI",
                              hint="remove labels, or use task: superclass with labels: [NORM, MI]")
        classes = ["NORM", "MI"]
    else:
        if opts.labels is not None and not isinstance(opts.labels, list):
            raise ConfigError("data.labels: layout ptbxl takes a list of superclasses to keep",
                              hint="e.g. labels: [NORM, MI, STTC, CD, HYP]")
        classes = [c.upper() for c in (opts.labels or PTBXL_SUPERCLASSES)]
        unknown = [c for c in classes if c not in PTBXL_SUPERCLASSES]
        if unknown:
            raise ConfigError(f"data.labels: {', '.join(unknown)} is not a PTB-XL superclass",
                              hint=f"choose from {', '.join(PTBXL_SUPERCLASSES)}")
    fold_of: dict[int, str] = {}
    if opts.folds is not None:
        for part in ("train", "val", "test"):
            for fold in getattr(opts.folds, part):
                fold_of[fold] = part
    chosen: list[tuple[str, int, str, str]] = []
    dropped = 0
    for row in db.itertuples():
        # scp_codes is a Python dict literal; literal_eval parses it without running code (eval would)
        label = _ptbxl_labels(ast.literal_eval(row.scp_codes), diagnostic, opts, classes)
        part = fold_of.get(int(row.strat_fold)) if opts.folds is not None else "train"
        if label is None or part is None:
            dropped += 1
            continue
        chosen.append((getattr(row, column), label, f"{int(row.patient_id)}", part))
    notes = [f"ptbxl: task {opts.task or 'superclass'}, {sampling} Hz, "
             + ("folds " + "/".join(",".join(map(str, getattr(opts.folds, p))) for p in ("train", "val", "test"))
                + " = train/val/test" if opts.folds is not None else "every fold in train")
             + (f"; {dropped} records dropped (no matching label or fold)" if dropped else "")]

    def records() -> Iterator[Record]:
        for name, label, patient, part in chosen:
            sig, fs, leads = _read(root, name, opts)
            yield Record(sig, fs, label, group=patient, id=name, split=part, leads=leads)

    return records(), classes, notes


def _flat(root: Path, opts: WfdbOptions) -> tuple[Iterator[Record], list[str], list[str]]:
    """Any folder of WFDB records. ``labels`` is a CSV (columns ``record, label[, group]``) relative to
    ``path``, or a mapping class -> record names / glob patterns (``{mi: ["mi_*"], control: ["ctl_*"]}``).

    The patient of a record is the CSV's ``group``, else its sub-folder (``patient7/rec1``), else the
    record itself: without patient ids a split can only be record-wise.
    """
    names = _record_names(root, "**/*.hea")
    if not names:
        raise DataError(f"{root}: no WFDB records (expected *.hea headers with .dat/.mat signals, or a RECORDS file)",
                        hint="point data.path at the folder holding the records")
    groups: dict[str, str] = {}
    if isinstance(opts.labels, str):
        table_path = root / opts.labels
        if not table_path.is_file():
            raise DataError(f"{table_path}: labels file not found", hint="labels: a CSV relative to data.path")
        table = pd.read_csv(table_path, dtype=str)
        if not {"record", "label"} <= set(table.columns):
            raise DataError(f"{table_path}: needs columns 'record' and 'label' (has {', '.join(table.columns)})",
                            hint="one row per record: record,label[,group]")
        class_names = sorted(table["label"].unique())
        label_of = {r: class_names.index(lab) for r, lab in zip(table["record"], table["label"], strict=True)}
        if "group" in table.columns:
            groups = dict(zip(table["record"], table["group"], strict=True))
    elif isinstance(opts.labels, dict):
        class_names = list(opts.labels)
        label_of = {}
        for name in names:
            for k, patterns in enumerate(opts.labels.values()):
                if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(Path(name).name, p) for p in patterns):
                    label_of.setdefault(name, k)
    else:
        raise ConfigError("data.labels: layout flat needs labels (a CSV or a mapping class -> records)",
                          hint="e.g. labels: labels.csv (record,label[,group]) or labels: {mi: ['mi_*'], "
                               "control: ['ctl_*']}")
    chosen = [n for n in names if n in label_of]
    notes = [f"flat: {len(names) - len(chosen)} records without a label skipped"] if len(chosen) < len(names) else []

    def records() -> Iterator[Record]:
        for name in chosen:
            sig, fs, leads = _read(root, name, opts)
            group = groups.get(name) or (Path(name).parent.name if Path(name).parent.name else name)
            yield Record(sig, fs, label_of[name], group=group, id=name, leads=leads)

    return records(), class_names, notes


_LAYOUT_ONLY = {"diagnoses": "ptb", "task": "ptbxl", "sampling": "ptbxl", "min_likelihood": "ptbxl"}


def _detect_layout(root: Path) -> str:
    if (root / "ptbxl_database.csv").is_file():
        return "ptbxl"
    if any(root.glob("patient*/*.hea")):
        return "ptb"
    return "flat"


def _root(cfg: DataConfig, expected: str) -> Path:
    if cfg.path is None:
        raise ConfigError(f"data.path: source '{cfg.source}' needs a path", hint=f"data.path: {expected}")
    root = Path(cfg.path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder (data.path)", hint=f"expected {expected}")
    return root


@register_source("ecg-wfdb")
def load_wfdb(cfg: DataConfig) -> Source:
    """WFDB records from ``data.path``: ``layout: ptb | ptbxl | flat`` (``auto`` detects it)."""
    opts = parse_options(WfdbOptions, cfg)
    root = _root(cfg, "a folder of WFDB records, e.g. ptb-diagnostic-ecg-database-1.0.0/ or ptb-xl-1.0.3/")
    if not root.is_dir():
        raise DataError(f"{root}: ecg-wfdb needs a folder, not a file", hint="point data.path at the record folder")
    layout = _detect_layout(root) if opts.layout == "auto" else opts.layout
    for option, owner in _LAYOUT_ONLY.items():
        if getattr(opts, option) is not None and owner != layout:
            raise ConfigError(f"data.{option}: applies to layout {owner} only (this is layout {layout})",
                              hint=f"remove {option}, or set layout: {owner}")
    readers = {"ptb": _ptb, "ptbxl": _ptbxl, "flat": _flat}
    records, class_names, notes = readers[layout](root, opts)
    return build_source(records, opts, class_names=class_names, name=f"ecg-wfdb ({layout})", cfg=cfg,
                        notes=notes, meta={"layout": layout})


# ---------------------------------------------------------------------------------------------
# ecg-beats: the beat CSVs of Kachuee et al. (2018)


_BEAT_SETS = {  # folder contents -> (train files, test files, class names)
    "ptbdb": (["ptbdb_normal.csv", "ptbdb_abnormal.csv"], [], ["normal", "abnormal"]),
    "mitbih": (["mitbih_train.csv"], ["mitbih_test.csv"], ["N", "S", "V", "F", "Q"]),
}


def _read_beats(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path, header=None, dtype=np.float32))
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"{path}: not a numeric beat CSV ({exc})",
                            hint="one beat per row: samples..., label (last column), no header") from None
    table = pd.concat(frames).to_numpy()
    return table[:, :-1], table[:, -1]


@register_source("ecg-beats")
def load_beats(cfg: DataConfig) -> Source:
    """Beat-level CSVs: a folder with ``ptbdb_normal.csv`` + ``ptbdb_abnormal.csv`` (or ``mitbih_train.csv``
    [+ ``mitbih_test.csv``]), or one CSV whose last column is the label."""
    opts = parse_options(BeatOptions, cfg)
    root = _root(cfg, "ptbdb_normal.csv + ptbdb_abnormal.csv, or a beat CSV (last column = label)")
    test: tuple[np.ndarray, np.ndarray] | None = None
    class_names = opts.class_names
    if root.is_dir():
        found = next((k for k, (files, _, _) in _BEAT_SETS.items() if all((root / f).is_file() for f in files)), None)
        if found is None:
            expected = " or ".join(" + ".join(files) for files, _, _ in _BEAT_SETS.values())
            raise DataError(f"{root}: no beat CSVs (expected {expected})",
                            hint="or point data.path at a single CSV whose last column is the label")
        train_files, test_files, default_names = _BEAT_SETS[found]
        x, y = _read_beats([root / f for f in train_files])
        if all((root / f).is_file() for f in test_files) and test_files:
            test = _read_beats([root / f for f in test_files])
        class_names = class_names or default_names
    else:
        x, y = _read_beats([root])
    values = np.unique(np.concatenate([y, test[1]]) if test else y)
    if not np.array_equal(values, np.round(values)) or values.min() < 0:
        raise DataError(f"{root}: the last column holds {values[:5]}..., not class indices",
                        hint="the label must be the last column: 0, 1, ...")
    k = int(values.max()) + 1
    class_names = class_names or [str(i) for i in range(k)]
    if len(class_names) < k:
        raise ConfigError(f"data.class_names: {len(class_names)} names for labels 0..{k - 1}",
                          hint=f"give {k} names")

    def split(xs: np.ndarray, ys: np.ndarray) -> Split:
        sig = xs[:, None, :].astype(np.float64)  # (N, 1, 187)
        if opts.resample_hz is not None:
            sig = resample(sig, opts.sample_rate, opts.resample_hz)
        if opts.normalize != "none":  # each row is one beat: window and record are the same thing
            sig = zscore(sig)
        return Split(sig.astype(np.float32), ys.astype(np.int64))

    warnings.warn(LEAKAGE_WARNING, stacklevel=2)
    return Source(train=split(x, y), test=split(*test) if test else None, class_names=class_names, name="ecg-beats",
                  notes=[LEAKAGE_WARNING], meta={"sample_rate": float(opts.resample_hz or opts.sample_rate),
                                                 "aggregate": "none", "leakage": True, "synthetic": False})


# ---------------------------------------------------------------------------------------------
# ecg-npz / ecg-csv: a user's own signals, one row (record) per sample


def _array_records(x: np.ndarray, labels: np.ndarray, groups: np.ndarray | None, ids: np.ndarray | None,
                   fs: float, lead_names: list[str] | None, opts: ArrayOptions,
                   what: str) -> tuple[list[Record], list[str]]:
    if x.ndim == 2:
        x = x[:, None, :]  # (N, samples) -> (N, 1, samples)
    if x.ndim != 3 or len(x) != len(labels):
        raise DataError(f"{what}: x must be (N, leads, samples) or (N, samples) with one label per row "
                        f"(got x {x.shape}, y {labels.shape})")
    if opts.leads is not None and lead_names is None:
        raise ConfigError(f"data.leads: {what} has no lead names",
                          hint="store them (np.savez(..., lead_names=['i', 'ii'])) or remove leads")
    values = np.unique(labels)
    class_names = opts.class_names or [str(v) for v in values]
    if len(class_names) != len(values):
        raise ConfigError(f"data.class_names: {len(class_names)} names for {len(values)} labels "
                          f"({', '.join(map(str, values))})", hint=f"give {len(values)} names in label order")
    index = np.searchsorted(values, labels)
    names = lead_names or [f"lead{i}" for i in range(x.shape[1])]
    ids = np.arange(len(x)).astype(str) if ids is None else ids.astype(str)
    groups = ids if groups is None else groups.astype(str)  # no patient ids: each record is its own group
    records = [Record(select_leads(x[i], names, opts.leads, record=f"{what} row {i}"), fs, int(index[i]),
                      group=groups[i], id=ids[i], leads=opts.leads or [n.lower() for n in names])
               for i in range(len(x))]
    return records, class_names


def _rate(opts: ArrayOptions, stored: float | None, what: str) -> float:
    """The sampling rate; 0 (unknown) is fine as long as no step needs seconds or Hz."""
    fs = opts.sample_rate or stored
    timed = opts.resample_hz or opts.filter or opts.baseline or opts.window_s or opts.beats
    if fs is None and timed:
        raise ConfigError(f"data.sample_rate: {what} does not say its sampling rate, and the pipeline needs it",
                          hint="add sample_rate: HZ (e.g. sample_rate: 500)")
    return float(fs or 0.0)


@register_source("ecg-npz")
def load_ecg_npz(cfg: DataConfig) -> Source:
    """An ``.npz`` with ``x`` (N, leads, samples) or (N, samples), ``y`` and optional ``groups``, ``ids``,
    ``fs`` and ``lead_names``; every row is a record for the pipeline."""
    from convscope.data.images import load_npz  # the pickle-free reader of the generic npz source

    opts = parse_options(ArrayOptions, cfg)
    path = _root(cfg, "an .npz with arrays x, y[, groups, ids, fs, lead_names]")
    arrays = load_npz(path)
    if not {"x", "y"} <= set(arrays):
        raise DataError(f"{path}: needs arrays 'x' and 'y' (has {', '.join(sorted(arrays)) or 'none'})",
                        hint="np.savez(path, x=signals, y=labels, groups=patient_ids)")
    stored = float(arrays["fs"]) if "fs" in arrays else None
    leads = [str(n) for n in arrays["lead_names"]] if "lead_names" in arrays else None
    records, class_names = _array_records(arrays["x"], arrays["y"], arrays.get("groups"), arrays.get("ids"),
                                          _rate(opts, stored, str(path)), leads, opts, str(path))
    return build_source(records, opts, class_names=class_names, name="ecg-npz", cfg=cfg)


@register_source("ecg-csv")
def load_ecg_csv(cfg: DataConfig) -> Source:
    """A CSV with a ``label`` column, optional ``group`` and ``id`` columns, and one column per sample."""
    opts = parse_options(ArrayOptions, cfg)
    path = _root(cfg, "a CSV with a label column and one column per sample")
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from None
    if "label" not in table.columns:
        raise DataError(f"{path}: no 'label' column (columns: {', '.join(map(str, table.columns[:8]))} ...)",
                        hint="the header needs label[,group][,id] and then the sample columns")
    meta_cols = [c for c in ("label", "group", "id") if c in table.columns]
    samples = table.drop(columns=meta_cols)
    try:
        x = samples.to_numpy(dtype=np.float64)  # (N, samples)
    except ValueError:
        raise DataError(f"{path}: sample columns must be numeric", hint="only label, group and id may be text") from None
    records, class_names = _array_records(
        x, table["label"].to_numpy(), table["group"].to_numpy() if "group" in table else None,
        table["id"].to_numpy() if "id" in table else None, _rate(opts, None, str(path)), None, opts, str(path))
    return build_source(records, opts, class_names=class_names, name="ecg-csv", cfg=cfg)
