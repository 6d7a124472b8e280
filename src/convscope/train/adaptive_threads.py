"""``train.threads: auto``: torch's thread count follows the cores other processes leave free, while training.

A trainer with one OpenMP thread per core loses most of its speed when other processes hold some of the cores:
a thread that loses its core holds every other thread at the next barrier, and the waiting threads spin. So
every ``every_s`` seconds of training (at the end of a step, and at the end of each epoch) this callback asks
:class:`convscope.cpu_load.FreeCores` how many cores were free to this process since it last asked, and
sets ``torch.set_num_threads`` to that, never above the count the process started with (torch's default:
one per physical core; ``OMP_NUM_THREADS`` where the user set it). ``set_num_threads`` may be called at any
time between steps; it changes no result beyond float rounding.

Example:
    >>> import torch
    >>> before = torch.get_num_threads(); torch.set_num_threads(2)
    >>> free = iter([None, 0.7, 2.0])        # the first sample starts the window
    >>> class Fake:
    ...     def sample(self): return next(free)
    >>> threads = AdaptiveThreads(free_cores=Fake(), ceiling=2)
    >>> threads.on_train_begin(None)
    >>> threads.on_epoch_end(None, 1, {}); torch.get_num_threads()   # 0.7 of a core free: one thread
    1
    >>> threads.on_epoch_end(None, 2, {}); torch.get_num_threads()   # quiet again: both cores
    2
    >>> threads.changes
    [(1, 1), (2, 2)]
    >>> torch.set_num_threads(before)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import torch

from convscope.cpu_load import FreeCores, threads_for
from convscope.train.callbacks import Callback

if TYPE_CHECKING:
    from convscope.train.trainer import Trainer


class _Sampler(Protocol):
    def sample(self) -> float | None: ...


class AdaptiveThreads(Callback):
    """Re-checks the free cores every ``every_s`` seconds of training and sets torch's thread count to them.

    Args:
        every_s: seconds between checks; long enough for ``/proc/stat``'s 10 ms ticks to average over
            (2 s on 2 cores: 400 ticks), short enough to follow a neighbour that starts mid-epoch.
        ceiling: the most threads to use (default: the process's thread count when training starts).
        free_cores: where the free-core estimate comes from (default :class:`~convscope.cpu_load.FreeCores`).
        clock: seconds, monotonic (tests pass a fake).
    """

    def __init__(self, *, every_s: float = 2.0, ceiling: int | None = None, free_cores: _Sampler | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s, self.ceiling, self._clock = every_s, ceiling, clock
        self.free_cores = free_cores
        self.changes: list[tuple[int, int]] = []  # (epoch during or after which it changed, threads from then on)
        self._due = 0.0

    def on_train_begin(self, trainer: Trainer | None) -> None:
        self.ceiling = self.ceiling or torch.get_num_threads()
        self.free_cores = self.free_cores or FreeCores(self.ceiling)
        self.free_cores.sample()  # starts the window
        self._due = self._clock() + self.every_s

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        if self._clock() >= self._due:
            self._adjust(trainer.epoch + 1)

    def on_epoch_end(self, trainer: Trainer | None, epoch: int, logs: dict[str, float]) -> None:
        self._adjust(epoch)

    def _adjust(self, epoch: int) -> None:
        assert self.free_cores is not None and self.ceiling is not None
        free = self.free_cores.sample()
        self._due = self._clock() + self.every_s
        if free is None:
            return
        threads = threads_for(free, cores=self.ceiling)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
            self.changes.append((epoch, threads))


__all__ = ["AdaptiveThreads"]
