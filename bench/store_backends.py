"""The run store's backends under parallel search workers: SQLite + journal against PostgreSQL + RDB.

N spawned worker processes each run convscope's real worker loop with the training taken out:
``Worker.ask`` (the search lock, the budget, Optuna's ask), ``Store.create_run``, E x (``log_epoch`` +
``trial.report``), ``finish_run``, ``tell_run``. Printed per backend: trials/s, epoch rows/s, and the
checks that no row was lost and no trial ran twice. Then the cost of one ``convscope runs`` listing
(``Store.runs()``) with 10,000 runs in the store.

    CONVSCOPE_TEST_POSTGRES=postgresql://... python bench/store_backends.py [--workers 2] [--trials 40] [--epochs 5]

Without CONVSCOPE_TEST_POSTGRES only SQLite is measured (``.ci/postgres.sh`` starts a server).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

CONFIG = {
    "name": "bench", "seed": 0, "data": {"source": "builtin:digits"},
    "params": {"lr": {"loguniform": [1e-4, 1e-1]}, "filters": {"choice": [8, 16, 32]}},
    "model": {"layers": [{"conv": {"filters": "${filters}", "kernel": 3}}, "flatten", {"dense": 10}]},
    "train": {"epochs": 5, "optimizer": {"lr": "${lr}"}},
    "search": {"strategy": "random", "trials": 40, "objective": {"metric": "val_accuracy"}},
}


def work(env: dict[str, str], home: str, epochs: int, trials: int, ready: multiprocessing.Queue,
         go: multiprocessing.Event, out: multiprocessing.Queue) -> None:
    os.environ.update(env)
    import optuna

    from convscope.tuning.worker import Worker, WorkerSpec, tell_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    CONFIG["search"]["trials"] = trials
    worker = Worker(WorkerSpec(name="bench", home=home, config=CONFIG, threads=1))
    store = worker.store
    ready.put(os.getpid())
    go.wait()  # time the store traffic, not interpreter start-up and imports
    done = 0
    while (asked := worker.ask()) is not None:
        trial, params = asked
        run_id = store.create_run(name="bench", config_yaml="name: bench\n", seed=0, env={}, search="bench",
                                  trial=trial.number, params=params)
        history = []
        for epoch in range(1, epochs + 1):
            metrics = {"train_loss": 1.0 / epoch, "val_loss": 1.1 / epoch, "val_accuracy": 1 - 0.5 / epoch}
            store.log_epoch(run_id, epoch, metrics, 0.01, best_epoch=epoch, best_value=metrics["val_loss"])
            trial.report(metrics["val_accuracy"], epoch)
            history.append({"epoch": epoch, **metrics})
        store.finish_run(run_id, status="completed", reason="bench")
        tell_run(worker.study, trial, status="completed", history=history, objective=worker.setup.objective,
                 store=store, run_id=run_id)
        done += 1
    store.close()
    out.put(done)


def measure(name: str, env: dict[str, str], *, workers: int, trials: int, epochs: int) -> None:
    os.environ.update(env)
    import optuna
    from optuna.trial import TrialState

    from convscope.store import Store
    from convscope.tuning.study import open_storage, open_study, storage_location

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    home = tempfile.mkdtemp(prefix="convscope-bench-")
    store = Store(home)
    storage = open_storage(storage_location(store, "bench"), store=store)
    study = open_study("bench", storage, direction="maximize")
    store.create_search("bench", config_yaml="", storage=storage_location(store, "bench"))
    ctx = multiprocessing.get_context("spawn")
    queue, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=work, args=(env, home, epochs, trials, ready, go, queue)) for _ in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)
    start = time.perf_counter()
    go.set()
    finished = [queue.get(timeout=600) for _ in procs]
    seconds = time.perf_counter() - start
    for p in procs:
        p.join()
    runs = store.runs(search="bench")
    epoch_rows = sum(len(store.epochs(r["id"])) for r in runs)
    numbers = [r["trial"] for r in runs]
    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    lost = trials * epochs - epoch_rows
    twice = len(numbers) - len(set(numbers))
    print(f"{name:<22} {workers} workers x {trials} trials x {epochs} epochs: {seconds:6.2f} s, "
          f"{trials / seconds:6.1f} trials/s, {epoch_rows / seconds:7.1f} epoch rows/s; "
          f"runs {len(runs)}/{trials}, epoch rows lost {lost}, trials run twice {twice}, "
          f"Optuna COMPLETE {complete}/{trials}, per worker {finished}  "
          f"[{'ok' if lost == 0 and twice == 0 and len(runs) == trials == complete else 'FAILED'}]")


def listing(name: str, env: dict[str, str], *, runs: int = 10_000, repeats: int = 5) -> None:
    os.environ.update(env)
    from convscope.store import Store
    from convscope.store.schema import runs as table

    store = Store(tempfile.mkdtemp(prefix="convscope-bench-"))
    now = time.time()
    rows = [{"name": f"run-{i}", "status": "completed", "config": "name: x\nseed: 0\n" * 20, "seed": 0,
             "created": now, "finished": now, "epochs": 10, "best_epoch": 7, "best_value": 0.1, "monitor": "val_loss",
             "env": '{"torch": "2.13.0"}', "test": '{"test_accuracy": 0.98}', "notes": "[]",
             "info": '{"objective": {"value": 0.97}}', "params": '{"lr": 0.001}'} for i in range(runs)]
    with store._engine.begin() as conn:
        conn.execute(sa.insert(table), rows)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        listed = store.runs()
        times.append(time.perf_counter() - start)
    assert len(listed) == runs
    print(f"{name:<22} Store.runs() over {runs:,} runs: median {statistics.median(times) * 1000:7.1f} ms "
          f"(min {min(times) * 1000:.1f}, {repeats} repeats)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    backends = [("SQLite + journal", {"CONVSCOPE_STORE": ""})]
    base = os.environ.get("CONVSCOPE_TEST_POSTGRES")
    admin, schemas = None, []
    if base:
        admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool)
        for _ in range(2):
            schemas.append(f"bench_{uuid.uuid4().hex[:8]}")
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schemas[-1]}")
        backends.append(("PostgreSQL + RDB", {"CONVSCOPE_STORE": f"{base}?options=-csearch_path%3D{schemas[0]}"}))
    else:
        print("CONVSCOPE_TEST_POSTGRES is unset: measuring SQLite only")
    print(f"cpu: {_cpu()}; load: {os.getloadavg()[0]:.2f}")
    try:
        for name, env in backends:
            measure(name, env, workers=args.workers, trials=args.trials, epochs=args.epochs)
        for name, env in backends:
            if base and "PostgreSQL" in name:
                env = {"CONVSCOPE_STORE": f"{base}?options=-csearch_path%3D{schemas[1]}"}
            listing(name, env)
    finally:
        if admin is not None:
            for schema in schemas:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
