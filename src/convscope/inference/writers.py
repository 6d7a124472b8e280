"""Prediction rows out: a terminal table, CSV or JSON, written atomically (a temp file, then a rename:
a crash or a bad input never leaves a half-written file under the name the user asked for).

A format is a function ``write(rows, stream)`` registered in :data:`WRITERS` with its file ``suffixes``.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> WRITERS.get("csv")([{"input": "a.hea", "predicted": "mi", "p_mi": 0.9}], out)
    >>> out.getvalue().splitlines()
    ['input,predicted,p_mi', 'a.hea,mi,0.9']
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from convscope.errors import ConvscopeError
from convscope.registry import Registry

Writer = Callable[[list[dict[str, Any]], IO[str]], None]
WRITERS: Registry[Writer] = Registry("output format", field="--out")


@WRITERS.register("csv", suffixes=(".csv",))
def write_csv(rows: list[dict[str, Any]], stream: IO[str]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@WRITERS.register("json", suffixes=(".json",))
def write_json(rows: list[dict[str, Any]], stream: IO[str]) -> None:
    json.dump(rows, stream, indent=1)
    stream.write("\n")


def format_for(path: Path) -> str:
    """The writer that claims ``path``'s suffix."""
    for entry in WRITERS.entries():
        if path.suffix.lower() in entry.traits["suffixes"]:
            return entry.name
    known = ", ".join(s for e in WRITERS.entries() for s in e.traits["suffixes"])
    raise ConvscopeError(f"--out {path}: unknown output format '{path.suffix}'", hint=f"end the name in {known}")


def write_atomic(path: Path, write: Callable[[IO[str]], None]) -> Path:
    """Call ``write(stream)`` on a temp file next to ``path`` and rename it into place when it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as stream:
            write(stream)
        os.replace(tmp, path)  # atomic on POSIX: readers see the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """``rows`` as CSV or JSON (by ``path``'s suffix), atomically."""
    path = Path(path)
    writer = WRITERS.get(format_for(path))
    return write_atomic(path, lambda stream: writer(rows, stream))


def table(rows: list[dict[str, Any]], *, title: str = "") -> Any:
    """A :class:`rich.table.Table` of ``rows`` for the terminal (probabilities to 3 decimals)."""
    from rich.table import Table

    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = Table(title=title or None)
    for c in columns:
        out.add_column(c, justify="right" if c.startswith(("p_", "n_")) or c == "sample" else "left")
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            cells.append("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v))
        out.add_row(*cells)
    return out
