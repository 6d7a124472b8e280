"""QRS-shape features of annotated beats: how this beat's QRS differs from this person's usual one.

A ventricular (V) beat starts in the ventricle, so its QRS is wide (> 120 ms) and shaped unlike the
person's normal beats; an odd normal beat (atrial fibrillation's varying N beats, a noisy record's) is
about as narrow as the usual one and much like it. Each feature compares a beat ``(B, L)`` of one lead
with its record's median beat ``(L,)`` on the same lead (the *template*, no labels used), registered by
name in :data:`BEAT_FEATURES`; ``beat_features: [qrs_width_ratio, template_corr]`` computes them on every
lead of the beat (lead after lead) and joins them to the RR features as the model's scalar inputs.

The QRS is found around the R peak (sample ``L // 2``, the annotated or detected beat position), not
delineated: NeuroKit2's ``ecg_delineate`` (the library that does delineation) needs the whole record,
takes seconds per record and loses the QRS ends of wide beats, exactly the ones these features are for;
so the width here is the spread of the slope energy within +-150 ms of R, written by hand.

Example:
    >>> fs, t = 100.0, np.arange(80) / 100.0 - 0.4  # 0.8 s beats, R at sample 40
    >>> narrow, wide = np.exp(-(t / 0.015) ** 2), np.exp(-(t / 0.045) ** 2)  # QRS of about 40 / 110 ms
    >>> table = beat_features(np.stack([narrow, wide])[:, None], narrow[None], fs, ["qrs_width_ratio", "template_corr"])
    >>> table.round(2).tolist()  # the narrow beat is its template; the wide one is 3 x wider, less alike
    [[1.0, 1.0], [3.0, 0.76]]
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from convscope.registry import Registry

QRS_S = 0.15  # the QRS is looked for within +-150 ms of R: a wide V beat's QRS lasts up to ~200 ms
ENERGY = (0.1, 0.9)  # the width spans the middle 80% of the slope energy: tails of P and T waves are left out
AMPLITUDE_S = 0.1  # the peak-to-peak amplitude is read within +-100 ms of R (the QRS, without the T wave)
FLOOR = 1e-6  # a flat template (a lead off) would divide by zero: ratios then read as 1

Feature = Callable[["Shapes"], np.ndarray]
BEAT_FEATURES: Registry[Feature] = Registry("beat feature", field="data.beat_features")


class Shapes:
    """One lead's beats ``(B, L)`` and its template ``(L,)``; each quantity computed once for every feature."""

    def __init__(self, beats: np.ndarray, template: np.ndarray, fs: float) -> None:
        self.beats, self.template, self.fs = beats, template, fs
        self.centre = beats.shape[-1] // 2

    def window(self, x: np.ndarray, seconds: float) -> np.ndarray:
        """``x`` (..., L) within +-``seconds`` of R: (..., 2 * half + 1)."""
        half = min(round(seconds * self.fs), self.centre)
        return x[..., self.centre - half:self.centre + half + 1]

    def width(self, x: np.ndarray) -> np.ndarray:
        """Seconds spanned by the middle 80% of the slope energy of ``x`` (..., L) near R: (...,)."""
        slope = np.diff(self.window(x, QRS_S), axis=-1)  # (..., W - 1)
        energy = np.cumsum(slope ** 2, axis=-1)  # (..., W - 1)
        total = np.maximum(energy[..., -1:], FLOOR)
        first = np.argmax(energy >= ENERGY[0] * total, axis=-1)
        last = np.argmax(energy >= ENERGY[1] * total, axis=-1)
        return (last - first) / self.fs

    @cached_property
    def beat_width(self) -> np.ndarray:
        return self.width(self.beats)  # (B,)

    @cached_property
    def template_width(self) -> float:
        return float(self.width(self.template))

    def amplitude(self, x: np.ndarray) -> np.ndarray:
        """Peak-to-peak of ``x`` (..., L) within +-100 ms of R: (...,)."""
        near = self.window(x, AMPLITUDE_S)
        return near.max(axis=-1) - near.min(axis=-1)


@BEAT_FEATURES.register("qrs_width")
def qrs_width(s: Shapes) -> np.ndarray:
    """The beat's QRS width estimate, s (a person's own: ~0.04 for a narrow QRS, more for wide ones)."""
    return s.beat_width


@BEAT_FEATURES.register("qrs_width_ratio")
def qrs_width_ratio(s: Shapes) -> np.ndarray:
    """QRS width / the template's: > 1 is wider than this person's usual beat (bundle branch block patients'
    N beats are wide too, so the ratio transfers between people where the width does not)."""
    return s.beat_width / max(s.template_width, 1 / s.fs)


@BEAT_FEATURES.register("qrs_amplitude_ratio")
def qrs_amplitude_ratio(s: Shapes) -> np.ndarray:
    """QRS peak-to-peak amplitude / the template's (a V beat is often larger)."""
    return s.amplitude(s.beats) / max(float(s.amplitude(s.template)), FLOOR)


@BEAT_FEATURES.register("template_corr")
def template_corr(s: Shapes) -> np.ndarray:
    """Pearson correlation of the beat's QRS (+-150 ms of R) with the template's: ~1 for a usual beat."""
    from scipy.stats import pearsonr  # scipy: a declared dependency, imported with the first feature

    beats, template = s.window(s.beats, QRS_S), s.window(s.template, QRS_S)  # (B, W), (W,)
    if len(beats) == 0 or np.ptp(template) < FLOOR:
        return np.ones(len(beats))
    flat = np.ptp(beats, axis=-1) < FLOOR  # a flat beat has no correlation: read as unlike the template
    with np.errstate(invalid="ignore", divide="ignore"):
        r = pearsonr(np.where(flat[:, None], 0.0, beats), np.broadcast_to(template, beats.shape), axis=-1).statistic
    return np.where(flat, 0.0, np.nan_to_num(r))


def beat_features(beats: np.ndarray, template: np.ndarray, fs: float, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """Features ``(B, len(names) * leads)`` of beats ``(B, leads, L)`` against their template ``(leads, L)``:
    every named feature of lead 0, then of lead 1, and so on."""
    columns = []
    for lead in range(beats.shape[1]):
        shapes = Shapes(beats[:, lead], template[lead], fs)
        columns += [np.asarray(BEAT_FEATURES.get(name)(shapes), dtype=np.float64) for name in names]
    return np.stack(columns, axis=1) if columns else np.zeros((len(beats), 0))
