"""``convscope look``, ``report`` and ``compare``: look inside runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from convscope import formatting as fmt
from convscope.cli.app import (
    HomeOption,
    app,
    console,
    friendly,
)
from convscope.errors import ConvscopeError


@app.command("look")
@friendly
def look_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id (see `convscope runs`), or a search name for a search's "
                                               "picture (size-curve).")],
    what: Annotated[str, typer.Argument(help="curves | kernels | features | filters | occlusion | gradcam | "
                                             "correlation | confusion | roc | top-losses | all; of a search: "
                                             "size-curve")],
    index: Annotated[int | None, typer.Option("--index", help="Validation sample for features, occlusion, "
                                                              "gradcam (default 0).")] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="A .npy sample (or an image for 2D models) "
                                                                    "instead of a validation sample.")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Only this conv layer (kernels, features, "
                                                              "filters, gradcam).")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Samples from --index on, one row each "
                                                                     "(occlusion, gradcam).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the PNGs (default: the run's folder).")] = None,
    home: HomeOption = None,
) -> None:
    """Write PNGs of what a trained model learned and where it looks; print their paths."""
    from convscope.api import load_run
    from convscope.insight.look import look, look_search, pictures

    if what in pictures("search"):
        paths, target = look_search(run_id, what, out, home=home), f"search {run_id}"
    else:
        run = load_run(run_id, home=home)
        paths, target = look(run, what, out, index=index, input_path=input_path, layer=layer, count=count), \
            f"run {run.id}"
    if not paths:
        console.print(f"[yellow]nothing to draw:[/] {what} does not apply to {target}")
    for path in paths:
        console.print(str(path), highlight=False, soft_wrap=True)


@app.command("report")
@friendly
def report_cmd(
    target: Annotated[str, typer.Argument(help="A run id, or a search name.")],
    out: Annotated[Path | None, typer.Option("--out", help="HTML path (default: report.html in the run's folder, "
                                                           "or <home>/searches/NAME.html).")] = None,
    home: HomeOption = None,
) -> None:
    """Write a self-contained HTML report of a run or a search (pictures embedded) and print its path."""
    from convscope.report import run_report, search_report

    path = run_report(int(target), home=home, out=out) if target.isdigit() else search_report(target, home=home,
                                                                                                 out=out)
    console.print(str(path), highlight=False, soft_wrap=True)


@app.command("compare")
@friendly
def compare_cmd(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    out: Annotated[Path | None, typer.Option("--out", help="PNG path for the overlaid curves.")] = None,
    home: HomeOption = None,
) -> None:
    """Compare runs: the config fields that differ, their metrics, and overlaid learning curves."""
    from convscope.report import compare

    if len(run_ids) < 2:
        raise ConvscopeError("compare needs at least two run ids", hint="e.g. convscope compare 3 4")
    result = compare(run_ids, home=home, out=out)
    heads = [f"run {r.id}" for r in result.runs]
    table = Table(title="config differences")
    table.add_column("field")
    for head in heads:
        table.add_column(head)
    for key, values in result.differences:
        table.add_row(key, *values)
    if not result.differences:
        table.add_row("(identical configs)", *["" for _ in heads])
    console.print(table)
    table = Table(title="metrics")
    table.add_column("metric")
    for head in heads:
        table.add_column(head, justify="right")
    for name, values in result.metrics:
        cells = [fmt.metric(name, v) for v in values]
        table.add_row(name, *cells)
    console.print(table)
    console.print(f"learning curves: {result.curves}", highlight=False, soft_wrap=True)
