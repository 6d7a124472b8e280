"""ProgressBar is an ordinary trainer Callback: any run can show it."""

from __future__ import annotations

import io
import re

from rich.console import Console

import convscope
from convscope.train.progress import ProgressBar


def test_progress_bar_shows_each_epochs_losses_and_accuracy(digits_cfg):
    out = io.StringIO()
    bar = ProgressBar(3, console=Console(file=out, width=160, force_terminal=False))
    try:
        run = convscope.run(digits_cfg, callbacks=[bar])
    finally:
        bar.stop()
    text = out.getvalue()
    last = run.history[-1]
    assert "epoch 3/3" in text
    assert f"loss {last['train_loss']:.4f} val_loss {last['val_loss']:.4f} val_acc {100 * last['val_accuracy']:.1f}%" \
        in text
    steps = re.findall(r"(\d+)/\1", text)  # every finished epoch's bar is full: N/N batches
    assert steps
