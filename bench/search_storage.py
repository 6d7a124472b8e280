"""Which Optuna storage for a search: the journal file or SQLite, under parallel workers?

Each of N spawned processes runs the storage traffic of a convscope worker with the training taken
out: ask (TPE over 3 params), report an objective for each of E epochs and ask the pruner (ASHA),
tell. We count trials/s and errors (SQLite's "database is locked", optuna#820 / #4994) per storage.

    python bench/search_storage.py [--workers 2] [--trials 60] [--epochs 9]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import optuna


def make_storage(kind: str, folder: Path) -> optuna.storages.BaseStorage:
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(folder / "search.journal")))
    return optuna.storages.RDBStorage(f"sqlite:///{folder / 'search.db'}")


def worker(kind: str, folder: str, trials: int, epochs: int, seed: int, out: multiprocessing.Queue) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="bench", storage=make_storage(kind, Path(folder)),
                              sampler=optuna.samplers.TPESampler(seed=seed),
                              pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    done = errors = 0
    first_error = ""
    for _ in range(trials):
        try:
            trial = study.ask()
            lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
            filters = trial.suggest_categorical("filters", [8, 16, 32])
            dropout = trial.suggest_float("dropout", 0.0, 0.7)
            state = optuna.trial.TrialState.COMPLETE
            value = 0.0
            for epoch in range(1, epochs + 1):
                value = 1 - abs(lr - 0.003) - dropout / 10 + filters / 1000 - 1 / (epoch + 1)
                trial.report(value, epoch)
                if trial.should_prune():
                    state = optuna.trial.TrialState.PRUNED
                    break
            if state == optuna.trial.TrialState.PRUNED:
                study.tell(trial, state=state)
            else:
                study.tell(trial, value)
            done += 1
        except Exception as exc:  # what a worker would see: count it, go on
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    out.put((done, errors, first_error))


def measure(kind: str, *, workers: int, trials: int, epochs: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"convscope-storage-{kind}-"))
    optuna.create_study(study_name="bench", storage=make_storage(kind, folder), direction="maximize")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(kind, str(folder), trials, epochs, i, queue)) for i in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    first = next((r[2] for r in results if r[2]), "")
    return {"kind": kind, "done": done, "errors": errors, "wall": wall, "rate": done / wall, "first": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=60, help="trials per worker")
    parser.add_argument("--epochs", type=int, default=9, help="reports (epochs) per trial")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"{args.workers} processes x {args.trials} trials x up to {args.epochs} reports + should_prune each")
    for kind in ("journal", "sqlite"):
        r = measure(kind, workers=args.workers, trials=args.trials, epochs=args.epochs)
        print(f"{kind:<8} {r['done']:>4} trials ok, {r['errors']:>3} errors, {r['wall']:6.1f} s, "
              f"{r['rate']:6.1f} trials/s  {r['first']}")


if __name__ == "__main__":
    main()
