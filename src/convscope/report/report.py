"""Self-contained HTML reports of a run or a search: one file, every picture embedded, readable offline.

The report reads what the store holds (config, history, health, diagnosis, weights) and draws the
pictures of :mod:`convscope.insight`; it never trains. Templates are Jinja2 with autoescaping on,
so every string that came from a user (names, config, class names, notes) is HTML-escaped.

Example:
    >>> from convscope.report import run_report, search_report
    >>> run_report(12)                 # doctest: +SKIP
    PosixPath('convscope-runs/runs/12/report.html')
    >>> search_report("digits-grid")   # doctest: +SKIP
    PosixPath('convscope-runs/searches/digits-grid.html')
"""

from __future__ import annotations

import base64
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import convscope  # noqa: E402
from convscope import formatting as fmt  # noqa: E402
from convscope.api import Run, load_run  # noqa: E402
from convscope.insight.diagnose import SEVERITY_ORDER  # noqa: E402
from convscope.insight.look import look  # noqa: E402
from convscope.insight.plots import Curve, plot_overlay  # noqa: E402
from convscope.report.clinical import html_tables  # noqa: E402
from convscope.store import Store  # noqa: E402
from convscope.store.status import RunStatus, has_objective  # noqa: E402

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("convscope.report", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

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


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figure(path: Path, *, title: str = "", caption: str = "") -> dict[str, str]:
    return {"src": _data_uri(path), "alt": path.stem, "title": title, "caption": caption}


def _fmt(value: Any, digits: int = 4) -> str:
    return fmt.number(value, digits, style="short")


def _pct(value: float | None) -> str:
    return fmt.percent(value, decimals=1)


def _metric(name: str, value: float | None) -> str:
    """Accuracy-like metrics as percentages, losses as numbers."""
    return fmt.metric(name, value, decimals=1, style="short")


def _render(template: str, out: Path, **context: Any) -> Path:
    html = _ENV.get_template(template).render(version=convscope.__version__,
                                              generated=datetime.now().strftime("%Y-%m-%d %H:%M"), **context)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    return out


# -- run report ---------------------------------------------------------------------------------


def _cards(run: Run) -> list[dict[str, str]]:
    best = next((h for h in run.history if h["epoch"] == run.best_epoch), None)
    cards = []
    for key, value in run.test_metrics.items():
        if key.startswith("test_") and "record" not in key and "/" not in key:  # per class: the table
            cards.append({"key": key.replace("_", " "), "value": _metric(key, value), "note": "best-epoch weights"})
    if best is not None:
        cards.append({"key": "best epoch", "value": str(run.best_epoch), "note": f"of {len(run.history)} trained"})
        for key in ("val_loss", "val_accuracy"):
            if key in best:
                cards.append({"key": key.replace("_", " "), "value": _metric(key, best[key]),
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
                else f"{_fmt(start.get('grad_norm'), 3)} → {_fmt(stats.get('grad_norm'), 3)}")
        out.append({"layer": name, "type": stats.get("type", "-"), "act": stats.get("act", "-"), "grad": grad,
                    "act_mean": _fmt(stats.get("act_mean"), 3), "act_std": _fmt(stats.get("act_std"), 3),
                    "dead": _pct(stats["dead_frac"]) if "dead_frac" in stats else "-",
                    "saturated": _pct(stats["saturated_frac"]) if "saturated_frac" in stats else "-",
                    "pre_max": _fmt(start.get("pre_max"), 3)})
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
        cells = [{"value": h.get(c, ""), "text": _fmt(h.get(c), 4) if c != "seconds" else f"{h.get(c, 0):.2f}"}
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
        occlusion_samples: how many validation samples the occlusion and Grad-CAM pictures show.
    """
    if not isinstance(run, Run):
        run = load_run(run, home=home)
    out = Path(out) if out is not None else run.dir / "report.html"
    has_weights = (run.dir / "best.safetensors").exists()
    curves = look(run, "curves")
    groups = []
    for gid, title, lead, items in PICTURES:
        figures = []
        for what, caption in items:
            if not has_weights:
                break
            options = {"count": occlusion_samples} if what in ("occlusion", "gradcam") else {}
            paths = look(run, what, **options)
            for i, path in enumerate(paths):  # one caption per kind, under its last picture
                last = i == len(paths) - 1
                figures.append(_figure(path, title=what if last else "", caption=caption if last else ""))
        groups.append({"id": gid, "title": title, "lead": lead, "figures": figures})
    summary, summary_error = _summary(run) if has_weights else (None, "no stored weights")
    store = Store(run.home)
    row = store.run(run.id)
    search = None
    if row.get("search"):
        search = {"name": row["search"], "trial": row.get("trial"),
                  "params": ", ".join(f"{k}={v}" for k, v in (row.get("params") or {}).items())}
    env = run.info.env
    page = _render(
        "run.html", out,
        run={"id": run.id, "name": run.name, "status": run.status, "reason": run.reason,
             "data": run.info.data_name or run.config.data.source,
             "input_shape": "×".join(map(str, run.info.input_shape or [])),
             "classes": len(run.info.class_names), "monitor": run.config.train.monitor,
             "created": datetime.fromtimestamp(row["created"]).strftime("%Y-%m-%d %H:%M")},
        cards=_cards(run), notes=run.notes, search=search, classes=html_tables(run),
        verdicts=sorted(run.info.diagnosis, key=lambda v: SEVERITY_ORDER.get(v.get("severity"), 3)),
        curves=[_figure(p) for p in curves], health=_health_rows(run),
        last_epoch=run.history[-1]["epoch"] if run.history else "-",
        summary=summary, summary_error=summary_error, groups=groups, history=_history(run),
        config_yaml=run.config.to_yaml(), env=sorted((k, str(v)) for k, v in env.items()))
    store.push_artifacts(run.id)  # a remote artifact root gets the report and its pictures too
    return page


# -- search report ------------------------------------------------------------------------------


def _most_serious(diagnosis: list[dict[str, Any]]) -> dict[str, Any] | None:
    problems = [v for v in diagnosis if v.get("severity") in ("error", "warning")]
    return min(problems, key=lambda v: SEVERITY_ORDER[v["severity"]]) if problems else None


def _param_cell(value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        return {"value": value, "text": f"{value:.3g}"}
    return {"value": value, "text": str(value)}


def _plot_color(status: str) -> str:
    known = RunStatus.of(status)
    return known.plot_color if known else "0.5"


def _objective_figure(trials: list[dict[str, Any]], metric: str, maximize: bool, path: Path) -> Path:
    fig, ax = plt.subplots(layout="constrained", figsize=(9, 3.6))
    done = [t for t in trials if t["value"] is not None and math.isfinite(t["value"])]
    for status in sorted({t["status"] for t in done}):
        pts = [t for t in done if t["status"] == status]
        ax.scatter([t["number"] for t in pts], [t["value"] for t in pts], s=28, color=_plot_color(status),
                   label=status, zorder=3, alpha=0.9 if has_objective(status) else 0.6)
    best, xs, ys = None, [], []
    for t in sorted(done, key=lambda t: t["number"]):
        if has_objective(t["status"]) and (
                best is None or (t["value"] > best if maximize else t["value"] < best)):
            best = t["value"]
        if best is not None:
            xs.append(t["number"])
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="C2", linewidth=1.5, label="best so far")
    ax.set_xlabel("trial")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _axis(values: list[Any]) -> tuple[list[float], list[float], list[str]]:
    """Positions in [0, 1] for one parallel-coordinates axis, with tick positions and labels."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric:
        vals = np.array(values, dtype=float)
        log = vals.min() > 0 and vals.max() / vals.min() > 30  # a loguniform range reads better on a log axis
        t = np.log10(vals) if log else vals
        low, high = t.min(), t.max()
        pos = ((t - low) / (high - low)).tolist() if high > low else [0.5] * len(vals)
        ticks = sorted(set(values))
        if len(ticks) > 5:
            ticks = [float(10 ** x) if log else float(x) for x in np.linspace(low, high, 5)]
        tick_t = np.log10(ticks) if log else np.array(ticks, dtype=float)
        tick_pos = ((tick_t - low) / (high - low)).tolist() if high > low else [0.5] * len(ticks)
        return pos, tick_pos, [f"{v:.3g}" for v in ticks]
    cats = sorted({str(v) for v in values})
    step = 1 / max(len(cats) - 1, 1)
    where = {c: (i * step if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
    return [where[str(v)] for v in values], list(where.values()), cats


def _parallel_figure(trials: list[dict[str, Any]], names: list[str], metric: str, maximize: bool,
                     path: Path) -> Path | None:
    done = [t for t in trials if t["value"] is not None and math.isfinite(t["value"])
            and all(n in t["params"] for n in names)]
    if len(done) < 2 or not names:
        return None
    axes_names = [*names, metric]
    columns = [_axis([t["params"][n] for t in done]) for n in names]
    columns.append(_axis([t["value"] for t in done]))
    values = np.array([t["value"] for t in done])
    norm = plt.Normalize(values.min(), values.max())
    cmap = plt.get_cmap("viridis" if maximize else "viridis_r")
    fig, ax = plt.subplots(layout="constrained", figsize=(max(6.0, 2.0 * len(axes_names)), 4.2))
    order = np.argsort(values if maximize else -values)  # the best drawn last, on top
    for i in order:
        t = done[i]
        ys = [col[0][i] for col in columns]
        good = has_objective(t["status"])
        ax.plot(range(len(axes_names)), ys, color=cmap(norm(t["value"])) if good else "0.7",
                linewidth=1.8 if good else 0.9, alpha=0.9 if good else 0.5, linestyle="-" if good else "--")
    for x, (_, tick_pos, labels) in enumerate(columns):
        ax.axvline(x, color="0.3", linewidth=0.8)
        for p, label in zip(tick_pos, labels, strict=True):
            ax.text(x + 0.03, p, label, fontsize=7, va="center")
    ax.set_xticks(range(len(axes_names)), axes_names)
    ax.set_yticks([])
    ax.set_xlim(-0.1, len(axes_names) - 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=metric, pad=0.01)
    ax.set_title("one line per trial (dashed grey: pruned or failed)", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _importance_figure(study: Any, path: Path) -> tuple[Path | None, str]:
    import optuna

    try:
        importances = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError) as exc:
        return None, f"parameter importance needs more completed trials ({exc})"
    if not importances:
        return None, "parameter importance: no parameter varied among the completed trials"
    names = list(importances)[::-1]
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 0.5 * len(names) + 1.2))
    ax.barh(names, [importances[n] for n in names], color="C0")
    for y, n in enumerate(names):
        ax.text(importances[n] + 0.01, y, f"{importances[n]:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("share of the objective's variance (fANOVA)")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, ""


def search_report(name: str, *, home: str | Path | None = None, out: str | Path | None = None,
                  best_run_report: bool = True) -> Path:
    """Write ``<home>/searches/<name>.html``: leaderboard, objective by trial, parameters, all curves.

    Args:
        name: the search's name.
        home: the run store.
        out: the HTML path instead of the default.
        best_run_report: link the best trial's run report, writing it first if it is not there yet.
    """
    from convscope.tuning import load_search
    from convscope.tuning.ranking import ranked as ranked_trials
    from convscope.tuning.study import open_storage, open_study

    store = Store(home)
    result = load_search(name, home=store.home)
    out = Path(out) if out is not None else store.home / "searches" / f"{name}.html"
    figures_dir = store.home / "searches" / f"{name}-figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    maximize = result.direction == "maximize"
    best = result.best

    trials, curves = [], []
    for t in sorted(result.trials, key=lambda t: t.number):
        row = store.run(t.run_id) if t.run_id is not None else None
        history = store.epochs(t.run_id) if t.run_id is not None else []
        trials.append({"number": t.number, "status": t.status, "params": t.params, "value": t.value, "run": row,
                       "trial": t, "history": history})
        if history:
            is_best = best is not None and t.number == best.number
            curves.append(Curve(f"trial {t.number}", history, faded=not has_objective(t.status),
                                highlight=is_best))

    best_href = None
    if best is not None and best.run_id is not None and best_run_report:
        page = store.run_dir(best.run_id) / "report.html"
        if not page.exists():  # a finished trial does not change; `convscope report RUN` redraws it
            run_report(best.run_id, home=store.home)
        best_href = os.path.relpath(page, out.parent)

    def href(run_id: int | None) -> str | None:
        """A link to the run's report if one was written (``convscope report RUN``)."""
        page = store.run_dir(run_id) / "report.html" if run_id is not None else None
        return os.path.relpath(page, out.parent) if page is not None and page.exists() else None

    param_names = sorted({k for t in trials for k in t["params"]})
    rank_of = {t.number: i + 1 for i, t in enumerate(ranked_trials(result.trials, result.objective))}
    rows = []
    for t in sorted(trials, key=lambda t: (rank_of.get(t["number"], math.inf), t["number"])):
        tr, run_row = t["trial"], t["run"]
        verdict = _most_serious((run_row or {}).get("info", {}).get("diagnosis") or []) if run_row else None
        finished = run_row is not None and run_row["status"] != RunStatus.RUNNING
        rows.append({
            "rank": rank_of.get(t["number"], ""), "rank_value": rank_of.get(t["number"], 1e9),
            "trial": t["number"], "run_id": tr.run_id,
            "href": href(tr.run_id),
            "params": [_param_cell(t["params"].get(p, "-")) for p in param_names],
            "objective": _fmt(t["value"]), "objective_value": t["value"] if t["value"] is not None else "",
            "status": t["status"], "epochs": tr.epochs,
            "seconds": f"{tr.seconds:.1f} s" if tr.seconds is not None else "-", "seconds_value": tr.seconds or 0,
            "verdict": verdict["short"] if verdict else ("healthy" if finished and run_row["info"].get("diagnosis")
                                                          is not None else "-"),
            "verdict_severity": verdict["severity"] if verdict else "",
            "verdict_rank": SEVERITY_ORDER[verdict["severity"]] if verdict else 9,
            "best": best is not None and t["number"] == best.number,
            "faded": not has_objective(t["status"]),
        })

    objective_figs = [_figure(_objective_figure(trials, result.metric, maximize, figures_dir / "objective.png"))]
    param_figs, param_notes = [], []
    parallel = _parallel_figure(trials, param_names, result.metric, maximize, figures_dir / "parallel.png")
    if parallel is not None:
        param_figs.append(_figure(parallel, title="Parallel coordinates.",
                                  caption="Each vertical axis is a parameter (the last one the objective)."))
    row = store.search(name)
    study = open_study(name, open_storage(row["storage"], store=store))
    importance, note = _importance_figure(study, figures_dir / "importance.png")
    if importance is not None:
        param_figs.append(_figure(importance, title="Parameter importance.",
                                  caption="fANOVA: how much of the objective's variance each parameter explains."))
    else:
        param_notes.append(note)
    curve_figs = []
    if curves:
        path = plot_overlay(curves, figures_dir / "curves.png", title=f"search {name}: every trial's validation curves")
        curve_figs.append(_figure(path))

    pruned = sum(1 for t in trials if t["status"] == RunStatus.PRUNED)
    cards = [{"key": f"best {result.metric}", "value": _metric(result.metric, result.best_value),
              "note": f"trial {best.number}, run {best.run_id}" if best else "no completed trial"},
             {"key": "trials", "value": f"{result.finished}/{result.budget}", "note": f"{pruned} pruned"},
             {"key": "epochs trained", "value": str(result.epochs), "note": "over all trials"}]
    info = result.info
    return _render(
        "search.html", out,
        search={"name": name, "status": result.status, "metric": result.metric, "direction": result.direction,
                "budget": result.budget, "finished": result.finished, "epochs": result.epochs,
                "strategy": info.strategy if info else "-", "pruner": info.pruner if info else "-",
                "note": info.note if info else None},
        cards=cards, param_names=param_names, rows=rows,
        best={"trial": best.number, "run_id": best.run_id, "href": best_href,
              "params": ", ".join(f"{k}={_param_cell(v)['text']}" for k, v in best.params.items())} if best else None,
        objective_figs=objective_figs, param_figs=param_figs, param_notes=param_notes, curve_figs=curve_figs)


__all__ = ["run_report", "search_report"]
