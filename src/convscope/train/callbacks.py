"""Things that happen around the training loop: early stopping, checkpoints (the LR schedule: ``schedules.py``).

A callback sees the :class:`~convscope.train.trainer.Trainer` at four moments. It never prints (the
CLI's progress bar is a callback too) and stops training through ``trainer.request_stop``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from convscope.errors import ConfigError
from convscope.store.status import RunStatus
from convscope.train.metrics import lower_is_better

if TYPE_CHECKING:  # annotations only: the config imports the loggers, whose base class is Callback
    from convscope.config import EarlyStoppingConfig
    from convscope.train.trainer import Trainer


class Callback:
    """Base class: override what you need."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first epoch (or the first resumed one)."""

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        """After ``loss.backward()`` and before the optimizer step: gradients are readable."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """After validation of ``epoch`` (1-based); ``logs`` holds train_* and val_* metrics and lr."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch, whatever stopped training."""


def improved(value: float, best: float | None, *, lower: bool, min_delta: float = 0.0) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if lower else value > best + min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (status ``early_stopped``)."""

    def __init__(self, cfg: EarlyStoppingConfig) -> None:
        self.cfg = cfg
        self.lower = lower_is_better(cfg.monitor) if cfg.mode == "auto" else cfg.mode == "min"
        self.best: float | None = None
        self.best_epoch = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        # a resumed run continues counting from the history it already has
        for row in trainer.history:
            self._update(row["epoch"], row.get(self.cfg.monitor, math.nan))

    def _update(self, epoch: int, value: float) -> None:
        if improved(value, self.best, lower=self.lower, min_delta=self.cfg.min_delta):
            self.best, self.best_epoch = value, epoch

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.cfg.monitor not in logs:
            known = ", ".join(k for k in logs if k.startswith(("val_", "train_")))
            raise ConfigError(f"train.early_stopping.monitor: '{self.cfg.monitor}' is not logged",
                              hint=f"use one of: {known}")
        self._update(epoch, logs[self.cfg.monitor])
        # Keras' rule: `patience` bad epochs in a row; on the last epoch the run completes anyway, and
        # calling it early-stopped would claim epochs were saved that were not
        if epoch - self.best_epoch >= max(self.cfg.patience, 1) and epoch < trainer.cfg.epochs:
            trainer.request_stop(
                RunStatus.EARLY_STOPPED,
                f"{self.cfg.monitor} did not improve for {epoch - self.best_epoch} epochs "
                f"(best {self.best:.4g} at epoch {self.best_epoch}, patience {self.cfg.patience})")


class Checkpoint(Callback):
    """Keep ``last.safetensors`` (weights + optimizer + RNG) so a killed run resumes at its last epoch."""

    def __init__(self, folder: Path, *, every: int = 1) -> None:
        self.folder = folder
        self.every = every

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if epoch % self.every == 0 or trainer.stop_status is not None or epoch == trainer.cfg.epochs:
            trainer.save_state(self.folder / "last.safetensors", epoch)
