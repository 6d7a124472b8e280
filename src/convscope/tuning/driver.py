"""The search driver: start or resume a search, run its workers, watch them, return the result.

A search is one config whose ``params`` hold ranges. The driver records it in the run store
(``searches`` table) and creates its Optuna study in a journal file next to the store; the workers
(local processes or Ray tasks, see ``local.py`` and ``ray.py``) do the trials; the driver only reads
and draws the live view.

Crash-resume: when a search process is killed, every finished trial is in the journal and the
store; each trial that was in flight is ``RUNNING`` in the journal and its run ``interrupted`` in the
store (the store marks runs whose process is gone). ``--resume NAME`` hands each such trial back to
a worker, which adopts the same Optuna trial and continues its run from the last finished epoch's
checkpoint; then the workers ask for new trials until the budget is met. So a resumed search ends
with exactly the trials (numbers, params and count) an uninterrupted one would have.

Example: :mod:`convscope.tuning` runs a search and loads it back.
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import yaml
from rich.console import Console

from convscope.errors import ConfigError
from convscope.store import Store
from convscope.store.search_info import SearchInfo
from convscope.train.loggers import SearchContext, SearchLoggers
from convscope.tuning.backends import make_backend
from convscope.tuning.backends.local import available_cores
from convscope.tuning.live import LiveView, print_summary
from convscope.tuning.names import resolve_name
from convscope.tuning.results import Search, TrialResult, load_search, poll_trials
from convscope.tuning.resume import changed, in_flight, read_config, resumed_config
from convscope.tuning.study import (
    SearchSetup,
    check_name,
    open_storage,
    open_study,
    storage_location,
)
from convscope.tuning.worker import ResumeTask, WorkerSpec, started

# -- starting and resuming ----------------------------------------------------------------------


def search(config: str | Path | dict | None = None, *, overrides: list[str] | None = None, name: str | None = None,
           workers: int | None = None, backend: str | None = None, address: str | None = None,
           resume: str | None = None, home: str | Path | None = None, progress: bool = True,
           console: Console | None = None) -> Search:
    """Run a hyperparameter search over a config's ``params`` ranges; every trial is a stored run.

    Args:
        config: a YAML path or a dict whose ``params`` hold ranges (see ``convscope.tuning.space``);
            optional with ``resume`` (the search's stored config is used).
        overrides: ``["search.trials=40", "train.epochs=5"]``, applied before anything else. With
            ``resume`` only ``search.trials``, ``workers`` and ``backend`` may change.
        name: the search's name in the store (default ``search.name``, else ``<config name>-<date>``).
        workers: parallel workers (default ``search.workers``).
        backend: ``local`` (spawned processes) or ``ray`` (default ``search.backend``).
        address: a Ray cluster to join (``HOST:PORT``); the ray backend only.
        resume: the name of a stopped search to continue: finished trials are kept, trials that were
            in flight continue from their last finished epoch, then new trials fill the budget.
        home: the run store (default ``$CONVSCOPE_HOME`` or ``./convscope-runs``).
        progress: draw the live table and the progress bar, then the best trial.
        console: where to draw (default: stdout).

    Returns:
        The :class:`Search`: its trials, and the best one's run id, params and objective.

    Example: see :mod:`convscope.tuning` (a two-trial grid search, then :func:`load_search`).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the live view reports trials, not Optuna's log
    store = Store(home)
    home_path = store.home.resolve()
    overrides = list(overrides or [])
    kept: SearchInfo | None = None  # how a resumed search ran
    if resume is not None:
        name = resolve_name(store, resume)
        raw, source, kept = resumed_config(store, name, config, overrides)
    elif config is None:
        raise ConfigError("search needs a config", hint="convscope search CONFIG.yaml (params with ranges)")
    else:
        raw, source = read_config(config, overrides)
    setup = SearchSetup.from_raw(raw, source=source)
    n_workers = workers or setup.search.workers
    kind = backend or setup.search.backend
    # the one place that decides a trial's torch threads: search.threads_per_worker, else the config's
    # train.threads, else an equal share of the cores; each trial's train.threads is set to it
    fixed = setup.cfg.train.threads if isinstance(setup.cfg.train.threads, int) else None  # not auto / None
    threads = setup.search.threads_per_worker or fixed or max(1, available_cores() // n_workers)
    if kept is not None:
        # a resumed search runs as it was started (thread counts change the numbers), unless the user says
        # otherwise: --workers / --backend, or search.workers / threads_per_worker / backend set anew
        n_workers = workers or (n_workers if changed(kept.other, raw, "workers", overrides) else kept.workers)
        kind = backend or (kind if changed(kept.other, raw, "backend", overrides) else kept.backend)
        threads = threads if changed(kept.other, raw, "threads_per_worker", overrides) else kept.threads
    objective = setup.objective

    if resume is None:
        name = _new_name(store, name or setup.search.name, setup.cfg.name)
        path = storage_location(store, name)
        if not store.is_server and Path(path).exists():
            Path(path).unlink()  # a journal whose search never got recorded (killed within its first second)
        study = open_study(name, open_storage(path, store=store), direction=objective.direction)
        tasks: list[ResumeTask] = []
    else:
        path = store.search(name)["storage"]
        study = open_study(name, open_storage(path, store=store))
        tasks = in_flight(home_path, study, name, objective)
    # train.log's search-level records (MLflow's parent run, TensorBoard's HParams columns)
    mirrors = SearchLoggers(setup.cfg.train.log, SearchContext(name, home_path, setup.cfg, setup.space,
                                                               resumed=resume is not None))
    info = SearchInfo(source=source, budget=setup.budget, strategy=setup.search.strategy,
                      pruner=setup.search.pruner, metric=objective.metric, direction=objective.direction,
                      workers=n_workers, threads=threads, backend=kind, note=setup.note, pid=os.getpid(),
                      host=socket.gethostname()).to_dict()
    if resume is None:
        store.create_search(name, config_yaml=yaml.safe_dump(raw, sort_keys=False), storage=str(path), info=info)
    else:
        store.set_search_status(name, "running", info=info)
    mirrors.begin()

    # no more workers than there are trials to run (a resumed, nearly done search may need one)
    count = min(n_workers, max(0, setup.budget - started(study)) + len(tasks))
    specs = [WorkerSpec(name=name, home=str(home_path), config=raw, threads=threads, workers=n_workers,
                        source=source, index=i, resume=tuple(tasks[i::count])) for i in range(count)]
    console = console or Console()
    view = (LiveView(name=name, budget=setup.budget, objective=objective, epochs=setup.cfg.train.epochs,
                     poll=lambda: poll_trials(store, study, name, objective), console=console, note=setup.note)
            if progress else None)
    try:
        _run_workers(make_backend(kind, address), specs, view)
    except BaseException:
        store.set_search_status(name, "interrupted")
        mirrors.end("interrupted")
        raise
    result = load_search(name, home=home_path)
    result.status = "finished" if result.finished >= setup.budget else "interrupted"
    store.set_search_status(name, result.status)
    mirrors.end(result.status)
    if progress:
        print_summary(result, console)
    return result


def _new_name(store: Store, name: str | None, config_name: str) -> str:
    """The given name (unused so far), or ``<config name>-<date-time>``."""
    known = {s["name"] for s in store.searches()}
    if name is None:
        stem = f"{config_name}-{datetime.now():%Y%m%d-%H%M%S}"
        name, n = stem, 1
        while name in known:
            n += 1
            name = f"{stem}-{n}"
    elif name in known:
        raise ConfigError(f"a search named '{name}' already exists in {store.home}",
                          hint=f"continue it with --resume {name}, or pick another --name")
    return check_name(name)


def _run_workers(runner: Any, specs: list[WorkerSpec], view: LiveView | None) -> None:
    """Start the workers, redraw the view until they end; on any interruption stop them (their runs
    end `interrupted`, so the search resumes) and re-raise."""
    try:
        with view or nullcontext():
            if specs:
                runner.start(specs)
            while runner.running():
                if view:
                    view.update()
                time.sleep(0.5)
            runner.close()
    except BaseException:
        runner.stop()
        raise


__all__ = ["Search", "TrialResult", "load_search", "search"]
