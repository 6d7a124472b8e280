"""The per-class (AAMI-style) table and the confusion matrix of a stored run, for the terminal and for
the HTML report.

The numbers come from :func:`convscope.train.metrics.class_table` on the confusion matrices the run
stored at its end (``RunInfo.test_confusion``, ``RunInfo.val_confusion``: best-epoch weights, the
run's decision threshold); this module only lays them out.

Example:
    >>> from rich.console import Console
    >>> from convscope.train.metrics import class_table
    >>> table = class_table([[90, 6, 4], [3, 7, 0], [1, 0, 9]], ["N", "S", "V"])
    >>> Console(width=80).print(rich_table(table, title="test"))  # doctest: +NORMALIZE_WHITESPACE
                            test
    ┏━━━━━━━━━━━━━━━━━━┳━━━━━┳━━━━━━━┳━━━━━━━┳━━━━━━━┳━━━━━━━┓
    ┃ class            ┃   n ┃    Se ┃    +P ┃    Sp ┃    F1 ┃
    ┡━━━━━━━━━━━━━━━━━━╇━━━━━╇━━━━━━━╇━━━━━━━╇━━━━━━━╇━━━━━━━┩
    │ N                │ 100 │ 90.0% │ 95.7% │ 80.0% │ 92.8% │
    │ S                │  10 │ 70.0% │ 53.8% │ 94.5% │ 60.9% │
    │ V                │  10 │ 90.0% │ 69.2% │ 96.4% │ 78.3% │
    ├──────────────────┼─────┼───────┼───────┼───────┼───────┤
    │ macro            │ 120 │ 83.3% │ 72.9% │ 90.3% │ 77.3% │
    │ accuracy         │     │ 88.3% │       │       │       │
    └──────────────────┴─────┴───────┴───────┴───────┴───────┘
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from convscope import formatting as fmt
from convscope.train.metrics import COLUMNS, ClassRow, ClassTable, class_table

if TYPE_CHECKING:
    from convscope.api import Run

SPLITS = (("test", "test set"), ("val", "validation set"))


def percent(value: float) -> str:
    """A proportion as the AAMI tables print it, one decimal (``-`` where undefined)."""
    return fmt.percent(value, decimals=1)


def run_tables(run: Run, splits: tuple[str, ...] = ("test", "val")) -> list[tuple[str, ClassTable]]:
    """(split, table) for each of ``splits`` whose confusion matrix the run stored, in that order."""
    names = run.info.class_names
    out = []
    for split in splits:
        counts = getattr(run.info, f"{split}_confusion")
        if counts and names and len(counts) == len(names):
            out.append((split, class_table(counts, names)))
    return out


def rich_table(table: ClassTable, *, title: str) -> Table:
    """A rich table: one row per class (count, Se, +P, Sp, F1), then the macro average and accuracy."""
    out = Table(title=title)
    out.add_column("class", min_width=16)
    out.add_column("n", justify="right")
    for heading, _ in COLUMNS:
        out.add_column(heading, justify="right")

    def cells(row: ClassRow) -> list[str]:
        return [row.name, str(row.count), *(percent(getattr(row, field)) for _, field in COLUMNS)]

    for row in table.rows:
        out.add_row(*cells(row))
    out.add_section()
    out.add_row(*cells(table.macro))
    out.add_row("accuracy", "", percent(table.accuracy), "", "", "")
    return out


def rich_confusion(table: ClassTable, *, title: str) -> Table:
    """The confusion matrix as a rich table: rows are true classes, columns predicted ones, the diagonal bold."""
    names = [row.name for row in table.rows]
    out = Table(title=title)
    out.add_column("true \\ predicted")
    for name in names:
        out.add_column(name, justify="right")
    for i, (name, counts) in enumerate(zip(names, table.confusion, strict=True)):
        out.add_row(name, *(f"[bold]{c}[/]" if i == j else str(c) for j, c in enumerate(counts)))
    return out


def html_tables(run: Run) -> list[dict[str, Any]]:
    """What the report's ``_classes.html`` partial shows: per split, formatted rows, macro and accuracy."""
    described = dict(SPLITS)
    out = []
    for split, table in run_tables(run):
        def cells(row: ClassRow) -> dict[str, Any]:
            return {"name": row.name, "count": row.count,
                    "cells": [{"text": percent(getattr(row, field)), "value": getattr(row, field)}
                               for _, field in COLUMNS]}

        out.append({"split": split, "title": described.get(split, split), "total": table.total,
                    "rows": [cells(r) for r in table.rows], "macro": cells(table.macro),
                    "accuracy": percent(table.accuracy), "confusion": table.confusion})
    return out


def print_run_tables(console: Console, run: Run, *, splits: tuple[str, ...] = ("test", "val"),
                     max_classes: int | None = 20) -> None:
    """Print the run's per-class table for each of ``splits`` (the end of ``convscope run``, ``show``).

    Args:
        max_classes: above this many classes print one line pointing at ``convscope show`` instead
            (``None``: always the table).
    """
    described = dict(SPLITS)
    for split, table in run_tables(run, splits):
        if max_classes is not None and len(table.rows) > max_classes:
            console.print(f"per-class table ({len(table.rows)} classes): convscope show {run.id}")
            continue
        console.print(rich_table(table, title=f"per class, {described.get(split, split)} (best-epoch weights)"))
        console.print(rich_confusion(table, title=f"confusion, {described.get(split, split)}"))
