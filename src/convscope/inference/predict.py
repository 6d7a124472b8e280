"""Files in, predictions out: the run's pipeline replayed on each input, its model, its decision rule.

``convscope predict`` and :meth:`convscope.Run.predict` are this function. Each input (a WFDB record, a
CSV/npz row, an image, a UCR series) becomes the model's samples by :class:`~convscope.inference.recipe.Recipe`
(lead selection by name, resampling from the input's own rate, filters, baseline, windows, beats with R
peaks from NeuroKit2's detector, normalisation), all samples go through :func:`~convscope.inference.engine.infer`
(the evaluation path of the trainer), a record's samples are averaged as the run's evaluation averaged them
(:func:`~convscope.train.aggregate.aggregate`), and the stored decision threshold and class names give
the predicted class.

Example (not run by the test suite: it needs an ECG run and the MIT-BIH record 100; tests/inference/
test_predict.py runs predictions on records it writes, and on /work/shared/data/mitdb when present):
    >>> rows = predict_inputs(run, ["/data/mitdb/100.hea"])       # doctest: +SKIP
    >>> rows[0]["predicted"], rows[0]["n_beats"]                    # doctest: +SKIP
    ('N', 2270)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from convscope.errors import ConvscopeError
from convscope.inference.annotated_beats import Beats, annotated_beats
from convscope.inference.engine import infer_run
from convscope.inference.readers import read_inputs
from convscope.inference.recipe import Recipe
from convscope.train import metrics as M
from convscope.train.aggregate import aggregate

if TYPE_CHECKING:
    from convscope.api import Run

Per = Literal["record", "sample"]


def check_weights(run: Run) -> None:
    """A run without ``best.safetensors`` cannot predict: say why, before any input is read."""
    weights = run.dir / "best.safetensors"
    if not weights.is_file():
        raise ConvscopeError(f"run {run.id} has no stored weights ({weights})",
                             hint=f"it ended '{run.status}' before its first epoch finished; predict with a "
                                  "run that trained (convscope runs lists them)")


def predict_inputs(run: Run, inputs: Iterable[str | Path], *, per: Per = "record",
                   sample_rate: float | None = None, annotations: str | None = None) -> list[dict[str, Any]]:
    """Predictions of ``run``'s model on ``inputs``, one dict per record (or per window/beat).

    Args:
        run: a stored run (its best weights, config and threshold are used).
        inputs: files or folders of the kind the run was trained on.
        per: ``record``: one row per record, its samples' probabilities averaged; ``sample``: one row
            per window/beat/image.
        sample_rate: Hz of inputs whose files do not say (CSV rows, npz without ``fs``).
        annotations: a run trained with ``labels: annotations`` only: cut beats at this annotator's beats
            (e.g. ``atr``) instead of the R peaks NeuroKit2 detects; rows then also say each beat's
            annotated class (``reference``).

    Returns:
        Rows with ``input``, ``predicted`` (a class name), ``p_<class>`` for each class and
        ``n_<unit>`` (how many windows/beats the record gave); ``pandas.DataFrame(rows)`` makes a table.
        A run trained on annotated beats adds ``n_<class>`` (beats predicted of each class) per record, and
        ``r_peak`` (sample), ``time_s`` and ``reference`` per beat.
    """
    if per not in ("record", "sample"):
        raise ConvscopeError(f"--per {per}: unknown", hint="use record or sample")
    check_weights(run)
    recipe = Recipe.for_run(run)
    if annotations is not None and recipe.beat_options is None:
        raise ConvscopeError(f"--annotations {annotations}: run {run.id} was not trained on annotated beats",
                             hint="--annotations applies to runs trained with labels: annotations; leave it out")
    items = read_inputs(inputs, recipe)
    samples, beats = [], []
    for _, item in items:
        if item.fs is None and sample_rate is not None:
            item.fs = float(sample_rate)
        if recipe.beat_options is not None and not item.ready:
            found = annotated_beats(recipe, item, annotations=annotations)
            beats.append(found)
            samples.append(recipe._checked(found.x, item))  # (n_i, *input_shape)
        else:
            samples.append(recipe.samples(item))  # (n_i, *input_shape)
    counts = np.array([len(s) for s in samples])
    x = np.concatenate(samples) if counts.sum() else np.zeros((0, *recipe.input_shape), dtype=np.float32)
    _, prob = infer_run(run, x) if len(x) else (None, np.zeros((0, len(recipe.class_names))))  # (N, K)
    names = [item.name for _, item in items]
    if beats and len(beats) == len(items):
        return _beat_rows(recipe, names, beats, prob, per)
    if per == "sample":
        return _sample_rows(recipe, names, counts, prob)
    return _record_rows(recipe, names, counts, prob)


def _beat_rows(recipe: Recipe, names: Sequence[str], beats: list[Beats], prob: np.ndarray,
               per: Per) -> list[dict[str, Any]]:
    """Rows of a run trained on annotated beats: per record, beats counted by predicted class; per beat,
    where it is (R-peak sample and time) and its annotated class when ``--annotations`` gave one."""
    counts = np.array([len(b.positions) for b in beats])
    if per == "record":
        rows = _record_rows(recipe, names, counts, prob)
        k = M.predictions(prob, recipe.threshold) if len(prob) else np.zeros(0, dtype=np.int64)  # (N,)
        owner = np.repeat(np.arange(len(names)), counts)
        for i, row in enumerate(rows):
            found = np.bincount(k[owner == i], minlength=len(recipe.class_names))
            row.update({f"n_{c}": int(n) for c, n in zip(recipe.class_names, found, strict=False)})
        return rows
    rows = _sample_rows(recipe, names, counts, prob)
    at = [(int(p), b.fs, ref) for b in beats for p, ref in zip(b.positions, b.reference, strict=True)]
    beat_rows = iter(row for row in rows if row["sample"] is not None)
    for row, (peak, fs, ref) in zip(beat_rows, at, strict=True):
        row.update(r_peak=peak, time_s=round(peak / fs, 4), reference=ref)
    return rows


def _record_rows(recipe: Recipe, names: Sequence[str], counts: np.ndarray, prob: np.ndarray) -> list[dict[str, Any]]:
    owner = np.repeat(np.arange(len(names)), counts)  # (N,) which record each sample came from
    rows = []
    if len(prob):
        # the evaluation's record aggregation (soft voting; a run evaluated per window with aggregate: none
        # still gets one summary row per record by the same mean); labels are unknown here, so all zero
        mean, _, keys = aggregate(prob, np.zeros(len(prob), dtype=np.int64), owner, how="mean")
        by_record = dict(zip(keys.tolist(), mean, strict=True))
    else:
        by_record = {}
    for i, name in enumerate(names):
        p = by_record.get(i)
        rows.append(_row(recipe, {"input": name}, p, **{f"n_{recipe.unit}": int(counts[i])}))
    return rows


def _sample_rows(recipe: Recipe, names: Sequence[str], counts: np.ndarray, prob: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    start = 0
    for name, n in zip(names, counts, strict=True):
        for j in range(n):
            rows.append(_row(recipe, {"input": name, "sample": j}, prob[start + j]))
        if n == 0:
            rows.append(_row(recipe, {"input": name, "sample": None}, None))
        start += n
    return rows


def _row(recipe: Recipe, head: dict[str, Any], p: np.ndarray | None, **tail: Any) -> dict[str, Any]:
    """One output row; a record that gave no sample (no beat detected) has no prediction."""
    if p is None:
        return {**head, "predicted": None, **{f"p_{c}": None for c in recipe.class_names}, **tail}
    k = int(M.predictions(p[None], recipe.threshold)[0])
    return {**head, "predicted": recipe.class_names[k] if k < len(recipe.class_names) else str(k),
            **{f"p_{c}": round(float(v), 6) for c, v in zip(recipe.class_names, p, strict=False)}, **tail}


def no_prediction_notes(rows: list[dict[str, Any]]) -> list[str]:
    """A line per record that gave no sample (e.g. no R peak detected), for the CLI to print."""
    return [f"{row['input']}: no complete window/beat, no prediction" for row in rows if row["predicted"] is None]


__all__ = ["check_weights", "no_prediction_notes", "predict_inputs"]
