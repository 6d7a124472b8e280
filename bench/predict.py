"""Prediction benchmarks (printed, not asserted):

1. End-to-end prediction on a 30-minute two-lead record at 360 Hz: read -> filter, baseline, resample,
   windows, R peaks (NeuroKit2) and beats -> model -> CSV, in seconds per record-hour (target: under 2 s on
   2 cores). It uses MIT-BIH record 101 (leads MLII, V1) from /work/shared/data/mitdb when present and says
   so; otherwise a synthetic 30-minute record (NeuroKit2's ECGSYN), clearly labelled.
2. The exported ONNX model (onnxruntime) against PyTorch on the CPU at batch 1 and batch 256: latency ratio,
   against both convscope's evaluation path (``infer``: the run's precision) and the plain float32 module.

The model is a small beat classifier trained for one epoch on four other MIT-BIH records (class = record
group, an arbitrary label: this measures speed, not accuracy).

    python bench/predict.py [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

MITDB = Path(os.environ.get("CONVSCOPE_MITDB", "/work/shared/data/mitdb"))
TRAIN_RECORDS = {"a": ["105", "106"], "b": ["108", "109"]}  # MLII + V1 records, arbitrary classes
PREDICT_RECORD = "101"  # MLII + V1, 30:05 min at 360 Hz


def _cpu() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def _records(folder: Path) -> tuple[Path, Path, str]:
    """(training folder, the record to predict on, what it is)."""
    import wfdb

    train = folder / "train"
    train.mkdir()
    if all((MITDB / f"{r}.hea").is_file() for rs in TRAIN_RECORDS.values() for r in [*rs, PREDICT_RECORD]):
        for records in TRAIN_RECORDS.values():
            for r in records:
                for suffix in (".hea", ".dat"):
                    (train / f"{r}{suffix}").symlink_to(MITDB / f"{r}{suffix}")
        return train, MITDB / f"{PREDICT_RECORD}.hea", f"MIT-BIH record {PREDICT_RECORD} ({MITDB})"
    import neurokit2 as nk

    print(f"note: {MITDB} is absent: using SYNTHETIC ECGSYN records instead of MIT-BIH")
    for k, (_label, records) in enumerate(TRAIN_RECORDS.items()):
        for i, r in enumerate(records):
            ii = nk.ecg_simulate(duration=120, sampling_rate=360, heart_rate=60 + 30 * k, random_state=i + 10 * k)
            wfdb.wrsamp(r, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], p_signal=np.stack([ii, -0.5 * ii], 1),
                        fmt=["16", "16"], write_dir=str(train))
    ii = nk.ecg_simulate(duration=1800, sampling_rate=360, heart_rate=70, random_state=99)
    wfdb.wrsamp(PREDICT_RECORD, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"],
                p_signal=np.stack([ii, -0.5 * ii], 1), fmt=["16", "16"], write_dir=str(folder))
    return train, folder / f"{PREDICT_RECORD}.hea", "a SYNTHETIC 30-minute ECGSYN record"


def _train(train: Path, home: Path, *, baseline: bool):
    import convscope

    labels = {label: [f"{r}*" for r in records] for label, records in TRAIN_RECORDS.items()}
    cfg = {"name": f"bench-beats-baseline-{baseline}", "seed": 0,
           "data": {"source": "ecg-wfdb", "path": str(train), "layout": "flat", "labels": labels,
                    "leads": ["mlii", "v1"], "resample_hz": 250, "filter": [0.5, 40], "baseline": baseline,
                    "window_s": 10, "beats": True, "beat_s": 0.8, "split": {"val": 0.25, "test": 0.25}},
           "model": {"layers": [{"conv": {"filters": 16, "kernel": 7, "activation": "relu", "batchnorm": True}},
                                {"maxpool": 2},
                                {"conv": {"filters": 32, "kernel": 5, "activation": "relu", "batchnorm": True}},
                                {"maxpool": 2},
                                {"conv": {"filters": 32, "kernel": 5, "activation": "relu"}}, "global_avg_pool",
                                {"dense": {"units": 2, "activation": "softmax"}}]},
           "train": {"epochs": 1, "batch_size": 128, "health": False}}
    return convscope.run(cfg, home=home)


def end_to_end(run, record: Path, out: Path, repeats: int) -> None:
    from convscope.inference import infer_run
    from convscope.inference.predict import predict_inputs
    from convscope.inference.readers import read_inputs
    from convscope.inference.recipe import Recipe
    from convscope.inference.writers import write_rows

    predict_inputs(run, [record])  # warm-up: imports (neurokit2, scipy), oneDNN kernels
    totals = []
    for _ in range(repeats):
        start = time.perf_counter()
        rows = predict_inputs(run, [record])
        write_rows(rows, out)
        totals.append(time.perf_counter() - start)
    # where the time goes (one more pass, stage by stage)
    recipe = Recipe.for_run(run)
    t0 = time.perf_counter()
    (_, item), = read_inputs([record], recipe)
    t1 = time.perf_counter()
    x = recipe.samples(item)  # (beats, 2, 200)
    t2 = time.perf_counter()
    infer_run(run, x)
    t3 = time.perf_counter()
    hours = item.data.shape[1] / item.fs / 3600
    best = min(totals)
    print(f"end to end: {rows[0]['n_beats']} beats from {item.data.shape[1] / item.fs / 60:.1f} min; "
          f"best of {repeats}: {best:.2f} s = {best / hours:.2f} s per record-hour "
          f"(median {statistics.median(totals) / hours:.2f}; target < 2)")
    print(f"  stages: read {t1 - t0:.2f} s, pipeline (resample, filter, baseline, windows, R peaks, beats) "
          f"{t2 - t1:.2f} s, model {t3 - t2:.3f} s, CSV: the rest")


def _latency(fn, x: np.ndarray, repeats: int) -> float:
    fn(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def onnx_vs_torch(run, folder: Path, threads: int) -> None:
    import onnxruntime as ort

    from convscope.inference import InferenceSettings, Predictor, infer
    from convscope.inference.export import export_run

    result = export_run(run, fmt="onnx", out=folder / "model.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(result.path), options, providers=["CPUExecutionProvider"])
    settings = InferenceSettings.for_run(run)
    model = run.model
    rng = np.random.default_rng(0)
    print(f"ONNX (onnxruntime {ort.__version__}) vs PyTorch {torch.__version__}, {threads} threads; "
          f"export verified: largest |logit diff| {result.max_abs_diff:.2g}")
    for batch, repeats in ((1, 200), (256, 20)):
        x = rng.standard_normal((batch, *model.input_shape)).astype(np.float32)

        def onnx(x: np.ndarray) -> None:
            session.run(None, {"x": x})

        def convscope_path(x: np.ndarray) -> None:
            infer(model, x, precision=settings.precision, batch_size=settings.batch_size,
                  channels_last=settings.channels_last)

        predictor = Predictor(model, precision=settings.precision, batch_size=settings.batch_size,
                              channels_last=settings.channels_last)

        def kept_twin(x: np.ndarray, predictor: Predictor = predictor) -> None:
            predictor(x)

        def eager(x: np.ndarray) -> None:
            with torch.inference_mode():
                model(torch.from_numpy(x))

        t_onnx, t_cs, t_kept, t_eager = (_latency(f, x, repeats) for f in (onnx, convscope_path, kept_twin, eager))
        print(f"  batch {batch:>3}: onnxruntime {1e3 * t_onnx:.3f} ms | convscope infer ({settings.precision}) "
              f"{1e3 * t_cs:.3f} ms = {t_cs / t_onnx:.2f}x | Predictor (twin kept) {1e3 * t_kept:.3f} ms = "
              f"{t_kept / t_onnx:.2f}x | eager fp32 module {1e3 * t_eager:.3f} ms = {t_eager / t_onnx:.2f}x onnx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    print(f"CPU: {_cpu()}, {os.cpu_count()} cores, torch threads {args.threads}, load {load[0]:.2f} {load[1]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train, record, what = _records(folder)
        print(f"predicting on {what}")
        for baseline in (True, False):
            run = _train(train, folder / "home", baseline=baseline)
            print(f"pipeline: leads MLII+V1, 360 -> 250 Hz, band-pass 0.5-40 Hz, baseline removal {baseline}, "
                  f"10 s windows, 0.8 s beats; model: run {run.id}, precision {run.info.env['precision']}")
            end_to_end(run, record, folder / "preds.csv", args.repeats)
        onnx_vs_torch(run, folder, args.threads)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
