"""A rich progress bar over each epoch's batches: a :class:`~convscope.train.callbacks.Callback`.

The CLI adds it to a run; any script can (``convscope.run(cfg, callbacks=[ProgressBar(epochs)])``).

Example:
    >>> from rich.console import Console
    >>> bar = ProgressBar(3, console=Console(file=None))
    >>> bar.epochs, bar.task is None
    (3, True)
"""

from __future__ import annotations

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
                                 console=console or Console(), transient=False)
        self.epochs = epochs
        self.task: TaskID | None = None
        self.batches_not_drawn = 0

    def _new_task(self, trainer: Trainer, epoch: int) -> None:
        self.task = self.progress.add_task("train", total=trainer.steps_per_epoch, epoch=epoch, epochs=self.epochs,
                                           info="")

    def on_train_begin(self, trainer: Trainer) -> None:
        self.progress.start()
        self._new_task(trainer, trainer.epoch + 1)

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        self.batches_not_drawn += 1
        if self.batches_not_drawn >= REDRAW_EVERY:
            self.progress.advance(self.task, self.batches_not_drawn)
            self.batches_not_drawn = 0

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        self.batches_not_drawn = 0
        info = f"loss {fmt.number(logs['train_loss'])} val_loss {fmt.number(logs['val_loss'])}"
        if logs.get("val_accuracy") is not None:
            info += f" val_acc {fmt.percent(logs['val_accuracy'])}"
        self.progress.update(self.task, completed=trainer.steps_per_epoch, info=info)
        self.progress.refresh()
        if epoch < self.epochs and trainer.stop_status is None:
            self.progress.stop_task(self.task)
            self._new_task(trainer, epoch + 1)

    def stop(self) -> None:
        """End the display (call it whatever ended the run)."""
        self.progress.stop()


__all__ = ["ProgressBar"]
