"""One search worker: ask Optuna for a trial, train it as a convscope run, tell Optuna how it went.

The local backend runs this loop in N spawned processes, the Ray backend in N Ray tasks; both hand
it a picklable :class:`WorkerSpec`. Workers share nothing but the run store (its database and the
artifact root) and the Optuna storage: two files next to an embedded store (the journal and
``runs.db``), or one PostgreSQL database on a cluster (``CONVSCOPE_STORE``, inherited by every worker).

On a PostgreSQL store a worker also beats Optuna's heartbeat for the trial it trains. When a worker
dies (its node is gone), any other worker that asks for a trial finds the dead trial's heartbeat
stale, Optuna marks it ``FAIL`` and enqueues a retry with the same params, and the worker that takes
the retry continues the dead trial's run from its last finished epoch (the run is relinked to the
retry's trial number). A worker whose budget is used up waits while other trials still run, so the
last worker standing picks up a trial whose node died.

A trial is a normal run (``convscope.run``) linked to the search: its row in the store carries the
search name, the trial number and the params, so ``convscope show ID`` works on any trial.

Fault isolation: a trial that raises is stored ``failed`` with its reason and told ``FAIL``; the
worker goes on with the next trial. Only an interrupt (Ctrl-C, a kill) stops a worker mid-trial, and
then the trial stays ``RUNNING`` in the journal and ``interrupted`` in the store, which is exactly
what ``--resume`` looks for.

Example (one worker in this process; the driver starts N of them through a backend):
    >>> import tempfile
    >>> from convscope.tuning.study import open_storage, open_study, storage_path
    >>> home, config = tempfile.mkdtemp(), {"data": {"source": "builtin:digits"},
    ...     "params": {"lr": {"grid": [0.01, 0.001]}}, "search": {"strategy": "grid"},
    ...     "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]},
    ...     "train": {"epochs": 1, "optimizer": {"lr": "${lr}"}}}
    >>> study = open_study("demo", open_storage(storage_path(home, "demo")), direction="minimize")
    >>> work(WorkerSpec(name="demo", home=home, config=config, threads=1))   # trials it finished
    2
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

from convscope import api
from convscope.config import Config
from convscope.errors import ConvscopeError
from convscope.store import Store
from convscope.store.db import RunTakenOver
from convscope.store.heartbeat import Heartbeat, heartbeat_seconds, stale_after
from convscope.store.status import RunStatus, has_objective
from convscope.train.callbacks import Callback
from convscope.tuning.pruners import make_pruner
from convscope.tuning.samplers import make_sampler
from convscope.tuning.space import suggest
from convscope.tuning.study import (
    Objective,
    PruningCallback,
    SearchSetup,
    open_storage,
    open_study,
    storage_location,
)


@dataclass(frozen=True)
class ResumeTask:
    """A trial that was in flight when its search was killed.

    Args:
        number: the Optuna trial number (still ``RUNNING`` in the journal).
        run_id: its interrupted run, continued from the last finished epoch; None when the trial was
            killed before its run was created (it then starts from scratch with the same params).
    """

    number: int
    run_id: int | None


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs (plain data, so it pickles for spawn and Ray).

    Args:
        name: the search (= Optuna study) name.
        home: the run store folder (absolute).
        config: the search's config as written, ranges included.
        threads: torch threads for each of this worker's trials (written into the trial's ``train.threads``,
            which the trainer applies: the search decides a worker's share, see ``driver.search``).
        workers: how many workers the search runs at once (TPE's constant-liar mode is on when > 1).
        source: the config's file name, for error messages.
        index: the worker's number (0-based), for logs.
        resume: in-flight trials this worker continues before asking for new ones.
    """

    name: str
    home: str
    config: dict[str, Any]
    threads: int
    workers: int = 1
    source: str = "<config>"
    index: int = 0
    resume: tuple[ResumeTask, ...] = ()


def retried(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of trials whose worker died and that were enqueued again (each counts once, as its retry)."""
    return {n for t in trials for n in t.system_attrs.get("retry_history", ())}


def started(study: optuna.Study) -> int:
    """Trials that count against the budget: every trial that was asked for (running or finished),
    a trial retried after its worker died counted once."""
    trials = study.get_trials(deepcopy=False)
    again = retried(trials)
    return sum(1 for t in trials if t.state != TrialState.WAITING and t.number not in again)


def beats(study: optuna.Study) -> bool:
    """True when the study's storage keeps trial heartbeats (the RDB storage of a PostgreSQL store)."""
    # study._storage, not the RDBStorage we opened: Optuna wraps it in a cache that forwards heartbeats
    return getattr(study._storage, "get_heartbeat_interval", lambda: None)() is not None


def tell_run(study: optuna.Study, trial: optuna.Trial | int, *, status: str, history: list[dict[str, Any]],
             objective: Objective, store: Store, run_id: int) -> float | None:
    """Tell Optuna how a finished run went, and record the trial's objective on the run.

    completed / early_stopped → ``COMPLETE`` with the best objective value; pruned → ``PRUNED``
    (Optuna keeps the last reported value); diverged / failed → ``FAIL``.
    """
    value = objective.best(history)
    if status == RunStatus.PRUNED:
        study.tell(trial, state=TrialState.PRUNED)
    elif has_objective(status) and value is not None:
        study.tell(trial, value)
    else:
        study.tell(trial, state=TrialState.FAIL)
    epoch = next((row["epoch"] for row in history if row.get(objective.metric) == value), None)
    store.update_info(run_id, objective={"metric": objective.metric, "direction": objective.direction,
                                         "value": value, "epoch": epoch})
    return value


def link_trial(trial: optuna.Trial, run_id: int, status: str) -> None:
    """Put the trial's convscope run on it as user attributes, which optuna-dashboard shows with the
    trial (``convscope dashboard``): from a trial to ``convscope show ID`` and its report."""
    trial.set_user_attr("run_id", run_id)
    trial.set_user_attr("status", str(status))
    trial.set_user_attr("show", f"convscope show {run_id}")


class TrialLink(Callback):
    """Links the trial to its run as soon as the run trains (the dashboard shows running trials' runs too)."""

    def __init__(self, trial: optuna.Trial, *, home: Path, search: str) -> None:
        self.trial, self.home, self.search = trial, home, search

    def on_train_begin(self, trainer: Any) -> None:
        store = Store(self.home)
        row = next((r for r in store.runs(search=self.search) if r["trial"] == self.trial.number), None)
        store.close()
        if row is not None:
            link_trial(self.trial, int(row["id"]), RunStatus.RUNNING)


class Worker:
    """A worker's handle on one search: the study, the store and the setup, in this process.

    Args:
        spec: see :class:`WorkerSpec`.
    """

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.setup = SearchSetup.from_raw(spec.config, source=spec.source)
        self.home = Path(spec.home)
        self.store = Store(self.home)
        self.study = open_study(spec.name, open_storage(storage_location(self.store, spec.name), store=self.store),
                                pruner=make_pruner(self.setup.search, epochs=self.setup.cfg.train.epochs))
        self.beats = beats(self.study)

    def _use_sampler_for(self, number: int) -> None:
        self.study.sampler = make_sampler(self.setup.search, self.setup.space, seed=self.setup.cfg.seed,
                                          trial_number=number, workers=self.spec.workers)

    def ask(self) -> tuple[optuna.Trial, dict[str, Any]] | None:
        """The next trial and its params (a dead worker's trial first), or None when the budget is met
        and no other worker's trial is still running."""
        while True:
            # "count the trials, then ask for one" is atomic across workers on every node
            with self.store.lock(f"search:{self.spec.name}"):
                if self.beats:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                        optuna.storages.fail_stale_trials(self.study)  # dead workers' trials → FAIL + a retry
                trials = self.study.get_trials(deepcopy=False)
                waiting = [t for t in trials if t.state == TrialState.WAITING]
                if waiting or started(self.study) < self.setup.budget:
                    # trial numbers are given in order of creation, and only this locked section creates
                    # trials; a retry samples nothing (its params are fixed), so its sampler does not matter
                    self._use_sampler_for(len(trials))
                    with warnings.catch_warnings():  # Optuna warns that heartbeats expect study.optimize
                        warnings.simplefilter("ignore", UserWarning)
                        trial = self.study.ask()
                    return trial, suggest(trial, self.setup.space)
                if not self.beats or not any(t.state == TrialState.RUNNING for t in trials):
                    return None
            time.sleep(heartbeat_seconds())  # other trials run: if one's node dies, this worker takes it over

    def reclaim(self, task: ResumeTask) -> tuple[optuna.Trial, dict[str, Any]]:
        """The ``RUNNING`` trial a killed worker left behind, as a live trial this worker can report to."""
        frozen = next(t for t in self.study.get_trials(deepcopy=False) if t.number == task.number)
        self._use_sampler_for(task.number)
        # Optuna has no public "adopt a running trial"; Trial(study, id) is what study.ask() builds,
        # and the journal lets any process update a RUNNING trial
        trial = optuna.trial.Trial(self.study, frozen._trial_id)
        return trial, suggest(trial, self.setup.space)  # the values it already holds (a killed ask: the rest)

    def run(self, trial: optuna.Trial, params: dict[str, Any], *, resume_run: int | None = None) -> str:
        """Train one trial (or continue its interrupted run) and tell Optuna; returns the run's status."""
        beat = (Heartbeat(lambda: self.study._storage.record_heartbeat(trial._trial_id) or True,
                          interval=heartbeat_seconds()) if self.beats else None)
        if beat is not None:
            self.study._storage.record_heartbeat(trial._trial_id)
        try:
            row = self._run_of_retried(trial) if resume_run is None else None
            if row is not None:
                store = Store(self.home)
                store.relink_trial(row["id"], trial.number)
                if row["status"] != "interrupted":
                    # its worker died after the run ended but before telling Optuna: tell, do not train again
                    tell_run(self.study, trial, status=row["status"], history=store.epochs(row["id"]),
                             objective=self.setup.objective, store=store, run_id=row["id"])
                    return str(row["status"])
                resume_run = int(row["id"])
            return self._train(trial, params, resume_run=resume_run)
        finally:
            if beat is not None:
                beat.stop()

    def _run_of_retried(self, trial: optuna.Trial) -> dict[str, Any] | None:
        """For a retry of a trial whose worker died: that trial's run once it is no longer ``running``
        (the store marks it interrupted when its heartbeat stops); None for any other trial, or when the
        dead trial never got a run."""
        history = trial.study._storage.get_trial(trial._trial_id).system_attrs.get("retry_history", [])
        if not history:
            return None
        deadline = time.monotonic() + 2 * stale_after()
        while True:
            store = Store(self.home)  # opening a store marks runs without a heartbeat interrupted
            rows = [r for r in store.runs(search=self.spec.name) if r["trial"] in history]
            if not rows or rows[0]["status"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(heartbeat_seconds())
        return rows[0] if rows and rows[0]["status"] != "running" else None

    def _train(self, trial: optuna.Trial, params: dict[str, Any], *, resume_run: int | None) -> str:
        search = self.setup.search
        callbacks = [TrialLink(trial, home=self.home, search=self.spec.name),
                     PruningCallback(trial, self.setup.objective, pruner=search.pruner, min_epochs=search.min_epochs)]
        try:
            if resume_run is not None:
                result = api.run(home=self.home, callbacks=callbacks, resume=resume_run, progress=False)
            else:
                result = api.run(self.trial_config(params), home=self.home, callbacks=callbacks, progress=False,
                                 search=self.spec.name, trial=trial.number, params=params)
        except RunTakenOver:
            # this worker was declared dead (no heartbeat) and its trial was retried elsewhere: that copy
            # owns the run and the trial now, so this one records nothing and goes on
            return "interrupted"
        except Exception as exc:  # fault isolation: any error ends this trial, never the search
            # every trial comes from the search's one config file: its leaderboard reasons leave the name out
            reason = (exc.message.removeprefix(f"{self.setup.source}: ") if isinstance(exc, ConvscopeError)
                      else f"{type(exc).__name__}: {exc}")
            store = Store(self.home)
            run_id = self._failed_run(store, trial.number, params, reason)
            link_trial(trial, run_id, RunStatus.FAILED)
            self.study.tell(trial, state=TrialState.FAIL)
            store.update_info(run_id, objective={"metric": self.setup.objective.metric, "value": None})
            store.close()
            return RunStatus.FAILED
        link_trial(trial, result.id, result.status)
        store = Store(self.home)
        tell_run(self.study, trial, status=result.status, history=result.history, objective=self.setup.objective,
                 store=store, run_id=result.id)
        store.close()
        return result.status

    def trial_config(self, params: dict[str, Any]) -> Config:
        """The trial's config, with this worker's share of the cores as its ``train.threads``, and the search
        objective as its ``train.monitor`` (when it is a validation metric): the checkpoint, and so the test
        metrics, come from the epoch the leaderboard ranks the trial by."""
        cfg = self.setup.trial_config(params)
        cfg.train.threads = self.spec.threads
        if self.setup.objective.metric.startswith("val_"):
            cfg.train.monitor = self.setup.objective.metric
        return cfg

    def _failed_run(self, store: Store, number: int, params: dict[str, Any], reason: str) -> int:
        """The trial's run row, marked failed; created when the trial failed before its run existed
        (a config value the schema rejects, a model whose shapes cannot work)."""
        rows = [r for r in store.runs(search=self.spec.name) if r["trial"] == number]
        if rows:
            if rows[0]["status"] == RunStatus.RUNNING:
                store.finish_run(rows[0]["id"], status=RunStatus.FAILED, reason=reason)
            return int(rows[0]["id"])
        raw = self.setup.trial_raw(params)
        try:
            config_yaml = self.setup.trial_config(params).to_yaml()
        except ConvscopeError:
            config_yaml = yaml.safe_dump(raw, sort_keys=False)  # as written: `convscope show` then explains
        run_id = store.create_run(name=str(raw.get("name", "experiment")), config_yaml=config_yaml,
                                  seed=self.setup.cfg.seed, env=api.environment(), search=self.spec.name,
                                  trial=number, params=params)
        store.finish_run(run_id, status=RunStatus.FAILED, reason=reason)
        return run_id


def work(spec: WorkerSpec) -> int:
    """Run one worker to the end: continue ``spec.resume`` trials, then ask → run → tell until the
    search's budget is met. Returns how many trials this worker finished.

    Args:
        spec: see :class:`WorkerSpec`.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the driver's live view reports trials
    worker = Worker(spec)
    done = 0
    for task in spec.resume:
        trial, params = worker.reclaim(task)
        worker.run(trial, params, resume_run=task.run_id)
        done += 1
    while (asked := worker.ask()) is not None:
        worker.run(*asked)
        done += 1
    return done


__all__ = ["ResumeTask", "Worker", "WorkerSpec", "beats", "retried", "started", "tell_run", "work"]
