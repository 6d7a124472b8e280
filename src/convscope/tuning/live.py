"""The live view of a running search: a table of trials and a progress bar over the budget.

It only reads (the store and the journal, through the ``poll`` function the driver gives it), so it
costs the workers nothing and works the same for local and Ray workers.

Example (drawn into a string here; a search draws on the terminal):
    >>> import io
    >>> from convscope.tuning.results import TrialResult
    >>> trials = [TrialResult(0, "completed", {"lr": 0.1}, 0.91, 1, 3, 2.0, "ran all 3 epochs", True)]
    >>> console = Console(file=io.StringIO(), width=100)
    >>> with LiveView(name="demo", budget=6, objective=Objective("val_accuracy", "maximize"), epochs=3,
    ...               poll=lambda: trials, console=console) as view:
    ...     view.update()
    >>> console.file.getvalue().splitlines()[0]   # not a terminal: one line per finished trial, then the table
    'trial 0 completed: lr=0.1 -> val_accuracy 91.0% (3 epochs, 2.0s)'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from convscope import formatting as fmt
from convscope.store.status import RunStatus, in_flight, status_color
from convscope.tuning.ranking import best_trial, is_ranked
from convscope.tuning.study import Objective

if TYPE_CHECKING:
    from convscope.tuning.results import Search, TrialResult

_MAX_ROWS = 20


def status_text(status: str) -> Text:
    """A status in its colour (the one :class:`~convscope.store.status.RunStatus` gives it)."""
    return Text(status, style=status_color(status))


class LiveView:
    """A rich ``Live`` table of a search's trials (trial, params, epoch, objective, status, time).

    Args:
        name: the search name (the title).
        budget: how many trials the search runs (the progress bar's total).
        objective: the metric and direction (marks the best trial).
        epochs: ``train.epochs`` (shown as ``epoch e/E``).
        poll: returns the current trials (``Search.trials``-like list).
        console: where to draw (default: a new stdout console).
        note: one line shown under the title (e.g. the grid-subset note).
    """

    def __init__(self, *, name: str, budget: int, objective: Objective, epochs: int,
                 poll: Callable[[], list[TrialResult]], console: Console | None = None,
                 note: str | None = None) -> None:
        self.name = name
        self.budget = budget
        self.objective = objective
        self.epochs = epochs
        self.poll = poll
        self.console = console or Console()
        self.note = note
        self.trials: list[TrialResult] = []
        self.started = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self._live = Live(self.render(), console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.update()
        if self._live is not None:
            self._live.__exit__(kind, exc, tb)
        elif kind is None:
            self.console.print(self.render())

    def update(self) -> None:
        """Re-read the trials and redraw (a log file or a pipe gets one line per finished trial instead)."""
        before = {t.number for t in self.trials if t.finished}
        self.trials = self.poll()
        if self._live is not None:
            self._live.update(self.render())
            return
        for t in self.trials:
            if t.finished and t.number not in before:
                epochs = f"{t.epochs} epoch" + ("" if t.epochs == 1 else "s")
                self.console.print(f"trial {t.number} {t.status}: {fmt.params(t.params)} -> "
                                   f"{self.objective.metric} {fmt.metric(self.objective.metric, t.value, style='general')} ({epochs}, "
                                   f"{fmt.seconds(t.seconds)})", highlight=False)

    def render(self) -> Group:
        table = Table(title=f"search [bold]{self.name}[/]: {self.objective.direction} {self.objective.metric}",
                      caption=self.note, expand=False)
        for col, justify in (("trial", "right"), ("params", "left"), ("epoch", "right"),
                             (self.objective.metric, "right"), ("status", "left"), ("time", "right")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        best = best_trial(self.trials, self.objective)
        shown = self.trials
        if len(shown) > _MAX_ROWS:
            # the trials in flight, then the most recent finished ones
            running = [t for t in shown if in_flight(t.status)]
            rest = [t for t in shown if t not in running][-(_MAX_ROWS - len(running)):]
            shown = sorted(running + rest, key=lambda t: t.number)
            table.caption = f"{len(self.trials) - len(shown)} earlier trials not shown" + (
                f"; {self.note}" if self.note else "")
        for t in shown:
            mark = " *" if best is not None and t.number == best.number else ""
            table.add_row(f"{t.number}{mark}", fmt.params(t.params), f"{t.epochs}/{self.epochs}",
                          fmt.metric(self.objective.metric, t.value, style='general'), status_text(t.status), fmt.seconds(t.seconds))
        finished = sum(1 for t in self.trials if t.finished)
        bar = Table.grid(padding=(0, 1))
        bar.add_row(Text(f"trials {finished}/{self.budget}"),
                    ProgressBar(total=max(self.budget, 1), completed=finished, width=40),
                    Text(fmt.seconds(time.monotonic() - self.started)),
                    Text(f"best {fmt.metric(self.objective.metric, best.value, style='general')} (trial {best.number})" if best else ""))
        return Group(table, bar)


def leaderboard_table(result: Search) -> Table:
    """Every trial of a finished (or stopped) search, ranked; a reason column when any trial stopped early."""
    objective = result.objective
    trials = result.leaderboard()
    table = Table(title=f"search {result.name} ({result.status}): {objective.direction} {objective.metric}, "
                        f"{result.finished}/{result.budget} trials, {result.epochs} epochs trained")
    show_reason = any(t.status != RunStatus.COMPLETED and t.reason for t in trials)
    columns = ["#", "run", "trial", "params", "epochs", objective.metric, "status", "time"]
    if show_reason:
        columns.insert(-1, "reason")
    for col in columns:
        if col in ("params", "reason"):  # the long texts wrap; the numbers and the status never do
            table.add_column(col, overflow="fold", min_width=24 if col == "reason" else 12, ratio=1)
        else:
            table.add_column(col, justify="left" if col == "status" else "right", no_wrap=True)
    rank = 0
    for t in trials:
        ranked = is_ranked(t)
        rank += ranked
        cells = [str(rank) if ranked else "", str(t.run_id or "-"), str(t.number), fmt.params(t.params),
                 str(t.epochs), fmt.metric(result.metric, t.value, style="general"), status_text(t.status), fmt.seconds(t.seconds)]
        if show_reason:
            cells.insert(-1, "" if t.status == RunStatus.COMPLETED else (t.reason or ""))
        table.add_row(*cells)
    return table


def print_summary(result: Search, console: Console) -> None:
    """The end of a search: counts by status and the best trial's params, objective and run id."""
    counts: dict[str, int] = {}
    for t in result.trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    console.print(f"search [bold]{result.name}[/] {result.status}: {len(result.trials)} trials ({shown}), "
                  f"{result.epochs} epochs trained", highlight=False)
    best = result.best
    if best is None:
        console.print("[yellow]no trial completed[/]: see `convscope runs --search "
                      f"{result.name}` for each trial's reason")
        return
    console.print(f"[bold green]best[/] trial {best.number} (run {best.run_id}): {result.metric} "
                  f"{fmt.metric(result.metric, best.value, style='general')} with {fmt.params(best.params)}", highlight=False)
    console.print(f"leaderboard: convscope runs --search {result.name}; the run: convscope show {best.run_id}",
                  soft_wrap=True)


__all__ = ["LiveView", "leaderboard_table", "print_summary", "status_text"]
