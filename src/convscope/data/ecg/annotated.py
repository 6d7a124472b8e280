"""``source: ecg-wfdb`` with ``labels: annotations``: one sample per annotated beat (MIT-BIH and the like).

Each beat annotation of a record (annotator ``atr`` by default: the cardiologists' reference labels)
becomes one sample ``(leads, beat_s * fs)`` centred on its R peak: sample ``L // 2`` is the annotated
sample. Symbols map to classes by ``classes`` (default: the AAMI EC57 classes, below); annotations
that are not beats (rhythm changes, noise, comments) are skipped, and so are beats whose symbol the
table does not list. ``template: add`` adds per lead a channel, the beat minus its record's median
beat; ``template: subtract`` keeps only that difference. ``rr_features: true`` appends the beat's RR
intervals (:data:`~convscope.data.ecg.rr_intervals.RR_FEATURES`) as the last 7 values of the first channel
(zeros on the others), ``rr_features: [name, ...]`` any features of
:data:`~convscope.data.ecg.rr_intervals.RR_TABLE` (e.g. the rhythm's irregularity) in that order; a model
reads them with the ``with_scalars`` block. ``beat_features: [name, ...]`` (QRS-shape features of every
lead against the record's median beat, :data:`~convscope.data.ecg.beat_shape.BEAT_FEATURES`) follow the RR
features there (:func:`scalar_names`).

The signal steps are the pipeline's (``leads``, ``resample_hz``, ``filter``, ``baseline``,
``normalize`` per beat or per record). What all records give is cached under the cache folder keyed
by the options and the files' sizes and times, so a second load reads one ``.npz``.

Example:
    >>> from convscope.config import DataConfig
    >>> cfg = DataConfig(source="ecg-wfdb", path="mitdb", labels="annotations", leads=["mlii"],
    ...                  exclude_records=[102, 104, 107, 217], split={"preset": "mitbih-ds1-ds2"})
    >>> source = load_annotated(cfg)  # doctest: +SKIP
    >>> source.class_names  # doctest: +SKIP
    ['N', 'S', 'V', 'F', 'Q']
    >>> rr_features(np.array([0.0, 1.0, 2.0, 2.5, 3.5]))[:, :2].tolist()  # pre_rr, post_rr (s)
    [[1.0, 1.0], [1.0, 1.0], [1.0, 0.5], [0.5, 1.0], [1.0, 1.0]]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from convscope.config import DataConfig
from convscope.data.base import Source, Split
from convscope.data.cache import cached_arrays
from convscope.data.ecg.beat_shape import beat_features
from convscope.data.ecg.options import WfdbOptions
from convscope.data.ecg.pipeline import bandpass, remove_baseline, resample, zscore
from convscope.data.ecg.rr_intervals import rr_features, rr_names
from convscope.data.ecg.wfdb_files import read_signal, record_names
from convscope.errors import ConfigError, DataError

# AAMI EC57 beat classes from MIT-BIH symbols (de Chazal et al. 2004, Table I).
AAMI_CLASSES = {"N": ["N", "L", "R", "e", "j"], "S": ["A", "a", "J", "S"], "V": ["V", "E"], "F": ["F"],
                "Q": ["/", "f", "Q"]}
# Every WFDB beat annotation code (PhysioNet, "Annotation codes", beat annotations); other codes mark
# rhythm changes, noise, signal quality or comments and are not beats.
BEAT_SYMBOLS = ("N", "L", "R", "B", "A", "a", "J", "S", "V", "r", "F", "e", "j", "n", "E", "/", "f", "Q", "?")
CACHE_VERSION = 2  # bump when what is cached changes, so old files are not reused
_ONLY_HERE = ("annotator", "classes", "patients", "rr_features", "template", "beat_features")
_NOT_HERE = ("window_s", "stride_s", "beats", "layout", "diagnoses", "task", "sampling", "min_likelihood")


def beats_at(sig: np.ndarray, fs0: float, positions: np.ndarray, opts: WfdbOptions, *,
              usable: np.ndarray | None = None, name: str = "record") -> dict[str, Any]:
    """Beats ``(B, channels, L)`` and scalar inputs ``(B, F)`` (``opts.rr_features``' RR features, then
    ``opts.beat_features`` of each lead: :func:`scalar_names`) of a signal ``(leads, samples)`` at ``fs0`` Hz
    cut at the beat positions ``positions`` (samples at ``fs0``, sorted): training and ``predict`` both call
    this, so a prediction sees exactly the samples training saw.

    The signal steps (``resample_hz``, ``filter``, ``baseline``, ``normalize``) run first; a beat is kept
    when its window lies inside the record and ``usable`` (default: all) says so; the template (the
    median of the kept beats; the beat features compare each beat with it), the RR features (every beat is
    a neighbour, kept or not) follow. Returns ``x``, ``scalars`` (float32), ``fs`` (Hz after resampling),
    ``positions`` (kept beats' samples at ``fs``), ``keep`` and ``inside`` (masks over ``positions``).

    Example:
        >>> opts = WfdbOptions(beat_s=0.2, normalize="none", template="add", rr_features=True)
        >>> out = beats_at(np.ones((1, 100)), 50.0, np.array([2, 20, 40, 60, 98]), opts)
        >>> out["x"].shape, out["scalars"][:, 0].tolist(), out["positions"].tolist()  # 10-sample beats, 2 channels
        ((3, 2, 10), [0.36000001430511475, 0.4000000059604645, 0.4000000059604645], [20, 40, 60])
    """
    positions = np.asarray(positions, dtype=np.int64)
    fs = float(fs0)
    if opts.resample_hz is not None:
        sig, fs = resample(sig, fs0, opts.resample_hz), float(opts.resample_hz)
        positions = np.round(positions * fs / fs0).astype(np.int64)
    if opts.filter is not None:
        sig = bandpass(sig, fs, *opts.filter)
    if opts.baseline:
        sig = remove_baseline(sig, fs)
    if opts.normalize == "record":
        sig = zscore(sig)
    width = round(opts.beat_s * fs)
    if width > sig.shape[-1]:
        raise DataError(f"record {name}: {sig.shape[-1]} samples ({sig.shape[-1] / fs:g} s) is shorter than one beat "
                        f"(beat_s {opts.beat_s:g} s = {width} samples)", hint=f"use a smaller beat_s, or "
                                                                              f"exclude_records: [{name}]")
    starts = positions - width // 2
    inside = (starts >= 0) & (starts + width <= sig.shape[-1])
    keep = inside & (np.ones(len(positions), dtype=bool) if usable is None else np.asarray(usable, dtype=bool))
    x = sig[:, starts[keep, None] + np.arange(width)].transpose(1, 0, 2)  # (B, leads, L)
    if opts.normalize == "window":
        x = zscore(x)
    template = np.median(x, axis=0) if len(x) else np.zeros(x.shape[1:])  # (leads, L)
    # The record's median beat is what this person's usual beat looks like (no labels needed);
    # a beat minus it is ~0 for a normal beat of any person, so morphology transfers between people.
    shape = beat_features(x, template, fs, opts.beat_features or ())  # (B, F' * leads), before subtracting
    if opts.template is not None:
        relative = x - template[None]  # (B, leads, L)
        x = np.concatenate([x, relative], axis=1) if opts.template == "add" else relative  # (B, 2 * leads or leads, L)
    names = rr_names(opts.rr_features)
    if len(positions) >= 2 and names:
        rr = rr_features(positions / fs, names)[keep]  # (B, F); every beat, kept or not, is a neighbour
    else:
        rr = np.zeros((int(keep.sum()), len(names)))  # one beat has no RR interval; none is kept then
    scalars = np.concatenate([rr, shape], axis=1)  # (B, F + F' * leads): what the with_scalars block reads
    return {"x": x.astype(np.float32), "scalars": scalars.astype(np.float32), "fs": fs, "positions": positions[keep],
            "keep": keep, "inside": inside}


def scalar_names(opts: WfdbOptions, leads: list[str]) -> list[str]:
    """The names of a beat's scalar inputs, in their packed order: the RR features, then each beat feature
    of each of the beat's ``leads`` (``qrs_width_ratio[mlii]``).

    Example:
        >>> opts = WfdbOptions(leads=["mlii", {"any_of": ["v1", "v5"]}], rr_features=["pre_ratio"],
        ...                    beat_features=["template_corr"])
        >>> scalar_names(opts, opts.lead_labels)
        ['pre_ratio', 'template_corr[mlii]', 'template_corr[v1|v5]']
    """
    return [*rr_names(opts.rr_features), *(f"{name}[{lead}]" for lead in leads for name in opts.beat_features or ())]


def pack_scalars(x: np.ndarray, rr: np.ndarray) -> np.ndarray:
    """Beats ``(B, C, L)`` with their scalar inputs ``(B, F)`` (e.g. 7 RR features) as the last F values of
    channel 0 ``(B, C, L + F)`` (zeros on the other channels): the one-tensor layout ``with_scalars`` reads.

    Example:
        >>> pack_scalars(np.zeros((1, 2, 3)), np.arange(7.0)[None]).tolist()[0][0]
        [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    """
    tail = np.zeros((len(x), x.shape[1], rr.shape[-1]), dtype=np.float32)  # (B, C, F)
    tail[:, 0] = rr
    return np.concatenate([x.astype(np.float32, copy=False), tail], axis=-1)  # (B, C, L + F)


def class_table(opts: WfdbOptions) -> tuple[list[str], dict[str, int]]:
    """Class names and symbol -> class index; a ConfigError for a symbol that is not a beat code."""
    classes = opts.classes or AAMI_CLASSES
    lookup: dict[str, int] = {}
    for k, (name, symbols) in enumerate(classes.items()):
        for symbol in symbols:
            if symbol not in BEAT_SYMBOLS:
                raise ConfigError(f"data.classes.{name}: '{symbol}' is not a WFDB beat symbol",
                                  hint=f"beat symbols: {' '.join(BEAT_SYMBOLS)}")
            if symbol in lookup:
                raise ConfigError(f"data.classes.{name}: symbol '{symbol}' is already in class "
                                  f"{list(classes)[lookup[symbol]]}", hint="give each symbol one class")
            lookup[symbol] = k
    return list(classes), lookup


def _check_options(opts: WfdbOptions) -> None:
    given = opts.model_fields_set
    for name in _NOT_HERE:
        if name in given and name != "layout" or name == "layout" and opts.layout not in ("auto", "flat"):
            raise ConfigError(f"data.{name}: does not apply to labels: annotations (one sample per annotated beat)",
                              hint=f"remove {name}; beat_s sets the beat's length")


def annotation_only(opts: WfdbOptions) -> None:
    """A ConfigError when an option of ``labels: annotations`` is given without it."""
    given = [name for name in (*_ONLY_HERE, "exclude_records") if name in opts.model_fields_set]
    if given:
        raise ConfigError(f"data.{given[0]}: applies to labels: annotations only",
                          hint=f"set labels: annotations, or remove {given[0]}")


def _beats(root: Path, name: str, opts: WfdbOptions, lookup: dict[str, int]) -> dict[str, Any]:
    """One record's beats ``(B, leads, L)``, labels, RR features and what was skipped."""
    annotator = opts.annotator or "atr"
    try:
        ann = wfdb.rdann(str(root / name), annotator)
    except FileNotFoundError:
        raise DataError(f"{root / name}.{annotator}: record {name} has no '{annotator}' annotation file",
                        hint=f"set annotator: to its annotation file's extension, or exclude_records: [{name}]") from None
    sig, fs0, leads = read_signal(root, name, opts)  # (leads, samples)
    symbols = np.asarray(ann.symbol)
    positions = np.asarray(ann.sample, dtype=np.int64)
    is_beat = np.isin(symbols, BEAT_SYMBOLS)
    beat_pos, beat_sym = positions[is_beat], symbols[is_beat]
    if len(beat_pos) < 2:
        raise DataError(f"{root / name}.{annotator}: record {name} has {len(beat_pos)} beat annotations",
                        hint=f"beats need neighbours for RR intervals; exclude_records: [{name}]")
    labels = np.array([lookup.get(s, -1) for s in beat_sym], dtype=np.int64)
    beats = beats_at(sig, fs0, beat_pos, opts, usable=labels >= 0, name=name)
    x, rr, fs, keep, inside = beats["x"], beats["scalars"], beats["fs"], beats["keep"], beats["inside"]
    unmapped = Counter(beat_sym[inside & (labels < 0)].tolist())
    return {"x": x, "y": labels[keep], "rr": rr, "fs": fs, "leads": leads,
            "non_beats": int((~is_beat).sum()), "unmapped": unmapped, "edge": int((~inside).sum())}


def _records(root: Path, opts: WfdbOptions) -> list[str]:
    names = record_names(root, "**/*.hea")
    if not names:
        raise DataError(f"{root}: no WFDB records (expected NNN.hea headers with their .dat and annotation files)",
                        hint="point data.path at the folder holding the records, e.g. mitdb/")
    excluded = [str(r) for r in opts.exclude_records]
    absent = [r for r in excluded if r not in names]
    if absent:
        raise DataError(f"data.exclude_records: record {absent[0]} is not in {root}",
                        hint=f"records there: {' '.join(names[:12])}{' ...' if len(names) > 12 else ''}")
    return [n for n in names if n not in excluded]


def _read_all(root: Path, names: list[str], opts: WfdbOptions) -> dict[str, np.ndarray]:
    class_names, lookup = class_table(opts)
    patient_of = {str(r): p for p, records in (opts.patients or {}).items() for r in records}
    parts: list[dict[str, Any]] = []
    for name in names:
        part = _beats(root, name, opts, lookup)
        part["name"] = name
        parts.append(part)
    rates = {p["fs"] for p in parts}
    if len(rates) > 1:
        raise DataError(f"{root}: records have different sampling rates ({', '.join(f'{r:g}' for r in sorted(rates))} Hz)",
                        hint="set resample_hz (e.g. resample_hz: 360) so every record has one rate")
    unmapped = sum((p["unmapped"] for p in parts), Counter())
    ids = np.concatenate([np.full(len(p["y"]), p["name"]) for p in parts])
    return {"x": np.concatenate([p["x"] for p in parts]), "y": np.concatenate([p["y"] for p in parts]),
            "rr": np.concatenate([p["rr"] for p in parts]), "ids": ids.astype(str),
            "groups": np.array([patient_of.get(i, i) for i in ids], dtype=str),
            "class_names": np.array(class_names), "leads": np.array(parts[0]["leads"]), "fs": np.array(rates.pop()),
            "skipped": np.array([sum(p["non_beats"] for p in parts), sum(unmapped.values()), sum(p["edge"] for p in parts)]),
            "unmapped": np.array([f"{s} x{n}" for s, n in unmapped.most_common()], dtype=str)}


def _cache_key(root: Path, names: list[str], opts: WfdbOptions) -> dict[str, Any]:
    files = sorted(p for n in names for p in root.glob(f"{n}.*"))
    return {"version": CACHE_VERSION, "root": str(root.resolve()), "options": opts.model_dump(mode="json"),
            "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files]}


def load_annotated(cfg: DataConfig, root: Path, opts: WfdbOptions) -> Source:
    """All beats of the folder's records as one training split (``split`` assigns records to splits)."""
    _check_options(opts)
    class_table(opts)  # a bad table fails before anything is read
    names = _records(root, opts)
    arrays = cached_arrays("ecg-wfdb", "annotated", _cache_key(root, names, opts), lambda: _read_all(root, names, opts))
    x, y, class_names = arrays["x"], arrays["y"], arrays["class_names"].tolist()
    scalars = scalar_names(opts, arrays["leads"].tolist())
    if scalars:
        x = pack_scalars(x, arrays["rr"])  # (B, leads, L + F): the last F values of lead 0 are the scalars
    fs = float(arrays["fs"])
    counts = Counter(y.tolist())
    non_beats, unmapped, edge = arrays["skipped"].tolist()
    notes = [f"ecg-wfdb (annotations): {len(names)} records of {len(np.unique(arrays['groups']))} patients -> {len(y)} "
             f"beats ({', '.join(f'{c} {counts[k]}' for k, c in enumerate(class_names))}) of {x.shape[1]} {'channels (lead, lead - median beat)' if opts.template == 'add' else 'leads'} x "
             f"{round(opts.beat_s * fs)} samples at {fs:g} Hz"
             + (f" + {len(rr_names(opts.rr_features))} RR features ({', '.join(rr_names(opts.rr_features))})"
                if opts.rr_features else "")
             + (f" + {len(scalars) - len(rr_names(opts.rr_features))} beat features "
                f"({', '.join(scalars[len(rr_names(opts.rr_features)):])})" if opts.beat_features else "")
             + (" as the last values of lead 0" if scalars else ""),
             f"ecg-wfdb (annotations): skipped {non_beats} non-beat annotations, {unmapped} beats of symbols outside "
             f"the classes ({', '.join(arrays['unmapped'].tolist()) or 'none'}), {edge} beats too close to a record's edge"]
    meta: dict[str, Any] = {"sample_rate": fs, "leads": arrays["leads"].tolist(), "aggregate": opts.aggregate or "none",
                            "synthetic": False, "layout": "annotations", "annotator": opts.annotator or "atr"}
    if scalars:
        meta["scalar_inputs"] = len(scalars)
        meta["scalar_names"] = scalars  # what the pictures label them with (a stored run keeps both)
    return Source(train=Split(x, y, arrays["groups"], arrays["ids"]), class_names=class_names,
                  name="ecg-wfdb (annotations)", notes=notes, meta=meta)
