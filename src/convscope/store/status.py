"""What state a run (or a search trial) is in: one enum that knows its colour, rank and whether it is over.

The store keeps the status as its text value; every part that shows, ranks or filters runs asks the
enum instead of spelling out status names.

Example:
    >>> RunStatus("early_stopped").has_objective, RunStatus.PRUNED.finished, RunStatus.RUNNING.finished
    (True, True, False)
    >>> f"run 3 {RunStatus.COMPLETED}", RunStatus.COMPLETED == "completed"
    ('run 3 completed', True)
    >>> sorted(["failed", "pruned", "completed"], key=lambda s: RunStatus.of(s).rank)
    ['completed', 'pruned', 'failed']
"""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    """A run's status. ``str`` valued, so it equals, stores and prints as its text (``"completed"``).

    Each member carries:
        color: its colour in the terminal (a rich style).
        plot_color: its colour in matplotlib figures (the report's objective plot).
        rank: where a leaderboard lists it (0 first): finished with an objective, in flight, then the
            ones that stopped without one, the worst last.
        finished: the run is over (the store sets ``finished``; a stale ``running`` row becomes
            ``interrupted``).
        has_objective: it ran to its end, so its best value is a result that can be ranked.
    """

    STARTING = ("starting", "cyan", "0.5", 1, False, False)  # a search trial asked for, no run row yet
    RUNNING = ("running", "cyan", "0.5", 1, False, False)
    COMPLETED = ("completed", "green", "C0", 0, True, True)
    EARLY_STOPPED = ("early_stopped", "green", "C0", 0, True, True)
    INTERRUPTED = ("interrupted", "yellow", "0.5", 2, True, False)
    PRUNED = ("pruned", "yellow", "C1", 3, True, False)
    DIVERGED = ("diverged", "red", "C3", 4, True, False)
    FAILED = ("failed", "red", "C3", 5, True, False)

    color: str
    plot_color: str
    rank: int
    finished: bool
    has_objective: bool

    def __new__(cls, value: str, color: str, plot_color: str, rank: int, finished: bool,
                has_objective: bool) -> RunStatus:
        member = str.__new__(cls, value)
        member._value_ = value
        member.color, member.plot_color, member.rank = color, plot_color, rank
        member.finished, member.has_objective = finished, has_objective
        return member

    def __str__(self) -> str:  # "completed", not "RunStatus.COMPLETED", in f-strings and str()
        return self.value

    __format__ = str.__format__

    @classmethod
    def of(cls, text: str | RunStatus) -> RunStatus | None:
        """The member whose value is ``text``; ``None`` for a text no member has (an older store's)."""
        try:
            return cls(text)
        except ValueError:
            return None

    @classmethod
    def finished_values(cls) -> tuple[str, ...]:
        """The texts of the statuses a finished run can end with (what ``Store.finish_run`` accepts)."""
        return tuple(s.value for s in cls if s.finished)


def status_color(text: str) -> str:
    """The terminal colour of a status text (white for one no member has)."""
    status = RunStatus.of(text)
    return status.color if status else "white"


def status_rank(text: str) -> int:
    """The leaderboard position of a status text (after every known one for an unknown text)."""
    status = RunStatus.of(text)
    return status.rank if status else len(RunStatus)


def in_flight(text: str) -> bool:
    """True while a run with this status text is starting or training."""
    status = RunStatus.of(text)
    return status is not None and not status.finished


def has_objective(text: str) -> bool:
    """True when a run with this status text ran to its end (completed or early-stopped)."""
    status = RunStatus.of(text)
    return status is not None and status.has_objective
