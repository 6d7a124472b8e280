"""The learning-rate schedules ``train.schedule.name`` can name: one registered builder each.

A builder takes the ``schedule:`` section, the optimizer, ``epochs`` and ``steps_per_epoch`` and returns
the torch scheduler; its trait ``step_on`` says when the trainer steps it: ``epoch``, ``batch`` or
``val_loss`` (stepped with the epoch's validation loss). A new schedule is one more
``@SCHEDULES.register("name", step_on=...)`` function here.

Example:
    >>> import torch
    >>> from convscope.config import ScheduleConfig
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    >>> scheduler, step_on = make_scheduler(ScheduleConfig(name="onecycle"), opt, epochs=2, steps_per_epoch=5)
    >>> type(scheduler).__name__, step_on
    ('OneCycleLR', 'batch')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.optim import lr_scheduler

from convscope.registry import Registry

ScheduleBuilder = Callable[..., Any]
SCHEDULES: Registry[ScheduleBuilder] = Registry("schedule", field="train.schedule.name")


@SCHEDULES.register("step", step_on="epoch")
def step(cfg: Any, optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int) -> Any:
    return lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)


@SCHEDULES.register("cosine", step_on="epoch")
def cosine(cfg: Any, optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int) -> Any:
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=cfg.min_lr)


@SCHEDULES.register("onecycle", step_on="batch")
def onecycle(cfg: Any, optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int) -> Any:
    base = optimizer.param_groups[0]["lr"]
    return lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.max_lr or 10 * base, epochs=epochs,
                                   steps_per_epoch=steps_per_epoch)


@SCHEDULES.register("plateau", step_on="val_loss")
def plateau(cfg: Any, optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int) -> Any:
    return lr_scheduler.ReduceLROnPlateau(optimizer, factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr)


def make_scheduler(cfg: Any | None, optimizer: torch.optim.Optimizer, *, epochs: int,
                   steps_per_epoch: int) -> tuple[Any | None, str]:
    """The torch LR scheduler for ``cfg`` (``None``: no schedule) and when to step it."""
    if cfg is None:
        return None, "epoch"
    entry = SCHEDULES.entry(cfg.name)
    return entry.obj(cfg, optimizer, epochs=epochs, steps_per_epoch=steps_per_epoch), entry.traits["step_on"]


__all__ = ["SCHEDULES", "make_scheduler"]
