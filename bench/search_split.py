"""How should a search share the cores: N trials at once with T threads each, for N x T = the core count?

Each configuration starts N worker processes together (each ``torch.set_num_threads(T)``) that train the same
model on the same data with convscope's trainer; total throughput = all samples trained / wall time until
the last worker finishes. Configurations alternate within each repeat, and we print medians and the ratio
to 1 trial x all cores. This is what ``search.threads_per_worker`` (and the default number of workers)
should follow.

    python bench/search_split.py [--models convnet8,ecg1d] [--repeats 3] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from vs_keras import MODELS, write_data  # noqa: E402  (the same models and data as the Keras bench)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from convscope.config import TrainConfig
    from convscope.data.base import Dataset
    from convscope.models import build_model
    from convscope.train.trainer import Trainer

    arrays = np.load(args.data)
    t = {k: torch.from_numpy(arrays[k]) for k in arrays.files}
    classes = int(t["y_train"].max()) + 1
    data = Dataset(t["x_train"], t["y_train"].long(), t["x_val"], t["y_val"].long(), None, None,
                   [str(i) for i in range(classes)], name="bench")
    torch.manual_seed(0)
    model = build_model(MODELS[args.model]["spec"], tuple(data.x_train.shape[1:]), num_classes=classes)
    trainer = Trainer(model, data, TrainConfig(epochs=args.epochs), seed=0)
    # barrier: start training only when every worker of this configuration is ready, so they overlap fully
    barrier = Path(args.barrier)
    (barrier / str(os.getpid())).touch()
    while len(list(barrier.iterdir())) < args.trials:
        time.sleep(0.01)
    start = time.time()  # wall clock shared by the processes: the driver spans first start to last end
    trainer.fit()
    return {"samples": args.epochs * len(data.y_train), "start": start, "end": time.time()}


def run_config(script: str, model: str, data: Path, trials: int, threads: int, epochs: int, tmp: Path) -> float:
    """Samples/s of ``trials`` concurrent workers with ``threads`` threads each: all samples over the span from
    the first worker's first step to the last worker's end (process start-up and imports are not counted)."""
    barrier = Path(tempfile.mkdtemp(dir=tmp))
    cmd = [sys.executable, script, "--worker", "--model", model, "--data", str(data), "--threads", str(threads),
           "--epochs", str(epochs), "--trials", str(trials), "--barrier", str(barrier)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(trials)]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a worker failed ({model}, {trials} x {threads})")
    rows = [json.loads(out.strip().splitlines()[-1]) for out in outs]
    span = max(r["end"] for r in rows) - min(r["start"] for r in rows)
    return sum(r["samples"] for r in rows) / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--models", default="convnet8,convnet32,ecg1d,mlp")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=None, help="training samples per worker (default per model)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)), flush=True)
        return
    splits = [(n, args.cores // n) for n in range(1, args.cores + 1) if args.cores % n == 0]
    print(f"{args.cores} cores; splits (trials x threads): {splits}; load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="convscope-split-") as tmp:
        for model in [m.strip() for m in args.models.split(",") if m.strip()]:
            data = Path(tmp) / f"{model}.npz"
            samples = args.samples or MODELS[model]["samples"] // 2
            write_data(MODELS[model]["data"], samples, data, infer_samples=0, full=False)
            results: dict[tuple[int, int], list[float]] = {s: [] for s in splits}
            for r in range(args.repeats):
                for split in splits if r % 2 == 0 else splits[::-1]:
                    results[split].append(run_config(__file__, model, data, *split, args.epochs, Path(tmp)))
            base = statistics.median(results[splits[0]])
            for split, values in results.items():
                med = statistics.median(values)
                print(f"{model:10s} {split[0]} trial(s) x {split[1]} thread(s): {med:9.0f} samples/s total  "
                      f"x{med / base:.2f} vs 1 x {args.cores}   runs: {', '.join(f'{v:.0f}' for v in values)}",
                      flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
