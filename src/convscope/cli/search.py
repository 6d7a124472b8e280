"""``convscope search`` (a hyperparameter search with a live table) and ``convscope dashboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convscope.cli.app import (
    HomeOption,
    LogOption,
    app,
    console,
    friendly,
    with_log,
)
from convscope.errors import ConvscopeError


@app.command("search")
@friendly
def search_cmd(
    config: Annotated[Path | None, typer.Argument(help="Experiment YAML whose params hold ranges "
                                                       "(optional with --resume).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Parallel workers "
                                                                         "(default search.workers).")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="local | ray (default search.backend).")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster to join, HOST:PORT.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The search's name in the store.")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Continue a stopped search by name.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: --set search.trials=40")] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the search's HTML report.")] = True,
    log: LogOption = None,
    home: HomeOption = None,
) -> None:
    """Search hyperparameters: every trial is a stored run; a live table shows them as they finish."""
    from convscope.tuning import search
    from convscope.tuning.backends import BACKENDS

    set_ = with_log(set_, log)
    if backend is not None and backend not in BACKENDS:
        raise ConvscopeError(f"--backend: '{backend}' is not a backend", hint=f"use {' or '.join(BACKENDS.names())}")
    result = search(config, overrides=set_, name=name, workers=workers, backend=backend, address=address,
                    resume=resume, home=home, progress=True, console=console)
    if report and result.trials:
        from convscope.report import search_report

        console.print(f"report: {search_report(result.name, home=home)}", soft_wrap=True)
    else:
        console.print(f"HTML report: convscope report {result.name}", highlight=False, soft_wrap=True)


@app.command("dashboard")
@friendly
def dashboard_cmd(
    search: Annotated[str | None, typer.Argument(help="The search (default: the newest).")] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Local port.")] = 8080,
    home: HomeOption = None,
) -> None:
    """Serve optuna-dashboard on a search's storage at 127.0.0.1 (each trial shows its run id)."""
    from convscope.dashboard import serve

    serve(search, home=home, port=port, announce=lambda line: console.print(line, soft_wrap=True))
