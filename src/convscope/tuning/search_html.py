"""A search as HTML for Jupyter: its leaderboard (ranked trials first), the best trial, how to get the report.

Example:
    >>> from types import SimpleNamespace as T
    >>> from convscope.tuning.study import Objective
    >>> trials = [T(number=0, status="completed", value=0.8, run_id=1, params={"lr": 0.01}, epochs=3),
    ...           T(number=1, status="pruned", value=0.5, run_id=2, params={"lr": 0.1}, epochs=1)]
    >>> result = T(name="grid-20260101-120000", status="finished", metric="val_accuracy", trials=trials,
    ...            objective=Objective("val_accuracy", "maximize"),
    ...            leaderboard=lambda: trials, best=trials[0])
    >>> html = search_html(result)
    >>> "80.0%" in html and "pruned" in html and "convscope report grid-20260101-120000" in html
    True
"""

from __future__ import annotations

import html
from typing import Any

from convscope import formatting as fmt


def search_html(result: Any) -> str:
    """``result``: a :class:`~convscope.tuning.driver.Search` (anything with its fields)."""
    esc = html.escape
    head = "".join(f"<th>{h}</th>" for h in ("trial", "run", "params", esc(result.metric), "status", "epochs"))
    rows = []
    for t in result.leaderboard():
        best = result.best is not None and t.number == result.best.number
        cells = (t.number, t.run_id if t.run_id is not None else "-", fmt.params(t.params),
                 fmt.metric(result.metric, t.value, style="general"), t.status, t.epochs)
        style = " style='font-weight:bold'" if best else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{esc(str(c))}</td>" for c in cells) + "</tr>")
    best = result.best
    summary = (f"best: trial {best.number} (run {best.run_id}), {esc(result.metric)} "
               f"{esc(fmt.metric(result.metric, best.value, style='general'))}" if best else "no trial completed yet")
    return (f"<div><h4>search {esc(result.name)} ({esc(result.status)})</h4><p>{summary}</p>"
            f"<table><tr>{head}</tr>{''.join(rows)}</table>"
            f"<p>HTML report: <code>convscope report {esc(result.name)}</code></p></div>")


__all__ = ["search_html"]
