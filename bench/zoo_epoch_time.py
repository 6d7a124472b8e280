"""Seconds per training epoch of every zoo preset on the default data (MNIST, 50k training images).

Each image preset trains one epoch on a stratified slice of MNIST (``--samples``) through convscope's
trainer; the time is scaled to the full 50,000-image epoch (training time is linear in samples). The
1D presets train on the built-in synthetic ECG windows instead (MNIST is not a signal).

    python bench/zoo_epoch_time.py [--samples 5000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import convscope
from convscope.models import get_preset, list_presets, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--presets", nargs="*", default=None)
    args = parser.parse_args()
    os.environ.setdefault("CONVSCOPE_HOME", tempfile.mkdtemp(prefix="zoo-bench-"))
    print(f"{'preset':26s} {'data':18s} {'params':>10s} {'s/epoch (scaled)':>17s} {'val acc':>8s}")
    for name in args.presets or list_presets():
        signal = len(get_preset(name).input_shape) == 2
        data = ({"source": "builtin:ecg-synth"} if signal
                else {"source": "mnist", "limit": args.samples})
        cfg = {"name": f"zoo-{name}", "data": data, "model": {"preset": name},
               "train": {"epochs": 1, "batch_size": 128, "health": False, "threads": 1}}
        started = time.perf_counter()
        run = convscope.run(cfg)
        seconds = run.history[0]["seconds"]
        n = 50000 if not signal else None
        scaled = seconds * n / args.samples if n else seconds
        params = summary(run.model, run.info["input_shape"]).params
        print(f"{name:26s} {'mnist' if not signal else 'ecg-synth (full)':18s} {params:10,d} {scaled:17.1f} "
              f"{100 * run.history[0]['val_accuracy']:7.1f}%  ({time.perf_counter() - started:.0f} s wall)")


if __name__ == "__main__":
    main()
