"""Framework overhead: convscope's trainer vs a minimal hand-written PyTorch loop, same process.

Both train the same model (the seed notebook's ConvNet, built by convscope) on the same in-memory
MNIST-shaped data, batch size, optimizer and epochs, with the same thread count; we print samples/s of
each and the ratio. Runs alternate (bare, convscope, bare, ...) so drift of the machine hits both.
The bare loop uses the same fast paths the trainer picks on this machine (precision, channels_last,
fused Adam), so the ratio isolates the framework's own cost; ``--plain`` gives the bare loop PyTorch's
defaults instead (float32, NCHW, for-loop Adam), which measures what the fast paths win.

    python bench/overhead.py [--epochs 2] [--repeats 3] [--samples 20000] [--plain]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from convscope.config import TrainConfig
from convscope.data.base import Dataset
from convscope.models import build_model
from convscope.train.speedups import resolve_precision, use_channels_last
from convscope.train.trainer import Trainer

SEED_CONVNET = [
    {"conv": {"filters": 8, "kernel": 4, "activation": "relu"}},
    {"conv": {"filters": 8, "kernel": 4, "activation": "relu"}},
    {"maxpool": 2},
    "flatten",
    {"dense": {"units": 128, "activation": "relu"}},
    {"dense": {"units": 10, "activation": "softmax"}},
]


def make_data(n: int) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 28, 28, generator=g)  # (N, C, H, W)
    y = torch.randint(0, 10, (n,), generator=g)
    xv, yv = x[:1000].clone(), y[:1000].clone()
    return Dataset(x, y, xv, yv, None, None, [str(i) for i in range(10)], name="bench")


def bare_loop(data: Dataset, epochs: int, batch_size: int, *, plain: bool) -> float:
    """The loop a careful user writes by hand: shuffle, slice, forward, loss, backward, step."""
    torch.manual_seed(0)
    model = build_model(SEED_CONVNET, (1, 28, 28))
    cpu = torch.device("cpu")
    # the settings convscope's trainer picks for this model here (unless --plain: PyTorch's defaults)
    bf16 = not plain and resolve_precision("auto", model, cpu) == "bf16"
    nhwc = not plain and use_channels_last(model, "auto", cpu)
    layout = torch.channels_last if nhwc else torch.contiguous_format
    model.to(memory_format=layout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=not plain)
    n = len(data.y_train)
    x_val = data.x_val.contiguous(memory_format=layout)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n)
        x, y = data.x_train[perm].contiguous(memory_format=layout), data.y_train[perm]
        for i in range(0, n, batch_size):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(x[i:i + batch_size])
            loss = F.cross_entropy(logits.float(), y[i:i + batch_size])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.inference_mode():  # the same validation pass convscope does each epoch
            for i in range(0, len(data.y_val), 1024):
                model(x_val[i:i + 1024])
    return epochs * n / (time.perf_counter() - start)


def convscope_loop(data: Dataset, epochs: int, batch_size: int) -> float:
    torch.manual_seed(0)
    model = build_model(SEED_CONVNET, (1, 28, 28))
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, health=False)
    trainer = Trainer(model, data, cfg, seed=0)
    start = time.perf_counter()
    trainer.fit()
    return epochs * len(data.y_train) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--plain", action="store_true", help="bare loop with PyTorch's defaults, not the fast paths")
    args = parser.parse_args()
    data = make_data(args.samples)
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(data, args.epochs, args.batch_size, plain=args.plain))
        ours.append(convscope_loop(data, args.epochs, args.batch_size))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"threads {torch.get_num_threads()}, {args.samples} samples x {args.epochs} epochs, batch {args.batch_size}, "
          f"median of {args.repeats}")
    print(f"bare PyTorch loop : {b:9.0f} samples/s  ({'PyTorch defaults' if args.plain else 'same fast paths'})")
    print(f"convscope trainer : {o:9.0f} samples/s")
    print(f"ratio convscope/bare: {o / b:.3f}  (overhead {100 * (1 - o / b):+.1f}%)")


if __name__ == "__main__":
    main()
