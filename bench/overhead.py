"""Framework overhead: convscope's trainer vs a minimal hand-written PyTorch loop, same process.

Both train the same model (the seed notebook's ConvNet, built by convscope) on the same in-memory
MNIST-shaped data, batch size, optimizer and epochs, with the same thread count; we print samples/s of
each and the ratio. Runs alternate (bare, convscope, bare, ...) so drift of the machine hits both.
The bare loop uses the same fast paths the trainer picks on this machine (precision, channels_last,
fused Adam), so the ratio isolates the framework's own cost; ``--plain`` gives the bare loop PyTorch's
defaults instead (float32, NCHW, for-loop Adam), which measures what the fast paths win.

    python bench/overhead.py [--epochs 2] [--repeats 3] [--samples 20000] [--plain]
    python bench/overhead.py --device cuda --precision bf16   # on a GPU (fp32, bf16 or fp16 with loss scaling)

On a GPU both loops keep the data on the device and wait for it (``torch.cuda.synchronize``) before the
clock stops; ``--precision`` sets both loops' precision (default: what ``auto`` picks on that device).
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


def bare_loop(data: Dataset, epochs: int, batch_size: int, *, plain: bool, device: torch.device,
              precision: str) -> float:
    """The loop a careful user writes by hand: shuffle, slice, forward, loss, backward, step."""
    torch.manual_seed(0)
    model = build_model(SEED_CONVNET, (1, 28, 28)).to(device)
    # the settings convscope's trainer picks for this model here (unless --plain: PyTorch's defaults)
    precision = "fp32" if plain else resolve_precision(precision, model, device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    nhwc = not plain and use_channels_last(model, "auto", device)
    layout = torch.channels_last if nhwc else torch.contiguous_format
    model.to(memory_format=layout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=not plain)
    n = len(data.y_train)
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    x_val = data.x_val.to(device).contiguous(memory_format=layout)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n).to(device)
        x, y = x_train[perm].contiguous(memory_format=layout), y_train[perm]
        for i in range(0, n, batch_size):
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits = model(x[i:i + batch_size])
            loss = F.cross_entropy(logits.float(), y[i:i + batch_size])
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
        model.eval()
        with torch.inference_mode():  # the same validation pass convscope does each epoch
            for i in range(0, len(data.y_val), 1024):
                model(x_val[i:i + 1024])
        synchronize(device)
    return epochs * n / (time.perf_counter() - start)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def convscope_loop(data: Dataset, epochs: int, batch_size: int, *, device: torch.device, precision: str) -> float:
    torch.manual_seed(0)
    model = build_model(SEED_CONVNET, (1, 28, 28))
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, health=False, device=str(device), precision=precision)
    trainer = Trainer(model, data, cfg, seed=0)
    start = time.perf_counter()
    trainer.fit()  # its last step is an epoch's validation, read back as numbers: the GPU has finished
    return epochs * len(data.y_train) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--plain", action="store_true", help="bare loop with PyTorch's defaults, not the fast paths")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    args = parser.parse_args()
    device = torch.device(args.device)
    data = make_data(args.samples)
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(data, args.epochs, args.batch_size, plain=args.plain, device=device,
                              precision=args.precision))
        ours.append(convscope_loop(data, args.epochs, args.batch_size, device=device, precision=args.precision))
    b, o = statistics.median(bare), statistics.median(ours)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, threads {torch.get_num_threads()}"
    print(f"{where}, precision {args.precision}, {args.samples} samples x {args.epochs} epochs, batch {args.batch_size}, "
          f"median of {args.repeats}")
    print(f"bare PyTorch loop : {b:9.0f} samples/s  ({'PyTorch defaults' if args.plain else 'same fast paths'})")
    print(f"convscope trainer : {o:9.0f} samples/s")
    print(f"ratio convscope/bare: {o / b:.3f}  (overhead {100 * (1 - o / b):+.1f}%)")


if __name__ == "__main__":
    main()
