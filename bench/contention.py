"""Training speed on a busy machine: convscope's trainer and Keras, quiet and beside one busy process per core.

OpenMP threads that wait at a barrier spin (GNU libgomp, which torch's CPU wheel ships, spins ~300,000 times
before it sleeps), and a thread count equal to all cores oversubscribes them when some are busy: a thread
that loses its core holds every other thread at the next barrier. This bench measures what convscope keeps
of its quiet speed beside ``--busy`` spinning processes (default: one per core, spawned here), for each
candidate policy and for Keras 3 on the same model, all in the same run.

Each measurement is a fresh process running ``bench/vs_keras.py``'s worker (convscope's own ``Trainer``,
with the health monitor as in ``convscope run``; Keras' ``model.fit``): one warm-up epoch, then
``--epochs`` timed ones; samples/s = training samples / median epoch seconds. The models are vs_keras'
``convnet32`` (the 32-filter seed ConvNet on MNIST) and ``ecg1d`` (a 1D ECG net on 1x1000 signals).
Environment candidates (``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``) are set in the worker's environment, so
libgomp reads them when torch loads. Keras runs from ``--keras-python`` / ``$CONVSCOPE_KERAS_PYTHON``
(a Python with keras and tensorflow); without it Keras is skipped with a line saying so.

    python bench/contention.py                                   # all candidates, both models, twice
    python bench/contention.py --models convnet32 --candidates old,auto --repeats 1
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import vs_keras  # noqa: E402  (the workers, models and data of the Keras comparison)

# name: (environment for the worker, TrainConfig overrides). "old" is convscope before issue 13: every core,
# libgomp's default spinning. "auto" is train.threads: auto (the thread count whose steps run fastest,
# probed while training), which convscope uses by default now.
CANDIDATES: dict[str, tuple[dict[str, str], list[str]]] = {
    "old": ({}, ["threads=none"]),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, ["threads=none"]),
    "spin=1000": ({"GOMP_SPINCOUNT": "1000"}, ["threads=none"]),
    "spin=10000": ({"GOMP_SPINCOUNT": "10000"}, ["threads=none"]),
    "one-thread": ({}, ["threads=1"]),
    "auto": ({}, ["threads=auto"]),
}
SAMPLES = {"convnet32": 4096, "ecg1d": 1024}
# the policy variables convscope's CLI may set: cleared for every worker, so only the candidate's own apply
POLICY_ENV = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "CONVSCOPE_THREADS")


def _spin() -> None:
    while True:
        pass


def measure(kind: str, args: argparse.Namespace, model: str, data: Path, *, env: dict[str, str],
            train: list[str]) -> dict[str, Any]:
    """One worker run; its samples/s, threads at the end, and CPU seconds (user + system of the child)."""
    python = sys.executable if kind == "convscope" else args.keras_python
    cmd = [python, str(Path(vs_keras.__file__).resolve()), "--worker", kind, "--model", model, "--data", str(data),
           "--epochs", str(args.epochs), "--jit", "auto", "--no-infer"]
    for item in train:
        cmd += ["--train", item]
    full_env = {k: v for k, v in os.environ.items() if k not in POLICY_ENV} | env
    before = os.times()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=full_env)
    after = os.times()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} worker for {model} failed:\n{done.stderr[-3000:]}")
    import json

    row = json.loads(lines[-1])
    row["cpu_s"] = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return row


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def run_condition(args: argparse.Namespace, condition: str, data: dict[str, Path],
                  results: dict[tuple[str, str, str], list[dict[str, Any]]]) -> None:
    sides = [*args.candidates, *(["keras"] if args.keras_python else [])]
    for repeat in range(args.repeats):
        for model in args.models:
            order = sides if repeat % 2 == 0 else sides[::-1]  # drift of a shared machine hits every side
            for side in order:
                if side == "keras":
                    row = measure("keras", args, model, data[model], env={}, train=[])
                else:
                    env, train = CANDIDATES[side]
                    row = measure("convscope", args, model, data[model], env=env, train=train)
                results[(condition, model, side)].append(row)
                print(f"  {condition:5s} {model:9s} {side:16s} run {repeat + 1}: {row['samples_per_s']:7.0f} samples/s"
                      f"  threads {row.get('threads', '-')}  cpu {row['cpu_s']:5.1f} s  (load {load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--models", default="convnet32,ecg1d")
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help=f"subset of {', '.join(CANDIDATES)}")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side in each condition")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="spinning processes beside it")
    parser.add_argument("--keras-python", default=os.environ.get("CONVSCOPE_KERAS_PYTHON"),
                        help="the Python of an environment with Keras 3 (default $CONVSCOPE_KERAS_PYTHON)")
    args = parser.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    args.candidates = [c for c in args.candidates.split(",") if c]
    unknown = [c for c in args.candidates if c not in CANDIDATES] + [m for m in args.models if m not in SAMPLES]
    if unknown:
        parser.error(f"unknown candidate or model {unknown[0]!r}")
    if not args.keras_python:
        print("Keras skipped: no --keras-python and no $CONVSCOPE_KERAS_PYTHON "
              "(python3 -m venv kv && kv/bin/pip install keras tensorflow-cpu)")
    elif subprocess.run([args.keras_python, "-c", "import keras"], capture_output=True).returncode != 0:
        print(f"Keras skipped: {args.keras_python} cannot import keras")
        args.keras_python = None
    print(f"cores {os.cpu_count()}, busy processes {args.busy}, {args.epochs} timed epochs, {args.repeats} repeats; "
          f"load at start {load()}", flush=True)
    results: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    sides = [*args.candidates, *(["keras"] if args.keras_python else [])]
    for key in [(c, m, s) for c in ("quiet", "busy") for m in args.models for s in sides]:
        results[key] = []
    with tempfile.TemporaryDirectory(prefix="convscope-contention-") as tmp:
        data = {}
        for model in args.models:
            data[model] = Path(tmp) / f"{model}.npz"
            vs_keras.write_data(vs_keras.MODELS[model]["data"], SAMPLES[model], data[model], infer_samples=256,
                                full=False)
        run_condition(args, "quiet", data, results)
        spinners = [mp.Process(target=_spin, daemon=True) for _ in range(args.busy)]
        for p in spinners:
            p.start()
        try:
            time.sleep(1)
            run_condition(args, "busy", data, results)
        finally:
            for p in spinners:
                p.terminate()
                p.join()
    print(f"\nload at end {load()}; samples/s as each run's value (runs in order), kept = busy / quiet medians")
    for model in args.models:
        old_quiet = statistics.median(r["samples_per_s"] for r in results[("quiet", model, sides[0])])
        print(f"{model}: {'side':16s} {'quiet':>15s} {'busy':>15s} {'kept':>6s} {'quiet vs ' + sides[0]:>14s}")
        for side in sides:
            quiet = [r["samples_per_s"] for r in results[("quiet", model, side)]]
            busy = [r["samples_per_s"] for r in results[("busy", model, side)]]
            cells = [" ".join(f"{v:7.0f}" for v in values) for values in (quiet, busy)]
            kept = statistics.median(busy) / statistics.median(quiet)
            print(f"{'':{len(model) + 1}s} {side:16s} {cells[0]:>15s} {cells[1]:>15s} {100 * kept:5.0f}% "
                  f"{statistics.median(quiet) / old_quiet:13.2f}x")


if __name__ == "__main__":
    main()
