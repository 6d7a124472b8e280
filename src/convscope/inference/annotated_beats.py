"""Replay of ``ecg-wfdb`` with ``labels: annotations`` on a new record: beats at R peaks, RR and beat features,
template.

Training cut one beat per annotated R peak (:mod:`convscope.data.ecg.annotated`); a new record has no
annotations, so its R peaks come from NeuroKit2's detector (:func:`convscope.data.ecg.pipeline.r_peaks`,
the path every beat-based prediction uses), or, with ``annotations="atr"``, from that annotation file's
beats (to check a model against the reference). Either way the beats, their RR features and the template
are made by :func:`~convscope.data.ecg.annotated.beats_at` and :func:`~convscope.data.ecg.annotated.pack_scalars`,
the functions training used, so a record of the training set gives exactly its training samples.

Example (needs a run trained with ``labels: annotations``; tests/inference/test_annotated_beats.py runs it):
    >>> beats = annotated_beats(recipe, item, annotations="atr")  # doctest: +SKIP
    >>> beats.x.shape, beats.positions[:2], beats.reference[:2]  # doctest: +SKIP
    ((2270, 1, 295), array([ 77, 370]), ['N', 'N'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from convscope.errors import DataError

if TYPE_CHECKING:
    from convscope.inference.recipe import Input, Recipe


@dataclass
class Beats:
    """A record's model samples, one per beat, and where each beat is."""

    x: np.ndarray  # (B, *input_shape) float32: beats (+ template channels) with the RR features packed in
    positions: np.ndarray  # (B,) R-peak sample of each beat, in the record's own samples
    fs: float  # the record's own rate (Hz): positions / fs is the time in s
    reference: list[str | None]  # the annotated class of each beat (None when R peaks were detected)


def annotated_beats(recipe: Recipe, item: Input, *, annotations: str | None = None) -> Beats:
    """``item``'s beats as run ``recipe.run_id``'s model samples (see the module's docstring)."""
    from convscope.data.ecg.annotated import beats_at, class_table, pack_scalars
    from convscope.data.ecg.pipeline import r_peaks

    opts = recipe.beat_options
    sig = recipe._leads(item)  # (leads, samples) the model's leads, by name
    fs = item.fs or recipe.source_rate or recipe.sample_rate
    if fs is None:
        raise DataError(f"{item.name}: the file does not say its sampling rate", hint="give --fs HZ")
    if recipe.sample_rate and fs != recipe.sample_rate:
        opts = opts.model_copy(update={"resample_hz": recipe.sample_rate})  # from the record's own rate
    _, lookup = class_table(opts)
    if annotations is None:
        positions = r_peaks(sig[0], float(fs))  # (B,) samples at fs
        usable = np.ones(len(positions), dtype=bool)
        symbols: list[str | None] = [None] * len(positions)
    else:
        positions, usable, symbols = _annotated(item, annotations, lookup, recipe.class_names)
    if len(positions) < 2:  # beats need neighbours for RR intervals: no prediction for this record
        return Beats(np.zeros((0, *recipe.input_shape), dtype=np.float32), np.zeros(0, dtype=np.int64), float(fs), [])
    order = np.argsort(positions, kind="stable")
    positions, usable, symbols = positions[order], usable[order], [symbols[i] for i in order]
    out = beats_at(sig, float(fs), positions, opts, usable=usable, name=item.name)
    x = pack_scalars(out["x"], out["scalars"]) if out["scalars"].shape[1] else out["x"]  # (B, C, L [+ F])
    keep = out["keep"]
    return Beats(x, positions[keep], float(fs), [s for s, k in zip(symbols, keep, strict=True) if k])


def _annotated(item: Input, annotator: str, lookup: dict[str, int],
               class_names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Beat positions of the record's ``annotator`` file, which of them training would keep (symbols in
    the run's class table) and their classes."""
    import wfdb

    from convscope.data.ecg.annotated import BEAT_SYMBOLS

    try:
        ann = wfdb.rdann(item.name, annotator)
    except (FileNotFoundError, ValueError, OSError):
        raise DataError(f"{item.name}.{annotator}: record has no '{annotator}' annotation file",
                        hint="leave out --annotations to detect R peaks, or give the annotator's file extension"
                        ) from None
    symbols = np.asarray(ann.symbol)
    is_beat = np.isin(symbols, BEAT_SYMBOLS)
    positions = np.asarray(ann.sample, dtype=np.int64)[is_beat]
    k = [lookup.get(s, -1) for s in symbols[is_beat]]
    return positions, np.array(k, dtype=np.int64) >= 0, [class_names[i] if i >= 0 else None for i in k]


__all__ = ["Beats", "annotated_beats"]
