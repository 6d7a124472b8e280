"""The one ranking of a search's trials, used by the summary, the leaderboard, the live view and the report.

A trial ranks when its run has an objective (completed or early-stopped, see
:class:`~convscope.store.status.RunStatus`); the best is the one with the best objective, ties going to
the earlier trial. The leaderboard lists every trial: ranked ones first, best first, then the ones in
flight, then those that stopped without a result (interrupted, pruned, diverged, failed).

Example:
    >>> from types import SimpleNamespace as T
    >>> from convscope.tuning.study import Objective
    >>> trials = [T(number=0, status="pruned", value=0.9), T(number=1, status="completed", value=0.7),
    ...           T(number=2, status="completed", value=0.8), T(number=3, status="running", value=None)]
    >>> best_trial(trials, Objective("val_accuracy", "maximize")).number
    2
    >>> [t.number for t in leaderboard(trials, Objective("val_accuracy", "maximize"))]
    [2, 1, 3, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from convscope.store.status import has_objective, status_rank
from convscope.tuning.study import Objective


class Ranked(Protocol):
    number: int
    status: str
    value: float | None


T = TypeVar("T", bound=Any)


def is_ranked(trial: Ranked) -> bool:
    """The trial has a final objective value (its run ran to its end)."""
    return has_objective(trial.status) and trial.value is not None


def ranked(trials: Sequence[T], objective: Objective) -> list[T]:
    """The trials with a final objective, best first."""
    return sorted((t for t in trials if is_ranked(t)), key=lambda t: (objective.sort_key(t.value), t.number))


def best_trial(trials: Sequence[T], objective: Objective) -> T | None:
    """The finished trial with the best objective; ``None`` when no trial has one."""
    done = ranked(trials, objective)
    return done[0] if done else None


def leaderboard(trials: Sequence[T], objective: Objective) -> list[T]:
    """Every trial: by status rank (ranked, in flight, stopped early, failed), then objective, then number."""
    return sorted(trials, key=lambda t: (status_rank(t.status), objective.sort_key(t.value), t.number))


__all__ = ["best_trial", "is_ranked", "leaderboard", "ranked"]
