"""The ECG signal pipeline's steps, each a plain function on arrays (tests and other sources use them alone).

Every signal source runs them in this order (``records.py`` does): the order matters, resampling
before filtering keeps the filter's band inside the new Nyquist band; windowing before normalizing
lets a window be z-scored on its own; beats come last so they are cut from normalized windows.

1. ``leads``       pick leads by name (case-insensitive): ``[ii]``, ``[i, ii, v1, v2]``, or the first a record
                   has of several, ``[mlii, {any_of: [v1, v2, v5]}]``; they become channels
2. ``resample_hz`` polyphase resampling with its anti-aliasing FIR (``scipy.signal.resample_poly``)
3. ``filter``      zero-phase Butterworth band-pass ``[0.5, 40]`` Hz (``sosfiltfilt``); ``baseline: true``
                   removes baseline wander with two median filters
4. ``window_s``    fixed windows every ``stride_s``; a window keeps its record's label, patient and id
5. ``normalize``   z-score per ``window`` (default), per ``record``, or ``none``
6. ``beats``       R peaks (NeuroKit2's detector, snapped to the extremum by ``wfdb.processing``) and
                   fixed ``beat_s`` beats centred on them

Example:
    >>> import numpy as np
    >>> sig = np.arange(20, dtype=float)[None]  # (1 lead, 20 samples)
    >>> windows, starts = sliding_windows(sig, fs=10, window_s=0.5)
    >>> windows.shape, starts.tolist()
    ((4, 1, 5), [0, 5, 10, 15])
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import wfdb.processing
from scipy import signal

from convscope.data.ecg.leads import AnyOf, lead_rows
from convscope.errors import ConfigError, DataError

# The 15 leads of the PTB Diagnostic database (12 standard + 3 Frank leads); PTB-XL has the first 12.
LEAD_NAMES = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6", "vx", "vy", "vz")


def select_leads(sig: np.ndarray, names: list[str], wanted: list[str | AnyOf] | None, *, record: str) -> np.ndarray:
    """Rows of ``sig`` (leads, samples) for the ``wanted`` leads (names or ``{any_of}`` choices, ``leads.py``),
    matched case-insensitively."""
    if wanted is None:
        return sig
    return sig[lead_rows(names, wanted, record=record)]


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
    first = running_median(sig, _odd(0.2 * fs))
    wander = running_median(first, _odd(0.6 * fs))
    return sig - wander


def running_median(sig: np.ndarray, k: int) -> np.ndarray:
    """Each lead's running median over ``k`` (odd) samples, edges repeated: exactly
    ``scipy.ndimage.median_filter(sig, size=(1, k), mode="nearest")``, but through pandas' rolling median
    (a skip list, O(log k) per sample) instead of ndimage's selection per window, which took ~90 % of a
    record's prediction time: 2.7-8x faster on a 30-minute MIT-BIH record at k = 51..217 (same output).

    Example:
        >>> from scipy import ndimage
        >>> x = np.random.default_rng(0).normal(size=(2, 500)).astype(np.float32)  # (leads, samples)
        >>> np.array_equal(running_median(x, 31), ndimage.median_filter(x, size=(1, 31), mode="nearest"))
        True
    """
    import pandas as pd  # a declared dependency; imported here so the pipeline module stays light

    half = k // 2
    padded = np.pad(sig, ((0, 0), (half, half)), mode="edge")  # (leads, L + k - 1): 'nearest' edges
    rolled = pd.DataFrame(padded.T).rolling(k, center=True).median().to_numpy().T  # (leads, L + k - 1)
    return rolled[:, half:half + sig.shape[1]].astype(sig.dtype, copy=False)


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
