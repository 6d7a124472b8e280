"""convscope vs Keras 3 on the seed notebooks' models: training and inference throughput, % of GEMM peak, accuracy.

Each measurement runs in a fresh process: convscope's worker in this Python, Keras' worker in the Keras
environment (``--keras-python PATH`` or ``$CONVSCOPE_KERAS_PYTHON``: a Python with ``keras`` and a backend
installed; Keras is a bench-only tool, never a dependency of convscope). Runs alternate (convscope, Keras XLA off, Keras XLA auto, convscope, ...) so the
drift of a shared machine hits both sides, and we report medians of ``--repeats`` and ratios.

Both sides train the same samples (real MNIST for the 2D models and the MLP; random 1x1000 signals for the 1D
net), batch 128, Adam(1e-3), one warm-up epoch then ``--epochs`` timed ones, each epoch followed by the same
validation pass (a tenth of the training samples): samples/s = training samples / epoch seconds.
Inference: predict on ``--infer-samples`` samples at batch 1024 (convscope's ``Trainer.predict``, Keras'
``model.predict``). FLOP/s count one training sample as 6 x its MACs (forward 2, backward 4), MACs from
``convscope.summary``; the peaks are ``torch.mm`` of 4096 x 4096 matrices, best of several, measured here.

    python bench/vs_keras.py                                  # all models, training + inference, 3 repeats
    python bench/vs_keras.py --models convnet8 --repeats 3    # a subset
    python bench/vs_keras.py --models convnet32 --train precision=fp32 --train channels_last=false
    python bench/vs_keras.py --keras-jit '' --variant '' --variant precision=fp32 \
        --variant precision=fp32,channels_last=false                        # the levers, convscope only
    python bench/vs_keras.py --accuracy --epochs 3 --seeds 0,1,2 --precisions fp32,bf16   # --epochs: total here
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The models of issue 7's table: convscope layer specs (the Keras twins are built in keras_model below).
MODELS: dict[str, dict[str, Any]] = {
    "mlp": {"title": "MLP 784-20-15-10", "data": "mnist", "samples": 50000,
            "spec": {"preset": "keras-mnist-mlp"}},
    "convnet8": {"title": "ConvNet 8@4x4 x2, pool, dense 128", "data": "mnist", "samples": 20480,
                 "spec": {"preset": "keras-mnist-cnn"}},
    "convnet32": {"title": "ConvNet 32@3x3 x2, pool, dense 128 (+dropout)", "data": "mnist", "samples": 10240,
                  "spec": {"preset": "keras-mnist-cnn-dropout"}},
    "ecg1d": {"title": "1D net 1x1000, 4 x (conv7-BN-ReLU-pool), GAP", "data": "signals", "samples": 2048,
              "spec": [{"repeat": 4, "layers": [
                  {"conv": {"filters": 32, "kernel": 7, "padding": "same", "batchnorm": True, "activation": "relu"}},
                  {"maxpool": 2}]},
                  "global_avg_pool",
                  {"dense": {"units": 2, "activation": "softmax"}}]},
}
BATCH = 128
INFER_BATCH = 1024
LR = 1e-3


# ---------------------------------------------------------------------------------------------
# Data: written once by the driver, read by both workers (the same samples on both sides)


def write_data(name: str, samples: int, path: Path, *, infer_samples: int, full: bool) -> None:
    import numpy as np
    import torch

    if name == "mnist":
        from convscope.config import DataConfig
        from convscope.data import load_data

        d = load_data(DataConfig(source="mnist"), seed=0)
        n = len(d.y_train) if full else samples
        n_val = len(d.y_val) if full else max(1, n // 10)
        arrays = {"x_train": d.x_train[:n], "y_train": d.y_train[:n], "x_val": d.x_val[:n_val],
                  "y_val": d.y_val[:n_val], "x_test": d.x_test, "y_test": d.y_test}
    else:  # random signals: throughput only, there is nothing to learn
        g = torch.Generator().manual_seed(0)
        n_val = max(1, samples // 10)
        x = torch.randn(samples + n_val + infer_samples, 1, 1000, generator=g)  # (N, C, L)
        y = torch.randint(0, 2, (len(x),), generator=g)
        arrays = {"x_train": x[:samples], "y_train": y[:samples], "x_val": x[samples:samples + n_val],
                  "y_val": y[samples:samples + n_val], "x_test": x[samples + n_val:], "y_test": y[samples + n_val:]}
    np.savez(path, **{k: v.numpy() for k, v in arrays.items()})


# ---------------------------------------------------------------------------------------------
# convscope worker


def convscope_worker(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch

    from convscope.config import TrainConfig
    from convscope.data.base import Dataset
    from convscope.models import build_model, summary
    from convscope.train.health import HealthMonitor
    from convscope.train.trainer import Trainer

    arrays = np.load(args.data)
    t = {k: torch.from_numpy(arrays[k]) for k in arrays.files}
    y_train = t["y_train"].long()
    classes = int(max(y_train.max(), t["y_test"].max())) + 1
    data = Dataset(t["x_train"], y_train, t["x_val"], t["y_val"].long(), t["x_test"], t["y_test"].long(),
                   [str(i) for i in range(classes)], name="bench")
    torch.manual_seed(args.seed)
    model = build_model(MODELS[args.model]["spec"], tuple(data.x_train.shape[1:]), num_classes=classes)
    macs = summary(model, tuple(data.x_train.shape[1:])).macs
    overrides = dict(_parse_override(s) for s in args.train)
    cfg = TrainConfig(epochs=total_epochs(args), batch_size=BATCH, eval_batch_size=INFER_BATCH,
                      optimizer={"name": "adam", "lr": LR}, **overrides)
    # the health monitor is on in every `convscope run` (train.health: true), so it is on here too
    trainer = Trainer(model, data, cfg, seed=args.seed, callbacks=[HealthMonitor()] if cfg.health else [])
    trainer.fit()
    seconds = [row["seconds"] for row in trainer.history]
    seconds = seconds[1:] or seconds  # epoch 1 is the warm-up
    out: dict[str, Any] = {
        "samples_per_s": len(y_train) / statistics.median(seconds), "macs": macs,
        "precision": trainer.precision, "channels_last": trainer.channels_last, "threads": torch.get_num_threads()}
    if args.accuracy:
        scores, _ = trainer.evaluate(data.x_test, data.y_test, prefix="test_")  # last epoch's weights, as Keras
        out["test_accuracy"] = scores["test_accuracy"]
    if args.infer:
        x = data.x_test
        trainer.predict(x[:INFER_BATCH])  # warm-up: oneDNN picks and caches its kernels
        times = []
        for _ in range(args.infer_repeats):
            start = time.perf_counter()
            trainer.predict(x)
            times.append(time.perf_counter() - start)
        out["infer_per_s"] = len(x) / statistics.median(times)
    return out


def total_epochs(args: argparse.Namespace) -> int:
    """Speed runs add a warm-up epoch (first-call kernel selection, Keras' graph tracing); accuracy runs do not."""
    return args.epochs if args.accuracy else 1 + args.epochs


def _parse_override(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    lowered = value.lower()
    parsed: Any = {"true": True, "false": False, "none": None}.get(lowered, value)
    if isinstance(parsed, str) and parsed.isdigit():
        parsed = int(parsed)
    return key.strip(), parsed


# ---------------------------------------------------------------------------------------------
# Keras worker (runs in the Keras environment: imports nothing from convscope or torch)


def keras_model(name: str, keras: Any) -> Any:
    from keras import layers

    if name == "mlp":
        normal = keras.initializers.RandomNormal(stddev=0.05)  # Keras' 'normal', as in the seed notebook
        body = [layers.Input((28, 28, 1)), layers.Flatten(),
                layers.Dense(20, activation="relu", kernel_initializer=normal),
                layers.Dense(15, activation="relu", kernel_initializer=normal),
                layers.Dense(10, activation="softmax", kernel_initializer=normal)]
    elif name == "convnet8":
        body = [layers.Input((28, 28, 1)), layers.Conv2D(8, 4, activation="relu"),
                layers.Conv2D(8, 4, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")]
    elif name == "convnet32":
        body = [layers.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2), layers.Dropout(0.25),
                layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
                layers.Dense(10, activation="softmax")]
    else:
        body = [layers.Input((1000, 1))]
        for _ in range(4):
            body += [layers.Conv1D(32, 7, padding="same", use_bias=False), layers.BatchNormalization(),
                     layers.ReLU(), layers.MaxPooling1D(2)]
        body += [layers.GlobalAveragePooling1D(), layers.Dense(2, activation="softmax")]
    return keras.Sequential(body)


def keras_worker(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    arrays = np.load(args.data)

    def channels_last(x: Any) -> Any:  # (N, C, ...) -> (N, ..., C): Keras' layout on the CPU
        return np.ascontiguousarray(np.moveaxis(x, 1, -1))

    x_train, x_val, x_test = (channels_last(arrays[k]) for k in ("x_train", "x_val", "x_test"))
    y_train, y_val, y_test = (arrays[k].astype("int64") for k in ("y_train", "y_val", "y_test"))
    keras.utils.set_random_seed(args.seed)
    model = keras_model(args.model, keras)
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile="auto" if args.jit == "auto" else False)

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:  # after the validation pass
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    model.fit(x_train, y_train, batch_size=BATCH, epochs=total_epochs(args), validation_data=(x_val, y_val),
              shuffle=True, verbose=0, callbacks=[timer])
    out: dict[str, Any] = {"samples_per_s": len(y_train) / statistics.median(timer.seconds[1:] or timer.seconds),
                           "jit": args.jit}
    if args.accuracy:
        out["test_accuracy"] = float(model.evaluate(x_test, y_test, batch_size=INFER_BATCH, verbose=0)[1])
    if args.infer:
        model.predict(x_test[:INFER_BATCH], batch_size=INFER_BATCH, verbose=0)  # warm-up: traces the graph
        times = []
        for _ in range(args.infer_repeats):
            start = time.perf_counter()
            model.predict(x_test, batch_size=INFER_BATCH, verbose=0)
            times.append(time.perf_counter() - start)
        out["infer_per_s"] = len(x_test) / statistics.median(times)
    return out


# ---------------------------------------------------------------------------------------------
# Driver


def gemm_peak() -> dict[str, float]:
    """Best-of-several GFLOP/s of ``torch.mm`` on 4096 x 4096 float32 and bfloat16 matrices."""
    import torch

    n = 4096
    peaks = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        torch.mm(a, b)
        best = 0.0
        for _ in range(5):
            start = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
        peaks[name] = best
    return peaks


def run_worker(kind: str, args: argparse.Namespace, model: str, data: Path, *, jit: str = "off",
               seed: int = 0, train: list[str] | None = None) -> dict[str, Any]:
    python = sys.executable if kind == "convscope" else args.keras_python
    cmd = [python, str(Path(__file__).resolve()), "--worker", kind, "--model", model, "--data", str(data),
           "--epochs", str(args.epochs), "--seed", str(seed), "--jit", jit,
           "--infer-repeats", str(args.infer_repeats)]
    cmd += [flag for flag, on in (("--accuracy", args.accuracy), ("--no-infer", not args.infer)) if on]
    for item in train if train is not None else args.train:
        cmd += ["--train", item]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} worker for {model} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def median_of(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row.get(key) is not None]
    return statistics.median(values) if values else None


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def throughput(args: argparse.Namespace, models: list[str], tmp: Path) -> None:
    peaks = [gemm_peak()]
    print(f"load average at start: {load_average()}   GEMM peak (4096^2 torch.mm): "
          f"fp32 {peaks[0]['fp32']:.0f} GFLOP/s, bf16 {peaks[0]['bf16']:.0f} GFLOP/s", flush=True)
    # one convscope side per --variant (its TrainConfig overrides on top of --train), then the Keras sides
    variants = {f"cs {v}" if v else "convscope": [*args.train, *filter(None, v.split(","))] for v in args.variants}
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for model in models:
        data = tmp / f"{model}.npz"
        write_data(MODELS[model]["data"], args.samples or MODELS[model]["samples"], data,
                   infer_samples=args.infer_samples, full=False)
        sides = results[model] = {side: [] for side in variants} | {f"keras-{jit}": [] for jit in args.keras_jit}
        for r in range(args.repeats):
            order = list(sides)
            if r % 2:  # alternate who goes first, so warming or cooling of the machine does not favour a side
                order.reverse()
            for side in order:
                if side in variants:
                    row = run_worker("convscope", args, model, data, train=variants[side])
                else:
                    row = run_worker("keras", args, model, data, jit=side.removeprefix("keras-"))
                sides[side].append(row)
                infer = f", predict {row['infer_per_s']:.0f}/s" if "infer_per_s" in row else ""
                print(f"  {model:9s} {side:11s} run {r + 1}: {row['samples_per_s']:8.0f} samples/s{infer}"
                      f"   (load {load_average()})", flush=True)
    peaks.append(gemm_peak())
    peak = {k: max(p[k] for p in peaks) for k in ("fp32", "bf16")}
    print(f"\nGEMM peak, best of start and end: fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s; "
          f"load average at end: {load_average()}")
    print(f"medians of {args.repeats} runs; Keras = the faster of XLA {'/'.join(args.keras_jit) or '(not run)'}\n")
    print(f"{'model':10s} {'convscope/s':>11s} {'keras/s':>9s} {'ratio':>6s} {'GFLOP/s':>8s} {'%fp32pk':>8s} "
          f"{'%bf16pk':>8s} {'predict cs/s':>12s} {'keras/s':>9s} {'ratio':>6s}  settings")
    for model, sides in results.items():
        keras_rows = [rows for side, rows in sides.items() if side not in variants]
        keras = max((median_of(rows, "samples_per_s") for rows in keras_rows), default=math.nan)
        keras_i = max((median_of(rows, "infer_per_s") or math.nan for rows in keras_rows), default=math.nan)
        for side in variants:
            ours = median_of(sides[side], "samples_per_s")
            flops = 6 * sides[side][0]["macs"] * ours / 1e9
            line = (f"{model:10s} {ours:11.0f} {keras:9.0f} {ours / keras:6.2f} {flops:8.1f} "
                    f"{100 * flops / peak['fp32']:7.1f}% {100 * flops / peak['bf16']:7.1f}%")
            if args.infer:
                ours_i = median_of(sides[side], "infer_per_s")
                line += f" {ours_i:12.0f} {keras_i:9.0f} {ours_i / keras_i:6.2f}"
            first = sides[side][0]
            print(f"{line}  {first['precision']}, channels_last={first['channels_last']}, threads={first['threads']}"
                  f"{'  [' + side.removeprefix('cs ') + ']' if side != 'convscope' else ''}")


def accuracy(args: argparse.Namespace, models: list[str], tmp: Path) -> None:
    print(f"test accuracy on real MNIST (50k train, 10k test) after {args.epochs} epochs; seeds {args.seeds}; "
          f"last epoch's weights on both sides", flush=True)
    for model in models:
        if MODELS[model]["data"] != "mnist":
            continue
        data = tmp / f"{model}-full.npz"
        write_data("mnist", 0, data, infer_samples=0, full=True)
        rows: dict[str, list[float]] = {}
        for seed in args.seeds:
            for precision in args.precisions:
                train = [*args.train, f"precision={precision}"]
                row = run_worker("convscope", args, model, data, seed=seed, train=train)
                rows.setdefault(f"convscope {precision}", []).append(row["test_accuracy"])
                print(f"  {model} seed {seed} convscope {precision}: {100 * row['test_accuracy']:.2f}%", flush=True)
            row = run_worker("keras", args, model, data, seed=seed)
            rows.setdefault("keras", []).append(row["test_accuracy"])
            print(f"  {model} seed {seed} keras: {100 * row['test_accuracy']:.2f}%", flush=True)
        for side, values in rows.items():
            print(f"{model:10s} {side:16s} mean {100 * statistics.mean(values):.2f}%  "
                  f"({', '.join(f'{100 * v:.2f}' for v in values)})")


def keras_python(parser: argparse.ArgumentParser, given: str | None) -> str:
    """The Keras environment's interpreter, checked to exist and to import keras; a clear exit otherwise."""
    if not given:
        parser.error("no Keras environment: pass --keras-python PATH (or set CONVSCOPE_KERAS_PYTHON) to a Python "
                     "with keras installed, e.g. python -m venv kvenv && kvenv/bin/pip install keras jax; "
                     "or skip Keras with --keras-jit ''")
    if not Path(given).is_file():
        parser.error(f"--keras-python {given}: no such file")
    check = subprocess.run([given, "-c", "import keras"], capture_output=True, text=True)
    if check.returncode != 0:
        parser.error(f"--keras-python {given}: cannot import keras ({check.stderr.strip().splitlines()[-1]})")
    return given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up epoch)")
    parser.add_argument("--samples", type=int, default=None, help="training samples per epoch (default per model)")
    parser.add_argument("--infer-samples", type=int, default=4096, help="1D net: signals for the predict timing")
    parser.add_argument("--infer-repeats", type=int, default=5)
    parser.add_argument("--no-infer", dest="infer", action="store_false", help="skip the predict timing")
    parser.add_argument("--keras-jit", default="off,auto",
                        help="Keras jit_compile modes to run: off, auto, both, or '' for no Keras")
    parser.add_argument("--variant", dest="variants", action="append", metavar="KEY=VALUE,...",
                        help="a convscope side with these TrainConfig overrides (repeatable; '' = the defaults); "
                             "e.g. --variant '' --variant precision=fp32 --variant precision=fp32,channels_last=false")
    parser.add_argument("--keras-python", default=os.environ.get("CONVSCOPE_KERAS_PYTHON"),
                        help="the Python of an environment with Keras 3 (default $CONVSCOPE_KERAS_PYTHON)")
    parser.add_argument("--train", action="append", default=[], metavar="KEY=VALUE",
                        help="convscope TrainConfig override, e.g. precision=fp32 or channels_last=false")
    parser.add_argument("--accuracy", action="store_true", help="test accuracy on full MNIST instead of speed")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--precisions", default="fp32,bf16", help="--accuracy: convscope precisions to compare")
    parser.add_argument("--worker", choices=["convscope", "keras"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--jit", default="off", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = convscope_worker if args.worker == "convscope" else keras_worker
        print(json.dumps(worker(args)), flush=True)
        return
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    args.keras_jit = [j.strip() for j in args.keras_jit.split(",") if j.strip()]
    args.variants = args.variants or [""]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if args.accuracy:
        args.infer = False
    if args.keras_jit or args.accuracy:
        args.keras_python = keras_python(parser, args.keras_python)
    with tempfile.TemporaryDirectory(prefix="convscope-bench-") as tmp:
        (accuracy if args.accuracy else throughput)(args, models, Path(tmp))


if __name__ == "__main__":
    main()
