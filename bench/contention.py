"""Training speed on a busy machine: the same model quiet and beside one busy process per core.

OpenMP threads that wait at a barrier spin (``OMP_WAIT_POLICY=ACTIVE``-like behaviour is the default of
the Intel/LLVM runtimes PyTorch ships) and so steal cycles from every other process sharing the cores; and
a thread count equal to all cores oversubscribes them when some are busy. Each candidate runs in a fresh
process (``OMP_WAIT_POLICY`` is read when torch loads), a few warm-up steps and then ``--steps`` timed
training steps of a small conv net on random data, first with the machine as it is, then beside
``--busy`` spinning processes (default: one per core). Every number is a ratio against the default
candidate measured in the same run, quiet and busy alike; the load average is printed beside them.

    python bench/contention.py                   # default | OMP_WAIT_POLICY=PASSIVE | threads = free cores
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

CANDIDATES = {
    "default": {},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "free-cores": {"CONVSCOPE_BENCH_THREADS": "free"},
    "passive+free-cores": {"OMP_WAIT_POLICY": "PASSIVE", "CONVSCOPE_BENCH_THREADS": "free"},
}

STEP = r"""
import json, os, sys, time
import torch
from torch import nn
busy = int(sys.argv[2])
threads = os.environ.get("CONVSCOPE_BENCH_THREADS")
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
torch.set_num_threads(max(1, cores - busy) if threads == "free" else cores)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
opt = torch.optim.Adam(net.parameters())
x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))  # (N, C, H, W), (N,)
def step():
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
for _ in range(5):
    step()
start = time.perf_counter()
for _ in range(int(sys.argv[1])):
    step()
print(json.dumps({"seconds": time.perf_counter() - start, "threads": torch.get_num_threads()}))
"""


def _spin() -> None:
    while True:
        pass


def _measure(name: str, steps: int, busy: int) -> dict:
    env = {**os.environ, **CANDIDATES[name]}
    out = subprocess.run([sys.executable, "-c", STEP, str(steps), str(busy)], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="spinning processes beside it")
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}; load before {os.getloadavg()[0]:.1f}")
    results: dict[str, dict[str, dict]] = {"quiet": {}, "busy": {}}
    for name in CANDIDATES:
        results["quiet"][name] = _measure(name, args.steps, 0)
    spinners = [mp.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    try:
        time.sleep(1)
        for name in CANDIDATES:
            results["busy"][name] = _measure(name, args.steps, args.busy)
    finally:
        for p in spinners:
            p.terminate()
            p.join()
    for condition, row in results.items():
        base = row["default"]["seconds"]
        cells = ", ".join(f"{n} {r['seconds'] / base:.2f}x ({r['threads']} thr)" for n, r in row.items())
        print(f"{condition}: default {base:.2f} s for {args.steps} steps; time relative to default: {cells}")
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
