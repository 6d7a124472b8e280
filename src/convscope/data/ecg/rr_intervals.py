"""RR-interval features of annotated beats: how early or late each beat comes, for this person and rhythm.

Every feature is a function of the beat times of one record (seconds, sorted) returning one value per
beat, registered by name in :data:`RR_TABLE`; ``rr_features: true`` takes the 7 of de Chazal et al.
(2004) (:data:`RR_FEATURES`), ``rr_features: [name, ...]`` any of them in that order.

The *rhythm* features answer what the 7 cannot: a premature supraventricular (S) beat is early *within a
regular rhythm*, while in atrial fibrillation every normal beat's RR interval differs from its
neighbours', so a short interval there is not a sign of an S beat. They compare a beat's intervals with
the median of its 16 neighbouring intervals (8 either side, the beat's own two left out so that an
early beat and its compensatory pause do not move the median) and measure that neighbourhood's spread
(median absolute deviation / median; over MIT-BIH DS1's N beats: median 0.02 outside atrial
fibrillation, 0.18 in records 201 and 203, which have it).

Example:
    >>> times = np.array([0.0, 1.0, 2.0, 2.5, 3.5])
    >>> rr_features(times, ("pre_rr", "post_rr")).tolist()  # a record's first beat takes its post as pre
    [[1.0, 1.0], [1.0, 1.0], [1.0, 0.5], [0.5, 1.0], [1.0, 1.0]]
    >>> rr_features(np.arange(0.0, 30.0), ("pre_median_ratio", "rr_spread"))[15].tolist()  # regular: 1, 0
    [1.0, 0.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cached_property

import numpy as np

LOCAL_BEATS = 10  # local_rr: mean of the last 10 RR intervals (de Chazal et al. 2004)
AVERAGE_S = 150.0  # average_rr: mean RR within +-150 s, i.e. a 5-minute window (de Chazal et al. 2004)
NEIGHBOURS = 8  # rhythm features: 8 RR intervals either side of the beat (16 in all)
MIN_SPREAD = 0.03  # pre_z's floor on the spread, as a fraction of the median: in a perfectly regular
# rhythm the spread is ~0 and a 1% difference would otherwise read as a huge deviation
Z_LIMIT = 10.0  # pre_z is clipped to +-10: past that a beat is premature either way, and the dense head
# is spared inputs two orders of magnitude above the other features'

Feature = Callable[["Intervals"], np.ndarray]


class Intervals:
    """The RR intervals around each of a record's beats, each quantity computed once and shared by the features."""

    def __init__(self, times: np.ndarray) -> None:
        rr = np.diff(times)  # (B-1,)
        self.times = times
        self.pre = np.concatenate([rr[:1], rr])  # (B,) time from the previous beat
        self.post = np.concatenate([rr, rr[-1:]])  # (B,) time to the next beat
        self.sums = np.concatenate([[0.0], np.cumsum(self.pre)])  # (B+1,) running sums of pre

    @cached_property
    def neighbourhood(self) -> tuple[np.ndarray, np.ndarray]:
        """Median ``(B,)`` and median absolute deviation ``(B,)`` of each beat's 16 neighbouring intervals."""
        pad = np.full(NEIGHBOURS, np.nan)
        padded = np.concatenate([pad, self.pre, pad, [np.nan]])  # (B + 17,)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * NEIGHBOURS + 2)  # (B, 18): pre[i-8..i+9]
        near = np.delete(windows, [NEIGHBOURS, NEIGHBOURS + 1], axis=1)  # (B, 16): without pre[i], post[i]
        with warnings.catch_warnings():  # a record of 2 beats has no neighbours: handled below
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(near, axis=1)
            spread = np.nanmedian(np.abs(near - median[:, None]), axis=1)
        alone = np.isnan(median)
        return np.where(alone, self.pre, median), np.where(alone, 0.0, spread)

    @cached_property
    def local(self) -> np.ndarray:
        """Mean pre ``(B,)`` of the last 10 beats."""
        first = np.maximum(np.arange(len(self.pre)) - LOCAL_BEATS + 1, 0)
        return (self.sums[1:] - self.sums[first]) / (np.arange(len(self.pre)) - first + 1)

    @cached_property
    def average(self) -> np.ndarray:
        """Mean pre ``(B,)`` within +-150 s."""
        lo = np.searchsorted(self.times, self.times - AVERAGE_S, side="left")
        hi = np.searchsorted(self.times, self.times + AVERAGE_S, side="right")
        return (self.sums[hi] - self.sums[lo]) / (hi - lo)


def _pre_z(iv: Intervals) -> np.ndarray:
    median, spread = iv.neighbourhood
    scale = np.maximum(1.4826 * spread, MIN_SPREAD * median)  # 1.4826 MAD: the standard deviation of a normal
    return np.clip((iv.pre - median) / scale, -Z_LIMIT, Z_LIMIT)


RR_TABLE: dict[str, Feature] = {
    # de Chazal et al. 2004's RR features, and their ratios to the 5-minute average (which transfer
    # between people whose heart rates differ: a premature beat is early *for that person*)
    "pre_rr": lambda iv: iv.pre,  # s from the previous beat (a record's first beat: its post)
    "post_rr": lambda iv: iv.post,  # s to the next beat (a record's last beat: its pre)
    "local_rr": lambda iv: iv.local,  # mean pre of the last 10 beats
    "average_rr": lambda iv: iv.average,  # mean pre within +-150 s
    "pre_ratio": lambda iv: iv.pre / iv.average,
    "post_ratio": lambda iv: iv.post / iv.average,
    "local_ratio": lambda iv: iv.local / iv.average,
    # rhythm: the beat against its 16 neighbouring intervals (module docstring)
    "pre_median_ratio": lambda iv: iv.pre / iv.neighbourhood[0],  # < 1: earlier than the rhythm around it
    "post_median_ratio": lambda iv: iv.post / iv.neighbourhood[0],  # > 1 after an early beat: the pause
    "rr_spread": lambda iv: iv.neighbourhood[1] / iv.neighbourhood[0],  # irregularity of the rhythm
    "pre_z": _pre_z,  # (pre - median) / spread, clipped: early for *this* rhythm (regular or not)
}
RR_FEATURES = ("pre_rr", "post_rr", "local_rr", "average_rr", "pre_ratio", "post_ratio", "local_ratio")


def rr_features(times: np.ndarray, names: tuple[str, ...] | list[str] = RR_FEATURES) -> np.ndarray:
    """RR features ``(B, len(names))`` of beats at ``times`` (seconds, sorted, at least 2), named in :data:`RR_TABLE`."""
    intervals = Intervals(np.asarray(times, dtype=np.float64))
    return np.stack([RR_TABLE[name](intervals) for name in names], axis=1)


def rr_names(option: bool | list[str]) -> tuple[str, ...]:
    """The feature names an ``rr_features`` option asks for: none, the default 7, or the list given."""
    if option is True:
        return RR_FEATURES
    return tuple(option) if option else ()
