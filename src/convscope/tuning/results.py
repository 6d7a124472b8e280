"""A search as the store and its journal know it: each trial's result, the best one, ``load_search``.

The driver writes a search; this module reads one (finished, running or interrupted), for the driver's
live view and summary, ``convscope runs --search`` and the search report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from convscope.store import Store
from convscope.store.clock import active_seconds
from convscope.store.search_info import SearchInfo
from convscope.store.status import RunStatus
from convscope.tuning.names import resolve_name
from convscope.tuning.ranking import best_trial, leaderboard
from convscope.tuning.study import Objective, open_storage, open_study
from convscope.tuning.worker import retried

_FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass
class TrialResult:
    """One trial of a search, as the journal and the run store know it.

    Attributes:
        number: Optuna's trial number (0-based).
        status: the run's status (completed, early_stopped, pruned, diverged, failed, interrupted,
            running), or ``starting`` before its run exists.
        params: the values it took.
        value: the objective: the best value its run reached (a pruned run: before it was pruned).
        run_id: its run in the store (``convscope show RUN_ID``).
        epochs: epochs trained.
        seconds: wall time so far.
        reason: why its run stopped.
        finished: Optuna has its final state (complete, pruned or failed).
    """

    number: int
    status: str
    params: dict[str, Any]
    value: float | None
    run_id: int | None
    epochs: int
    seconds: float | None
    reason: str | None
    finished: bool


@dataclass
class Search:
    """A search's outcome: its trials and the best one.

    Attributes:
        name: the search's name in the store.
        status: running | finished | interrupted.
        metric, direction: the objective.
        budget: how many trials the search runs.
        trials: every trial, by number.
        home: the run store.
        info: how it ran (strategy, pruner, workers, threads, backend), as the store recorded it.

    Example (two finished trials; a pruned trial never counts as the best):
        >>> trials = [TrialResult(0, "completed", {"lr": 0.1}, 0.91, 1, 3, 2.0, "ran all 3 epochs", True),
        ...           TrialResult(1, "pruned", {"lr": 0.01}, 0.95, 2, 1, 0.7, "pruned at epoch 1", True)]
        >>> result = Search("demo", "finished", "val_accuracy", "maximize", budget=2, trials=trials, home=Path("."))
        >>> result.best_run_id, result.best_params, result.epochs
        (1, {'lr': 0.1}, 4)
    """

    name: str
    status: str
    metric: str
    direction: str
    budget: int
    trials: list[TrialResult]
    home: Path
    info: SearchInfo | None = None

    @property
    def objective(self) -> Objective:
        return Objective(self.metric, self.direction)

    @property
    def best(self) -> TrialResult | None:
        """The completed trial with the best objective."""
        return best_trial(self.trials, self.objective)

    def leaderboard(self) -> list[TrialResult]:
        """Every trial, ranked ones first and best first (see :mod:`convscope.tuning.ranking`)."""
        return leaderboard(self.trials, self.objective)

    def _repr_html_(self) -> str:
        """Jupyter's rich display: the leaderboard, best first (see :mod:`convscope.tuning.search_html`)."""
        from convscope.tuning.search_html import search_html

        return search_html(self)

    @property
    def best_run_id(self) -> int | None:
        return self.best.run_id if self.best else None

    @property
    def best_params(self) -> dict[str, Any] | None:
        return self.best.params if self.best else None

    @property
    def best_value(self) -> float | None:
        return self.best.value if self.best else None

    @property
    def epochs(self) -> int:
        """Epochs trained over all trials (what a pruner saves)."""
        return sum(t.epochs for t in self.trials)

    @property
    def finished(self) -> int:
        return sum(1 for t in self.trials if t.finished)


# -- reading a search -------------------------------------------------------------------------


def poll_trials(store: Store, study: optuna.Study, name: str, objective: Objective) -> list[TrialResult]:
    """Every trial of the study, joined with its latest run in the store (values of unfinished ones: best so far)."""
    runs: dict[int, dict[str, Any]] = {}
    for row in store.runs(search=name):  # newest first: the latest run of a trial wins
        if row["trial"] is not None:
            runs.setdefault(int(row["trial"]), row)
    now = time.time()
    out = []
    trials = study.get_trials(deepcopy=False)
    again = retried(trials)
    for t in trials:
        if t.number in again:
            continue  # its worker died; its retry (same params, same run) is the trial
        row = runs.get(t.number)
        finished = t.state in _FINISHED_STATES
        if row is None:
            out.append(TrialResult(t.number, RunStatus.FAILED if finished else RunStatus.STARTING, dict(t.params), None, None, 0,
                                   None, None, finished))
            continue
        if t.state == TrialState.COMPLETE:
            value = t.value
        elif "objective" in row["info"]:
            value = row["info"]["objective"].get("value")
        else:  # in flight: the best so far
            value = objective.best(store.epochs(row["id"]))
        seconds = active_seconds(row, now)  # without the time it lay dead before a resume
        out.append(TrialResult(t.number, row["status"], dict(row["params"] or t.params), value, row["id"],
                               row["epochs"], seconds, row["reason"], finished))
    return out


def load_search(name: str, *, home: str | Path | None = None) -> Search:
    """A stored search by name (finished, running or interrupted).

    Args:
        name: the search's name (``convscope search ... --name``, or printed when it started), or its
            config's name: the newest search of that config (see :func:`~convscope.tuning.names.resolve_name`).
        home: the run store (default ``$CONVSCOPE_HOME`` or ``./convscope-runs``).

    Example: see :mod:`convscope.tuning`.
    """
    store = Store(home)
    name = resolve_name(store, name)
    row = store.search(name)
    info = SearchInfo.from_dict(row["info"])
    objective = Objective(info.metric, info.direction)
    study = open_study(name, open_storage(row["storage"], store=store))
    return Search(name=name, status=row["status"], metric=objective.metric, direction=objective.direction,
                  budget=int(info.budget), trials=poll_trials(store, study, name, objective), home=store.home,
                  info=info)


__all__ = ["Search", "TrialResult", "load_search", "poll_trials"]
