"""Training: the loop, its callbacks, and metrics."""

from convscope.train.callbacks import Callback, Checkpoint, EarlyStopping
from convscope.train.trainer import Trainer, pick_device, probabilities

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "Trainer", "pick_device", "probabilities"]
