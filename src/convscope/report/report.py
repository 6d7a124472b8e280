"""The self-contained HTML report of a run: one file, every picture embedded, readable offline.

The report reads what the store holds (config, history, health, diagnosis, weights) and draws the
pictures of :mod:`convscope.insight`; it never trains. Templates are Jinja2 with autoescaping on,
so every string that came from a user (names, config, class names, notes) is HTML-escaped.

Example:
    >>> import convscope
    >>> from convscope.report import run_report
    >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}})
    >>> path = run_report(run.id)
    >>> path.relative_to(run.home).as_posix(), "<html" in path.read_text()
    ('runs/1/report.html', True)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from convscope.insight.diagnose import SEVERITY_ORDER
from convscope.report.clinical import html_tables
from convscope.report.html import figure, metric_text, percent, render, short_number
from convscope.store import Store
from convscope.stored_run import Run, load_run

# Captions that say how to read each picture (the report is for a person, not a log).
PICTURES: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("learned", "What it learned",
     "The first-layer kernels and deeper filters, and the patterns that excite the last conv layer most.",
     [("kernels", "Kernels: red weights add, blue subtract; one color scale per layer, centred on zero, so a pale "
                  "kernel is a weak one. PyTorch convolution is cross-correlation: the kernel meets the input as "
                  "drawn, not flipped."),
      ("filters", "Filter patterns: the input each channel responds to most, found by gradient ascent from noise with "
                  "L2 and jitter regularization."),
      ("features", "Feature maps: what each conv layer outputs for the first validation sample (after its "
                   "activation).")]),
    ("looks", "Where it looks",
     "Which parts of an input the prediction depends on, for the first validation samples.",
     [("occlusion", "Occlusion: red where hiding that part of the input (grey patch or zeroed window) lowers the "
                    "probability of the true class -- the evidence the model uses."),
      ("scalars", "Scalar importance (runs with packed RR / beat features only): for the same samples, how much the "
                  "class's probability drops when each scalar input alone is set to its training-set mean -- red "
                  "bars are the features the prediction leans on; occlusion and Grad-CAM cover the signal only."),
      ("gradcam", "Grad-CAM: the last conv layer's maps weighted by the gradient of the class score; bright where the "
                  "evidence for the class lies (coarse: that layer's resolution, stretched).")]),
    ("errors", "How it errs",
     "Predictions of the best epoch's weights, computed as the stored metrics were: the confusion matrix on the "
     "test split (it equals the stored test confusion), ROC and top losses on validation.",
     [("confusion", "Confusion matrix: rows are true classes, columns the predicted ones; the normalized panel shows "
                    "each class's recall on its diagonal."),
      ("roc", "ROC: sensitivity against 1 - specificity as the decision threshold moves; for two classes the dot "
              "is the run's threshold, for more each class is scored against the rest."),
      ("top-losses", "Top losses: the samples the model is most confidently wrong on -- often label noise, ambiguous "
                     "inputs, or a class the model confuses."),
      ("correlation", "Feature correlation of the penultimate layer, clustered: bright blocks are groups of redundant "
                      "features; a dark matrix means the features are diverse.")]),
]


# A layer table longer than this (a deep net's) starts folded, so the page stays a page, not a scroll.
FOLD_ROWS = 12


# -- run report ---------------------------------------------------------------------------------


def _cards(run: Run) -> list[dict[str, str]]:
    best = next((h for h in run.history if h["epoch"] == run.best_epoch), None)
    cards = []
    for key, value in run.test_metrics.items():
        if key.startswith("test_") and "record" not in key and "/" not in key:  # per class: the table
            cards.append({"key": key.replace("_", " "), "value": metric_text(key, value), "note": "best-epoch weights"})
    if best is not None:
        cards.append({"key": "best epoch", "value": str(run.best_epoch), "note": f"of {len(run.history)} trained"})
        for key in ("val_loss", "val_accuracy"):
            if key in best:
                cards.append({"key": key.replace("_", " "), "value": metric_text(key, best[key]),
                              "note": "at the best epoch"})
    seconds = sum(h.get("seconds", 0.0) for h in run.history)
    per_epoch = seconds / max(len(run.history), 1)
    cards.append({"key": "training time", "value": f"{seconds:.1f} s", "note": f"{per_epoch:.2f} s per epoch"})
    return cards


def _health_rows(run: Run) -> list[dict[str, str]]:
    rows_by_epoch = [h.get("health") for h in run.history if h.get("health")]
    if not rows_by_epoch:
        return []
    first, last = rows_by_epoch[0]["layers"], rows_by_epoch[-1]["layers"]
    out = []
    for name, stats in last.items():
        start = first.get(name, {})
        grad = ("-" if "grad_norm" not in stats
                else f"{short_number(start.get('grad_norm'), 3)} → {short_number(stats.get('grad_norm'), 3)}")
        out.append({"layer": name, "type": stats.get("type", "-"), "act": stats.get("act", "-"), "grad": grad,
                    "act_mean": short_number(stats.get("act_mean"), 3), "act_std": short_number(stats.get("act_std"), 3),
                    "dead": percent(stats["dead_frac"]) if "dead_frac" in stats else "-",
                    "saturated": percent(stats["saturated_frac"]) if "saturated_frac" in stats else "-",
                    "pre_max": short_number(start.get("pre_max"), 3)})
    return out


def _summary(run: Run) -> tuple[dict[str, Any] | None, str]:
    from convscope.models import summary

    try:
        info = summary(run.model, tuple(run.info.input_shape or run.config.model.input)).to_dict()
    except (RuntimeError, ValueError) as exc:  # the rest of the report is still worth having
        return None, f"no summary: {exc}"

    def dims(value: Any) -> str:
        return "×".join(map(str, value)) if value else "-"

    rows = [{"name": r["name"], "type": r["type"], "shape": dims(r["output_shape"]), "params": f"{r['params']:,}",
             "macs": f"{r['macs']:,}", "rf": dims(r.get("receptive_field"))} for r in info["rows"]]
    return {"rows": rows, "params": f"{info['totals']['params']:,}", "macs": f"{info['totals']['macs']:,}",
            "final_activation": info.get("final_activation")}, ""


def _history(run: Run) -> dict[str, Any]:
    columns = ["epoch", *[k for k in (run.history[0] if run.history else {}) if k not in ("epoch", "health")]]
    rows = []
    for h in run.history:
        cells = [{"value": h.get(c, ""), "text": short_number(h.get(c), 4) if c != "seconds" else f"{h.get(c, 0):.2f}"}
                 for c in columns]
        rows.append({"best": h["epoch"] == run.best_epoch, "cells": cells})
    return {"columns": columns, "rows": rows}


def run_report(run: Run | int | str, *, home: str | Path | None = None, out: str | Path | None = None,
               occlusion_samples: int = 4) -> Path:
    """Write ``report.html`` in the run's folder (or ``out``): config, model, metrics, verdicts, every picture.

    Args:
        run: a :class:`~convscope.api.Run` or a run id.
        home: the run store (for an id).
        out: the HTML path (default ``<run folder>/report.html``).
        occlusion_samples: how many validation samples the occlusion, scalar importance and Grad-CAM pictures show.
    """
    if not isinstance(run, Run):
        run = load_run(run, home=home)
    out = Path(out) if out is not None else run.dir / "report.html"
    has_weights = (run.dir / "best.safetensors").exists()
    # the pictures import torch; importing the report does not
    from convscope.insight.look import applies, look

    curves = look(run, "curves")
    groups = []
    for gid, title, lead, items in PICTURES:
        kinds = []
        for what, caption in items:
            if not has_weights:
                break
            if not applies(what, run):
                continue
            options = {"count": occlusion_samples} if what in ("occlusion", "scalars", "gradcam") else {}
            paths = look(run, what, **options)
            if paths:  # the first picture (a net's first layer) shown; a deep net's other layers folded away
                kinds.append({"first": figure(paths[0], title=what, caption=caption),
                              "rest": [figure(path) for path in paths[1:]], "what": what})
        groups.append({"id": gid, "title": title, "lead": lead, "kinds": kinds})
    summary, summary_error = _summary(run) if has_weights else (None, "no stored weights")
    store = Store(run.home)
    row = store.run(run.id)
    search = None
    if row.get("search"):
        search = {"name": row["search"], "trial": row.get("trial"),
                  "params": ", ".join(f"{k}={v}" for k, v in (row.get("params") or {}).items())}
    env = run.info.env
    page = render(
        "run.html", out,
        run={"id": run.id, "name": run.name, "status": run.status, "reason": run.reason,
             "data": run.info.data_name or run.config.data.source,
             "input_shape": "×".join(map(str, run.info.input_shape or [])),
             "classes": len(run.info.class_names), "monitor": run.config.train.monitor,
             "created": datetime.fromtimestamp(row["created"]).strftime("%Y-%m-%d %H:%M")},
        cards=_cards(run), notes=run.notes, search=search, classes=html_tables(run),
        verdicts=sorted(run.info.diagnosis, key=lambda v: SEVERITY_ORDER.get(v.get("severity"), 3)),
        curves=[figure(p) for p in curves], health=_health_rows(run),
        last_epoch=run.history[-1]["epoch"] if run.history else "-",
        summary=summary, summary_error=summary_error, groups=groups, history=_history(run), fold_rows=FOLD_ROWS,
        config_yaml=run.config.to_yaml(), env=sorted((k, str(v)) for k, v in env.items()))
    store.push_artifacts(run.id)  # a remote artifact root gets the report and its pictures too
    return page


__all__ = ["run_report"]
