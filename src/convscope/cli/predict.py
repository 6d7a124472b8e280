"""``convscope predict`` and ``export``: put a trained model to work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convscope.cli.app import (
    HomeOption,
    app,
    console,
    err_console,
    friendly,
)


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
    annotations: Annotated[str | None, typer.Option(
        "--annotations", help="Runs trained on annotated beats: cut beats at this annotator's beats (e.g. atr) "
                              "instead of detected R peaks, to check against the reference.")] = None,
    home: HomeOption = None,
) -> None:
    """Predict on new files with a run's own preprocessing, model and decision threshold."""
    from convscope.api import load_run
    from convscope.inference.predict import no_prediction_notes, predict_inputs
    from convscope.inference.writers import format_for, table, write_rows

    if out is not None:
        format_for(out)  # an unknown suffix fails before any work
    run = load_run(run_id, home=home)
    rows = predict_inputs(run, inputs, per=per, sample_rate=fs, annotations=annotations)  # type: ignore[arg-type]
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
