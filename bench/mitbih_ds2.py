"""MIT-BIH inter-patient benchmark: train on DS1, score DS2 per class (Se, +P) over several seeds.

    python bench/mitbih_ds2.py --config examples/mitbih-ds1-ds2.yaml --seeds 0 1 2 \
        --mitdb /work/shared/data/mitdb --out bench/results/mitbih-ds2.json [--set KEY=VALUE ...]

Each seed is one ``convscope.run`` (stored under ``--home``); the script reads the run's stored test and
validation confusion matrices (best-validation weights) and computes, per AAMI class, sensitivity and
positive predictive value (``convscope.train.metrics.class_table``: the numbers ``convscope show`` prints),
plus accuracy, and prints mean +- std over the seeds next to the published numbers and the targets, and
per seed the records and true classes the false positives come from; with two or more seeds, also the seeds'
ensemble (``convscope ensemble --how mean``: the mean of their probabilities per test beat). ``--set data.split.by=beat``
gives the flattering beat-level split for comparison. Needs the mitdb folder; exits 2 naming it when absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

import convscope
from convscope.config import load_config
from convscope.data import load_data
from convscope.ensemble import ensemble
from convscope.errors import ConvscopeError
from convscope.train.metrics import class_table

PUBLISHED = {  # inter-patient DS1 -> DS2, (Se %, +P %)
    "de Chazal et al. 2004": {"S": (75.9, 38.5), "V": (77.7, 81.9)},
    "Mousavi & Afghah 2019": {"S": (88.9, 92.6), "V": (99.9, 99.5)},
}
TARGETS = {"V": (90.0, 90.0), "S": (75.0, 50.0)}  # issue 11: ahead of de Chazal on all four


def scores(confusion: list[list[int]], class_names: list[str]) -> dict[str, float]:
    """Per-class Se and +P (percent), accuracy and macro F1 of a stored confusion matrix (convscope.train.metrics'
    per-class table: what ``convscope show`` prints for the run)."""
    table = class_table(confusion, class_names)
    out = {"accuracy": 100 * table.accuracy, "macro_f1": 100 * table.macro.f1}
    for row in table.rows:
        out[f"{row.name}_se"], out[f"{row.name}_ppv"] = 100 * row.sensitivity, 100 * row.ppv
    return out


def false_positives(y: np.ndarray, pred: np.ndarray, ids: np.ndarray | None, class_names: list[str],
                    *, top: int = 4) -> dict[str, list[str]]:
    """Where each class's false positives come from: ``{"S": ["222 N 310", ...]}`` (record, true class, count),
    the ``top`` largest sources first."""
    if ids is None:
        return {}
    out = {}
    for k, name in enumerate(class_names):
        wrong = (pred == k) & (y != k)
        sources = Counter(zip(ids[wrong].tolist(), y[wrong].tolist(), strict=True)).most_common(top)
        out[name] = [f"{record} {class_names[true]} {n}" for (record, true), n in sources]
    return out


def one_seed(config: str, seed: int, overrides: list[str], home: str) -> dict:
    sets = [*overrides, f"seed={seed}"]
    cfg = load_config(config, overrides=sets)
    start, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    run = convscope.run(config, overrides=sets, home=home)
    train_s = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime  # what the run itself used: the
    # machine is shared, so wall time also counts other people's processes
    data = load_data(cfg.data, seed=cfg.seed)  # cached: the same beats the run was scored on
    # the run's own test and validation confusion matrices (best-validation weights, the run's precision)
    result = scores(run.info.test_confusion, data.class_names)
    # the DS1 validation patients' scores: what a choice of settings may look at
    result.update({f"val_{k}": v for k, v in scores(run.info.val_confusion, data.class_names).items()})
    with torch.no_grad():  # per-record sources of false positives (float32 predictions, so within a beat or
        # two of the stored confusion where bf16 autocast trained the run)
        prob = torch.cat([run.model.eval()(x).softmax(1) for x in data.x_test.split(4096)]).numpy()  # (N, K)
    result.update(seed=seed, run_id=run.id, wall_s=train_s, cpu_s=cpu_s, epochs=len(run.history),
                  val_records=data.assignment.get("val", []), confusion=run.info.test_confusion,
                  false_positives=false_positives(data.y_test.numpy(), prob.argmax(1), data.ids.get("test"),
                                                  data.class_names))
    print(f"seed {seed}: " + "  ".join(f"{k} {v:.1f}" for k, v in result.items() if isinstance(v, float)), flush=True)
    print(f"  false positives (record, true class, beats): {result['false_positives']}", flush=True)
    return result


def mitbih_arguments(ap: argparse.ArgumentParser, *, home: str) -> None:
    """The options the MIT-BIH benches share (this one and mitbih_cv.py): config, mitdb, seeds, --set, home, out."""
    ap.add_argument("--config", default="examples/mitbih-ds1-ds2.yaml")
    ap.add_argument("--mitdb", default="/work/shared/data/mitdb")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--home", default=home)
    ap.add_argument("--out", default=None)


def no_mitdb(folder: str) -> bool:
    """True (after one line on stderr) when ``folder`` is not a MIT-BIH folder: the benches then exit 2."""
    if Path(folder).is_dir():
        return False
    print(f"error: {folder}: no MIT-BIH folder (PhysioNet mitdb 1.0.0: NNN.hea/.dat/.atr)", file=sys.stderr)
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mitbih_arguments(ap, home="/tmp/convscope-mitbih-runs")
    args = ap.parse_args()
    if no_mitdb(args.mitdb):
        return 2
    overrides = [f"data.path={args.mitdb}", *args.overrides]
    runs = [one_seed(args.config, s, overrides, args.home) for s in args.seeds]
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    summary = {k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs]))) for k in keys}
    print(f"\n{len(runs)} seeds, mean +- std:")
    for k in keys:
        print(f"  {k:10s} {summary[k][0]:6.1f} +- {summary[k][1]:.1f}")
    mean_of_seeds = None
    if len(runs) > 1:
        try:
            combined = ensemble([r["run_id"] for r in runs], how="mean", home=args.home)
            mean_of_seeds = scores(combined.table.confusion, [row.name for row in combined.table.rows])
            print(f"  ensemble of {len(runs)} seeds (mean probability): "
                  + "  ".join(f"{k} {v:.1f}" for k, v in mean_of_seeds.items()))
        except ConvscopeError as exc:  # a beat-level split: each seed drew its own test set
            print(f"  no ensemble: {exc.message}")
    for cls, (se_t, ppv_t) in TARGETS.items():
        se, ppv = summary[f"{cls}_se"][0], summary[f"{cls}_ppv"][0]
        print(f"  target {cls}: Se {se:.1f} (>= {se_t}) {'met' if se >= se_t else 'MISSED'}, "
              f"+P {ppv:.1f} (>= {ppv_t}) {'met' if ppv >= ppv_t else 'MISSED'}")
    for paper, numbers in PUBLISHED.items():
        print(f"  {paper}: " + ", ".join(f"{c} Se {s} / +P {p}" for c, (s, p) in numbers.items()))
    report = {"config": args.config, "overrides": overrides, "seeds": args.seeds, "runs": runs, "summary": summary,
              "ensemble": mean_of_seeds, **machine(), "python": platform.python_version(), "torch": torch.__version__}
    write_report(report, args.out)
    return 0


def machine() -> dict:
    """The CPU's model name and the load average after the runs, for the report."""
    cpu = subprocess.run(["grep", "-m1", "model name", "/proc/cpuinfo"], capture_output=True, text=True).stdout
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    return {"cpu": cpu.split(":", 1)[-1].strip(), "load_after": load}


def write_report(report: dict, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
