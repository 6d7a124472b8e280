"""MIT-BIH: patient-wise k-fold cross-validation on DS1 alone — choose settings without looking at DS2.

    python bench/mitbih_cv.py --config examples/mitbih-ds1-ds2.yaml --seeds 0 1 2 --folds 5 \
        --mitdb /work/shared/data/mitdb --out bench/results/mitbih-cv.json [--set KEY=VALUE ...]

The config's record-level split names the training records (DS1) and the test records (DS2). This script
never reads DS2: its records join ``data.exclude_records``, so the loader does not open their files, and
every fold's data is checked to hold DS1 records only (``tests/bench/test_mitbih_cv.py`` proves it on
fixtures whose DS2 files are unreadable). DS1's people are dealt into k folds by scikit-learn's
``StratifiedGroupKFold`` (beats stratified by class, grouped by person: ``data.patients``, so records 201
and 202 stay together), fixed by ``--fold-seed``: the same folds for every seed and every setting. Each
fold is one ``convscope.run`` with ``split: {train_records: the other folds, test_records: this fold}``,
the config's ``split.val`` carved by patient from the training folds to pick the best epoch as usual.

Every DS1 beat is then scored once, by a model that never saw its person. The folds' stored test
confusion matrices are summed ("pooled") and scored by ``bench/mitbih_ds2.py``'s ``scores`` (Se and +P
per class, accuracy, macro F1); printed per seed, as mean +- std over seeds, and for the ensemble of the
seeds (per held-out beat, the mean of their probabilities: ``convscope ensemble --how mean``'s rule),
next to issue 11's targets. Needs the mitdb folder; exits 2 naming it when absent.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

import convscope
from convscope.config import Config, load_config
from convscope.data import load_data
from convscope.data.load import find_source
from convscope.data.record_splits import record_lists
from convscope.inference.engine import infer_run
from convscope.train.metrics import confusion as confusion_of

sys.path.insert(0, str(Path(__file__).parent))
from mitbih_ds2 import (  # noqa: E402  (bench/ is not a package)
    TARGETS,
    false_positives,
    machine,
    mitbih_arguments,
    no_mitdb,
    scores,
    write_report,
)

SHOWN = ("S_se", "S_ppv", "V_se", "V_ppv", "N_se", "N_ppv", "F_se", "F_ppv", "macro_f1", "accuracy")


def _cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def ds1_only(config: str | Path | dict, overrides: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``(DS1 records, DS2 records, overrides)``: the config's record split's two lists, and the overrides
    that keep DS2 out of every read (its records added to ``data.exclude_records``).

    Raises:
        SystemExit: the config has no record-level split, or splits by beat (no person-wise folds then).
    """
    cfg = load_config(config, overrides=overrides)
    split = cfg.data.split
    if split.preset is None and split.train_records is None:
        raise SystemExit(f"{config}: data.split names no records (give split: {{preset: ...}} or train_records/"
                         "test_records): cross-validation runs on the training records alone")
    if split.by != "record":
        raise SystemExit(f"{config}: data.split.by is {split.by!r}: cross-validation by person needs by: record")
    ds1, ds2, _ = record_lists(split)
    excluded = [str(r) for r in cfg.data.options.get("exclude_records", [])]
    excluded += [r for r in ds2 if r not in excluded]
    return ds1, ds2, [*overrides, f"data.exclude_records={json.dumps(excluded)}", "data.split.preset=null"]


def check_ds1_only(records: set[str], ds2: list[str], *, where: str) -> None:
    """Raise when ``records`` (what a load returned) holds a DS2 record: the guarantee this script gives."""
    leaked = sorted(records & set(ds2))
    if leaked:
        raise RuntimeError(f"{where}: DS2 record {leaked[0]} was read; cross-validation must see DS1 alone")


def patient_folds(cfg: Config, ds1: list[str], ds2: list[str], *, k: int, seed: int) -> list[list[str]]:
    """DS1's records dealt into ``k`` folds by person (``StratifiedGroupKFold``: each fold's class mix close to
    the whole's, no person in two folds); each fold's records sorted."""
    source = find_source(cfg.data.source)(cfg.data)  # (B, C, L) beats of the records not excluded
    ids = source.train.ids.astype(str)  # (B,) record of each beat
    check_ds1_only(set(ids.tolist()), ds2, where="the DS1 source")
    keep = np.isin(ids, ds1)  # records in neither list (none in MIT-BIH's) take no part
    groups = source.train.groups.astype(str) if source.train.groups is not None else ids  # (B,) person
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = splitter.split(np.zeros(int(keep.sum())), source.train.y[keep], groups[keep])
    return [sorted(set(ids[keep][held].tolist())) for _, held in folds]


@dataclass
class Fold:
    """One trained fold: what the report keeps, and the held-out beats' probabilities for the ensemble."""

    record: dict  # run id, held-out and validation records, epochs, CPU and wall seconds, stored confusion
    prob: np.ndarray  # (B, K) held-out beats' class probabilities (best-validation weights, the run's precision)
    y: np.ndarray  # (B,) their classes
    ids: np.ndarray  # (B,) their records
    class_names: list[str]


def run_fold(config: str | Path | dict, overrides: list[str], *, seed: int, held: list[str], ds1: list[str],
             ds2: list[str], home: str | Path) -> Fold:
    """Train on DS1 minus ``held`` (validation carved from those people), test on ``held``."""
    train = [r for r in ds1 if r not in held]
    sets = [*overrides, f"data.split.train_records={json.dumps(train)}",
            f"data.split.test_records={json.dumps(held)}", f"seed={seed}"]
    cpu, start = _cpu_s(), time.perf_counter()
    run = convscope.run(config, overrides=sets, home=home, progress=False)
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    data = load_data(run.config.data, seed=run.config.seed)  # cached: the beats the run was scored on
    check_ds1_only({r for part in data.assignment.values() for r in part}, ds2, where=f"fold {held}")
    if sorted(data.assignment["test"]) != sorted(held):
        raise RuntimeError(f"fold {held}: the run tested {data.assignment['test']}")
    prob = infer_run(run, data.x_test)[1]  # (B, K) as the run's own test was scored
    y = data.y_test.numpy()
    stored = np.asarray(run.info.test_confusion)
    record = {"held": held, "val": data.assignment["val"], "run_id": run.id, "wall_s": wall, "cpu_s": cpu,
              "epochs": len(run.history), "best_epoch": run.best_epoch, "confusion": stored.tolist(),
              # beats whose re-inferred class differs from the stored confusion (0 when inference repeats it)
              "reinferred_differs": int(np.abs(confusion_of(y, prob) - stored).sum() // 2)}
    return Fold(record, prob, y, data.ids["test"].astype(str), data.class_names)


def pooled(confusions: list[np.ndarray], class_names: list[str]) -> dict[str, float]:
    """The scores of the folds' confusion matrices summed: every DS1 beat counted once."""
    return scores(np.sum(confusions, axis=0).tolist(), class_names)


def line(label: str, numbers: dict, spread: dict | None = None) -> str:
    cells = [f"{k} {numbers[k]:.1f}" + (f"+-{spread[k]:.1f}" if spread else "") for k in SHOWN if k in numbers]
    return f"{label}: " + "  ".join(cells)


def cross_validate(config: str | Path | dict, overrides: list[str], *, seeds: list[int], k: int, fold_seed: int,
                   home: str | Path) -> dict:
    """Every seed over the same ``k`` person-wise folds of DS1, pooled; then the seeds' mean-probability
    ensemble. Returns the JSON report (folds, per-seed and ensemble scores, mean and std over seeds)."""
    ds1, ds2, overrides = ds1_only(config, overrides)
    cfg = load_config(config, overrides=overrides)
    folds = patient_folds(cfg, ds1, ds2, k=k, seed=fold_seed)
    print(f"{k} folds of DS1 by person (fold seed {fold_seed}): {folds}", flush=True)
    names: list[str] = []
    per_seed, probs = [], []  # probs[seed][fold]: (B_fold, K)
    labels: list[np.ndarray] = []
    records: list[np.ndarray] = []
    for seed in seeds:
        runs, seed_probs = [], []
        for held in folds:
            fold = run_fold(config, overrides, seed=seed, held=held, ds1=ds1, ds2=ds2, home=home)
            names, record = fold.class_names, fold.record
            if len(labels) < len(folds):
                labels.append(fold.y)
                records.append(fold.ids)
            elif not np.array_equal(labels[len(seed_probs)], fold.y):  # the ensemble averages beat by beat
                raise RuntimeError(f"fold {held}: seed {seed} tested other beats than seed {seeds[0]}")
            runs.append(record)
            seed_probs.append(fold.prob)
            print(f"  seed {seed} fold {held}: run {record['run_id']}, {record['epochs']} epochs (best "
                  f"{record['best_epoch']}), {record['cpu_s']:.0f} CPU s, {record['wall_s']:.0f} s wall", flush=True)
        result = pooled([np.asarray(r["confusion"]) for r in runs], names)
        pred = np.concatenate([p.argmax(1) for p in seed_probs])
        result.update(seed=seed, folds=runs, cpu_s=sum(r["cpu_s"] for r in runs), wall_s=sum(r["wall_s"] for r in runs),
                      false_positives=false_positives(np.concatenate(labels), pred, np.concatenate(records), names))
        print(line(f"seed {seed} pooled", result), flush=True)
        per_seed.append(result)
        probs.append(seed_probs)
    keys = [key for key, v in per_seed[0].items() if isinstance(v, float) and key not in ("cpu_s", "wall_s")]
    mean = {key: float(np.mean([r[key] for r in per_seed])) for key in keys}
    std = {key: float(np.std([r[key] for r in per_seed])) for key in keys}
    report = {"config": config if isinstance(config, dict) else str(config), "overrides": overrides, "seeds": seeds, "folds": folds, "fold_seed": fold_seed,
              "ds1": ds1, "per_seed": per_seed, "mean": mean, "std": std,
              "cpu_s": sum(r["cpu_s"] for r in per_seed), "wall_s": sum(r["wall_s"] for r in per_seed)}
    print(line(f"{len(seeds)} seeds, mean +- std", mean, std), flush=True)
    if len(seeds) > 1:
        mean_prob = [np.mean([p[f] for p in probs], axis=0) for f in range(len(folds))]  # (B_fold, K) each
        ensemble = pooled([confusion_of(y, p) for y, p in zip(labels, mean_prob, strict=True)], names)
        ensemble["false_positives"] = false_positives(np.concatenate(labels), np.concatenate(mean_prob).argmax(1),
                                                      np.concatenate(records), names)
        report["ensemble"] = ensemble
        print(line(f"ensemble of {len(seeds)} seeds (mean probability)", ensemble), flush=True)
    for cls, (se_t, ppv_t) in TARGETS.items():
        print(f"  target {cls}: Se >= {se_t} (mean {mean[f'{cls}_se']:.1f}), +P >= {ppv_t} (mean {mean[f'{cls}_ppv']:.1f})")
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mitbih_arguments(ap, home="/tmp/convscope-mitbih-cv")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold-seed", type=int, default=0, help="deals the people into folds (keep it to compare settings)")
    args = ap.parse_args()
    if no_mitdb(args.mitdb):
        return 2
    report = cross_validate(args.config, [f"data.path={args.mitdb}", *args.overrides], seeds=args.seeds,
                            k=args.folds, fold_seed=args.fold_seed, home=args.home)
    report.update(**machine(), sets=args.overrides)
    print(f"CPU {report['cpu_s']:.0f} s, wall {report['wall_s']:.0f} s (training + scoring, all folds and seeds), "
          f"load after {' '.join(report['load_after'])}")
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
