"""Speed rewrites end to end: training and evaluation throughput of a 1D signal net and the 2D seed ConvNet.

The 1D net (one-lead conv + batchnorm + max pool + dropout + global pool) takes every training rewrite
(signals as images, window convs, fast dropout) and both evaluation ones (batchnorm folding, conv+ReLU
fusion, pools as views); the 2D net takes channels_last and the evaluation rewrites. Each line is one
measurement, as JSON (samples/s of wall time, and CPU milliseconds per 1000 samples, which a shared machine's
load moves far less; run it with one thread), so two checkouts can be compared in one session by alternating them::

    PYTHONPATH=old/src python bench/speedups.py --tag old; PYTHONPATH=src python bench/speedups.py --tag new

    python bench/speedups.py [--samples 2048] [--threads 1] [--tag NAME]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from convscope.config import TrainConfig
from convscope.data.base import Dataset
from convscope.models import build_model
from convscope.train.trainer import Trainer

SIGNAL_NET = [
    {"conv": {"filters": 16, "kernel": 7, "batchnorm": True, "activation": "relu"}},
    {"maxpool": 2},
    {"conv": {"filters": 32, "kernel": 5, "batchnorm": True, "activation": "relu"}},
    {"maxpool": 2},
    {"dropout": 0.2},
    "global_avg_pool",
    {"dense": {"units": 2, "activation": "softmax"}},
]
SEED_CONVNET = [
    {"conv": {"filters": 8, "kernel": 4, "activation": "relu"}},
    {"conv": {"filters": 8, "kernel": 4, "activation": "relu"}},
    {"maxpool": 2},
    "flatten",
    {"dense": {"units": 128, "activation": "relu"}},
    {"dense": {"units": 10, "activation": "softmax"}},
]


def _data(n: int, shape: tuple[int, ...], classes: int) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, *shape, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return Dataset(x, y, x[:512].clone(), y[:512].clone(), None, None, [str(i) for i in range(classes)], name="bench")


def measure(name: str, spec: list, shape: tuple[int, ...], classes: int, samples: int) -> dict:
    data = _data(samples, shape, classes)
    torch.manual_seed(0)
    trainer = Trainer(build_model(spec, shape), data, TrainConfig(epochs=1, batch_size=128, health=False), seed=0)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.fit()
    train, train_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    trainer.predict(data.x_train)
    predict, predict_cpu = time.perf_counter() - start, time.process_time() - cpu
    # CPU seconds of this process: on a shared machine they move far less with other people's load than wall time
    return {"model": name, "train_samples_s": round(samples / train), "predict_samples_s": round(samples / predict),
            "train_cpu_ms_per_1k": round(1e6 * train_cpu / samples, 1),
            "predict_cpu_ms_per_1k": round(1e6 * predict_cpu / samples, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name, spec, shape, classes in (("signal-1d", SIGNAL_NET, (1, 1000), 2),
                                       ("seed-convnet-2d", SEED_CONVNET, (1, 28, 28), 10)):
        row = measure(name, spec, shape, classes, args.samples)
        print(json.dumps({"tag": args.tag, "threads": args.threads, **row}), flush=True)


if __name__ == "__main__":
    main()
