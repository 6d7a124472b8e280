"""A rich progress bar over each epoch's batches: a :class:`~convscope.train.callbacks.Callback`.

``convscope.run`` adds it (``progress=False`` leaves it out); any trainer can take one as a callback.
Besides the epoch's batches and time it shows the whole run's ETA: the epochs left times the mean epoch
so far, plus what is left of the current epoch at its own pace.

Example:
    >>> from rich.console import Console
    >>> bar = ProgressBar(3, console=Console(file=None))
    >>> bar.epochs, bar.task is None
    (3, True)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from convscope import formatting as fmt
from convscope.train.callbacks import Callback

if TYPE_CHECKING:
    from convscope.train.trainer import Trainer

# Redraw every this many batches: a refresh per batch would cost more than the batch on small models.
REDRAW_EVERY = 10


class ProgressBar(Callback):
    """One bar per epoch (``epoch e/E``, batches done, the last epoch's losses and accuracy, time).

    Args:
        epochs: ``train.epochs`` (the bar's ``E``).
        console: where to draw (default: a new stdout console).
    """

    def __init__(self, epochs: int, console: Console | None = None) -> None:
        self.progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[eta]}"), console=console or Console(), transient=False)
        self.epochs = epochs
        self.task: TaskID | None = None
        self.batches_not_drawn = 0
        self.epoch_seconds: list[float] = []  # wall time of each epoch this process trained
        self.epoch_started = time.perf_counter()
        self.epoch = 0

    def eta(self, batches_done: int, batches: int) -> float | None:
        """Seconds until the last epoch ends; ``None`` before there is anything to extrapolate from.

        Example:
            >>> bar = ProgressBar(4, console=Console(file=None))
            >>> bar.epoch, bar.epoch_seconds = 3, [10.0, 12.0]
            >>> bar.epoch_started -= 6.0                       # half of epoch 3 took 6 s
            >>> round(bar.eta(50, 100))                        # 6 s more, then epoch 4 at the mean, 11 s
            17
        """
        elapsed = time.perf_counter() - self.epoch_started
        left_in_epoch = elapsed / batches_done * (batches - batches_done) if batches_done else None
        mean = sum(self.epoch_seconds) / len(self.epoch_seconds) if self.epoch_seconds else None
        if left_in_epoch is None and mean is None:
            return None
        left_in_epoch = left_in_epoch if left_in_epoch is not None else max(mean - elapsed, 0.0)
        later = (self.epochs - self.epoch) * (mean if mean is not None else elapsed + left_in_epoch)
        return left_in_epoch + later

    def _eta_text(self, batches_done: int, batches: int) -> str:
        left = self.eta(batches_done, batches)
        return f"ETA {fmt.seconds(left)}" if left is not None else ""

    def _new_task(self, trainer: Trainer, epoch: int) -> None:
        self.epoch, self.epoch_started = epoch, time.perf_counter()
        self.task = self.progress.add_task("train", total=trainer.steps_per_epoch, epoch=epoch, epochs=self.epochs,
                                           info="", eta=self._eta_text(0, trainer.steps_per_epoch))

    def on_train_begin(self, trainer: Trainer) -> None:
        self.progress.start()
        self._new_task(trainer, trainer.epoch + 1)

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        self.batches_not_drawn += 1
        if self.batches_not_drawn >= REDRAW_EVERY:
            done = self.progress.tasks[-1].completed + self.batches_not_drawn
            self.progress.update(self.task, advance=self.batches_not_drawn,
                                 eta=self._eta_text(int(done), trainer.steps_per_epoch))
            self.batches_not_drawn = 0

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        self.batches_not_drawn = 0
        self.epoch_seconds.append(time.perf_counter() - self.epoch_started)
        info = f"loss {fmt.number(logs['train_loss'])} val_loss {fmt.number(logs['val_loss'])}"
        if logs.get("val_accuracy") is not None:
            info += f" val_acc {fmt.percent(logs['val_accuracy'])}"
        finished = epoch >= self.epochs or trainer.stop_status is not None
        eta = "" if finished else self._eta_text(trainer.steps_per_epoch, trainer.steps_per_epoch)
        self.progress.update(self.task, completed=trainer.steps_per_epoch, info=info, eta=eta)
        self.progress.refresh()
        if epoch < self.epochs and trainer.stop_status is None:
            self.progress.stop_task(self.task)
            self._new_task(trainer, epoch + 1)

    def stop(self) -> None:
        """End the display (call it whatever ended the run)."""
        self.progress.stop()


__all__ = ["ProgressBar"]
