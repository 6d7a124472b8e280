"""What watching a run live costs: each logger's time per epoch on the seed ConvNet, against the epoch.

Trains the built-in default experiment (the seed notebook's ConvNet on real MNIST, ``convscope run``'s
default) with ``train.log`` empty, ``[tensorboard]`` and ``[mlflow]`` (a local SQLite database), the
runs interleaved (none, tensorboard, mlflow, none, ...) so drift of a shared machine hits all alike.

Two numbers per logger, both printed:

- **hook time**: the wall time spent inside the logger's own ``on_epoch_end`` (timed around the call), in
  ms per epoch, and as a share of the median epoch without loggers. This is the logger's cost, and it
  does not move with other processes' load the way a difference of two epoch times does;
- **epoch ratio**: median wall time from one epoch's end to the next with the logger over the same
  without any (end to end, includes everything the logger disturbs; noisy on a busy machine).

The one-time costs are printed apart: opening (MLflow creates its database on first use) and finishing
(MLflow attaches the weights; the report is off here, it is the report's cost, not a per-epoch one).

    python bench/loggers.py [--limit 10000] [--epochs 3] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

import convscope
from convscope.api import default_config_path
from convscope.train.callbacks import Callback
from convscope.train.loggers import LOGGERS

LOGS = {"none": [], "tensorboard": ["tensorboard"],
        "mlflow": [{"mlflow": {"report": False}}]}

TARGET = 0.03  # issue 17: a logger may cost at most 3% of an epoch
HOOK_TIME: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))


def time_hooks() -> None:
    """Wrap every registered logger's hooks with a timer (bench-only instrumentation)."""
    for entry in LOGGERS.entries():
        cls = entry.obj
        for hook in ("on_train_begin", "on_epoch_end", "finish"):
            original = getattr(cls, hook)

            @functools.wraps(original)
            def timed(self, *args, _original=original, _hook=hook, _name=entry.name, **kwargs):  # noqa: ANN001
                started = time.perf_counter()
                try:
                    return _original(self, *args, **kwargs)
                finally:
                    HOOK_TIME[_name][_hook].append(time.perf_counter() - started)

            setattr(cls, hook, timed)


class EpochClock(Callback):
    """Wall time between consecutive epoch ends (placed after the loggers: it includes their hooks)."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_epoch_end(self, trainer, epoch, logs):  # noqa: ANN001
        self.ends.append(time.perf_counter())

    @property
    def epochs(self) -> list[float]:
        return [b - a for a, b in zip(self.ends, self.ends[1:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10000, help="MNIST training samples (data.limit)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    time_hooks()
    epoch_walls: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, log in LOGS.items():
                clock = EpochClock()
                overrides = [f"data.limit={args.limit}", f"train.epochs={args.epochs}",
                             f"train.threads={args.threads}", f"train.log={log}"]
                convscope.run(default_config_path(), overrides=overrides, home=Path(tmp) / name, callbacks=[clock])
                epoch_walls[name].extend(clock.epochs)
                print(f"repeat {repeat + 1}/{args.repeats} {name:12s} epochs (s): "
                      + " ".join(f"{s:.3f}" for s in clock.epochs), flush=True)

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    base = statistics.median(epoch_walls["none"])
    print(f"\nseed ConvNet (keras-mnist-cnn) on MNIST, data.limit={args.limit}, {args.epochs} epochs x "
          f"{args.repeats} repeats, torch {torch.__version__}, {args.threads} threads, precision auto")
    print(f"CPU: {cpu}; load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"median epoch without loggers: {base:.3f} s (epoch end to epoch end, n={len(epoch_walls['none'])})")
    print(f"{'logger':12s} {'hook ms/epoch':>14s} {'share of epoch':>15s} {'epoch ratio':>12s} "
          f"{'open ms':>9s} {'finish ms':>10s}")
    for name in LOGS:
        if name == "none":
            continue
        hooks = HOOK_TIME[name]
        per_epoch = statistics.median(hooks["on_epoch_end"])
        ratio = statistics.median(epoch_walls[name]) / base
        share = per_epoch / base
        print(f"{name:12s} {1000 * per_epoch:14.1f} {100 * share:14.2f}% {ratio:12.3f} "
              f"{1000 * statistics.median(hooks['on_train_begin']):9.0f} "
              f"{1000 * statistics.median(hooks['finish']):10.0f}   "
              f"target <= {100 * TARGET:.0f}%: {'met' if share <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
