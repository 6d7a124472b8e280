"""``train.threads: auto`` (the default): torch's thread count is the one whose training steps run fastest now.

A trainer with one OpenMP thread per core loses most of its speed when other processes share the cores: a
thread that loses its core holds every other thread at the next barrier, where they spin (issue 13: the
32-filter ConvNet fell 20x at load 6). Counting idle cores in ``/proc/stat`` was tried first: it cannot see
how much a neighbour that takes little CPU (a niced job, a short test run) disturbs the barriers. So this
measures what matters, the time of a training step: every so often it runs a few steps with the next
thread count down (or up) the ladder 1, 2, 4, ..., all cores, and keeps whichever was faster. A probe
costs at most the time of ``probe_steps`` steps at the current count plus one warm-up step (not timed: it
wakes or parks threads); a probe that loses doubles the wait before the next one (up to
``max_interval_s``), so a steady machine, quiet or busy, is probed rarely; steps that suddenly take
``slowdown`` times longer (a neighbour started) probe the next count down at once. A probe *up* runs only
while ``/proc/stat`` says half a core lay idle since the last one (:class:`convscope.cpu_load.SpareCores`):
on a machine whose cores are all taken, one step with a thread more can stall for seconds.
``torch.set_num_threads`` may be called between any two steps and changes no result beyond float rounding
(on the digits CNN, 1 and 2 threads gave identical losses over 2 epochs).

:class:`ThreadPicker` is the decision (fed step end times, it answers the count for the next step);
:class:`AdaptiveThreads` is the trainer callback that feeds it.

Example:
    >>> picker = ThreadPicker(2, window=2, probe_steps=2)
    >>> now, used = 0.0, []
    >>> for _ in range(30):                  # busy machine: a step takes 0.30 s on 2 threads, 0.07 s on 1
    ...     now += 0.30 if picker.threads_next == 2 else 0.07
    ...     used.append(picker.step_end(now))
    >>> used[-1], picker.changes[0]
    (1, (2, 1))
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from convscope.cpu_load import SpareCores
from convscope.train.callbacks import Callback

if TYPE_CHECKING:
    from convscope.train.trainer import Trainer


def ladder(ceiling: int) -> list[int]:
    """The thread counts tried: powers of two below ``ceiling``, and ``ceiling``.

    >>> ladder(1), ladder(2), ladder(6)
    ([1], [1, 2], [1, 2, 4, 6])
    """
    return sorted({1 << k for k in range(ceiling.bit_length()) if 1 << k < ceiling} | {ceiling})


@dataclass
class _Probe:
    threads: int
    started: float
    budget_s: float  # the time probe_steps steps take at the current count: a slower probe stops early
    warm: int = 1  # the first step after a change wakes or parks threads: neither counted nor budgeted
    steps: list[float] = field(default_factory=list)


class ThreadPicker:
    """Chooses torch's thread count from the durations of training steps.

    Args:
        ceiling: the most threads to use (the process's count when training starts).
        interval_s: seconds after a probe that won before the next (the first probe runs as soon as ``window``
            steps are timed: a busy machine should not wait for it).
        max_interval_s: the longest wait between probes (a probe that loses doubles the wait up to this).
        window: steps whose mean is "the current step time" (means, not medians: a stall is what a busy
            machine does to a barrier-bound thread count, and throughput is samples over total time).
        probe_steps: steps a probe measures (fewer when it runs out of its time budget).
        margin: a probe must be this much faster (fraction) to win, so noise does not flip the count.
        slowdown: a current step time this many times the reference (the first after a probe) probes the next
            count down at once (more threads cannot help a slowdown; they are probed on schedule).
        spare: spare cores since its previous call, or None when unknown (``SpareCores().sample``); a probe up
            is skipped, as if it lost, when it says under ``min_spare``. None: always probe.
        min_spare: the spare cores a probe up needs.
    """

    def __init__(self, ceiling: int, *, interval_s: float = 4.0, max_interval_s: float = 60.0, window: int = 5,
                 probe_steps: int = 4, margin: float = 0.05, slowdown: float = 1.5,
                 spare: Callable[[], float | None] | None = None, min_spare: float = 0.5) -> None:
        self.threads = ceiling  # the count training runs with between probes
        self.ladder = ladder(ceiling)
        self.interval_s, self.base_interval_s, self.max_interval_s = interval_s, interval_s, max_interval_s
        self.window, self.probe_steps, self.margin, self.slowdown = window, probe_steps, margin, slowdown
        self._spare, self.min_spare = spare, min_spare
        self.changes: list[tuple[int, int]] = []  # (from, to) each time a probe won
        self._recent: deque[float] = deque(maxlen=window)
        self._reference: float | None = None
        self._probe: _Probe | None = None
        self._last: float | None = None
        self._next_probe: float | None = None
        self._last_probe_end = -float("inf")
        self._skip = 1  # steps not measured: the first one after a change of count
        self._upward = False  # which neighbour on the ladder the next probe tries, where there are two

    @property
    def threads_next(self) -> int:
        """The count the next step runs with (a probe's, during a probe)."""
        return self._probe.threads if self._probe else self.threads

    def pause(self) -> None:
        """The next interval is not a training step (an epoch's validation pass lies in it): do not time it."""
        self._last = None

    def step_end(self, now: float) -> int:
        """Record that a step ended at ``now`` (seconds); return the thread count for the next step."""
        last, self._last = self._last, now
        if self._next_probe is None:
            self._next_probe = now
            self._room_to_grow()  # starts the spare-core window
        if last is None or len(self.ladder) == 1:
            return self.threads_next
        seconds = now - last
        if self._probe is not None:
            return self._probe_step(now, seconds)
        if self._skip:
            self._skip -= 1
            return self.threads
        self._recent.append(seconds)
        if len(self._recent) < self.window:
            return self.threads
        current = statistics.fmean(self._recent)
        self._reference = self._reference or current
        # steps that slowed down (a neighbour started) can only be helped by fewer threads: probe those at once
        slowed = (current > self.slowdown * self._reference and self.threads > self.ladder[0]
                  and now - self._last_probe_end >= self.base_interval_s)
        if now >= self._next_probe or slowed:
            candidate = self.ladder[self.ladder.index(self.threads) - 1] if slowed else self._candidate()
            if candidate > self.threads and not self._room_to_grow():
                self._end_probe(now, won=False)  # every core taken: a thread more would only stall
                return self.threads
            self._probe = _Probe(candidate, started=now, budget_s=self.probe_steps * current)
        return self.threads_next

    def _candidate(self) -> int:
        at = self.ladder.index(self.threads)
        neighbours = [self.ladder[i] for i in (at - 1, at + 1) if 0 <= i < len(self.ladder)]  # one or two
        self._upward = not self._upward
        return neighbours[-1] if self._upward else neighbours[0]

    def _probe_step(self, now: float, seconds: float) -> int:
        probe = self._probe
        assert probe is not None
        if probe.warm:
            probe.warm -= 1
            probe.started = now  # the budget starts after the warm-up step
        else:
            probe.steps.append(seconds)
        if len(probe.steps) < self.probe_steps and now - probe.started < probe.budget_s:
            return probe.threads
        current = statistics.fmean(self._recent)
        # a probe cut short by its budget was slower already; one that ran every step must beat the margin
        won = len(probe.steps) == self.probe_steps and statistics.fmean(probe.steps) < (1 - self.margin) * current
        if won:
            self.changes.append((self.threads, probe.threads))
            self.threads = probe.threads
        self._end_probe(now, won=won)
        return self.threads

    def _room_to_grow(self) -> bool:
        spare = self._spare() if self._spare is not None else None
        return spare is None or spare >= self.min_spare

    def _end_probe(self, now: float, *, won: bool) -> None:
        self.interval_s = self.base_interval_s if won else min(2 * self.interval_s, self.max_interval_s)
        self._probe, self._reference, self._skip = None, None, 1
        self._recent.clear()
        self._next_probe, self._last_probe_end = now + self.interval_s, now


class AdaptiveThreads(Callback):
    """The trainer callback of ``train.threads: auto``: times every step and sets the count :class:`ThreadPicker` picks.

    Args:
        clock: seconds, monotonic (tests pass a fake).
        picker: options for :class:`ThreadPicker` (its ceiling is the process's thread count at the start).
    """

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter, **picker: float) -> None:
        self._clock, self._options = clock, picker
        self.picker: ThreadPicker | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.picker = ThreadPicker(torch.get_num_threads(), spare=SpareCores().sample,
                                   **self._options)  # type: ignore[arg-type]

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        assert self.picker is not None
        threads = self.picker.step_end(self._clock())
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        assert self.picker is not None
        self.picker.pause()


__all__ = ["AdaptiveThreads", "ThreadPicker", "ladder"]
