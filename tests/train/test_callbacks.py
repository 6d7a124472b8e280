"""EarlyStopping: stops after `patience` bad epochs, but a run that reaches its last epoch has completed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from convscope.config import EarlyStoppingConfig
from convscope.train.callbacks import EarlyStopping


@pytest.mark.parametrize("epochs, stopped", [(5, True), (3, False)])
def test_patience_running_out_on_the_last_epoch_is_not_early_stopping(epochs, stopped):
    stops = []
    trainer = SimpleNamespace(cfg=SimpleNamespace(epochs=epochs), history=[],
                              request_stop=lambda status, reason: stops.append(status))
    callback = EarlyStopping(EarlyStoppingConfig(monitor="val_loss", patience=2))
    callback.on_train_begin(trainer)
    for epoch, loss in enumerate([0.5, 0.6, 0.7], start=1):  # patience runs out at epoch 3
        callback.on_epoch_end(trainer, epoch, {"val_loss": loss})
    assert stops == (["early_stopped"] if stopped else [])
