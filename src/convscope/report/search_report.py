"""The self-contained HTML report of a search: leaderboard, objective by trial, parameters, all curves.

It reads the search's trials from the store and the journal and links each trial's own run report;
it never trains.

Example (not run by the test suite: it needs a finished search, about 40 s on 2 cores with its
pictures; tests/report/test_report.py builds one and checks its report):
    >>> from convscope.report import search_report
    >>> search_report("digits-grid")   # doctest: +SKIP
    PosixPath('convscope-runs/searches/digits-grid.html')
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np

from convscope.insight import canvas
from convscope.insight.diagnose import SEVERITY_ORDER
from convscope.insight.drawing import save
from convscope.insight.look import look_search
from convscope.report.html import figure, metric_text, render, short_number
from convscope.report.report import run_report
from convscope.store import Store
from convscope.store.status import RunStatus, has_objective


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


# one marker per status, so completed and early-stopped trials differ without relying on colour alone
_MARKERS = {"completed": "o", "early_stopped": "^", "pruned": "x", "diverged": "v", "failed": "X",
            "interrupted": "s", "running": "."}


def _objective_figure(trials: list[dict[str, Any]], metric: str, maximize: bool, path: Path) -> Path:
    fig, ax = canvas.subplots(layout="constrained", figsize=(9, 3.6))
    done = [t for t in trials if t["value"] is not None and math.isfinite(t["value"])]
    for status in sorted({t["status"] for t in done}):
        pts = [t for t in done if t["status"] == status]
        ax.scatter([t["number"] for t in pts], [t["value"] for t in pts], s=36, color=_plot_color(status),
                   marker=_MARKERS.get(status, "o"), label=status, zorder=3, alpha=0.9 if has_objective(status) else 0.6)
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
    return save(fig, path)


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
        return pos, *_spaced(tick_pos, [f"{v:.3g}" for v in ticks])
    cats = sorted({str(v) for v in values})
    step = 1 / max(len(cats) - 1, 1)
    where = {c: (i * step if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
    return [where[str(v)] for v in values], *_spaced(list(where.values()), cats)


def _spaced(positions: list[float], labels: list[str], *, gap: float = 0.07) -> tuple[list[float], list[str]]:
    """The tick labels of one axis with at least ``gap`` (of the axis height, about a text line) between
    them, from the bottom up: two trials at 0.0944 and 0.0972 would print one label over the other.

    Example:
        >>> _spaced([0.0, 0.02, 0.5, 1.0], ["0.0944", "0.0972", "0.25", "0.403"])
        ([0.0, 0.5, 1.0], ['0.0944', '0.25', '0.403'])
    """
    kept: list[tuple[float, str]] = []
    for position, label in sorted(zip(positions, labels, strict=True)):
        if not kept or position - kept[-1][0] >= gap:
            kept.append((position, label))
    return [p for p, _ in kept], [label for _, label in kept]


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
    norm = canvas.Normalize(values.min(), values.max())
    cmap = canvas.get_cmap("viridis" if maximize else "viridis_r")
    fig, ax = canvas.subplots(layout="constrained", figsize=(max(6.0, 2.0 * len(axes_names)), 4.2))
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
            ax.text(x + 0.03, p, label, fontsize=7, va="center", zorder=4,  # above the lines, on a pale box
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.0})
    ax.set_xticks(range(len(axes_names)), axes_names)
    ax.set_yticks([])
    ax.set_xlim(-0.1, len(axes_names) - 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.colorbar(canvas.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=metric, pad=0.01)
    ax.set_title("one line per trial (dashed grey: pruned or failed)", fontsize=9)
    return save(fig, path)


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
    fig, ax = canvas.subplots(layout="constrained", figsize=(7, 0.5 * len(names) + 1.2))
    ax.barh(names, [importances[n] for n in names], color="C0")
    for y, n in enumerate(names):
        ax.text(importances[n] + 0.01, y, f"{importances[n]:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("share of the objective's variance (fANOVA)")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path), ""


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
    from convscope.insight.plots import Curve, plot_overlay  # the pictures import torch

    result = load_search(name, home=store.home)
    name = result.name  # a config name finds its newest search
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

    if best is not None and best.run_id is not None and best_run_report:
        page = store.run_dir(best.run_id) / "report.html"
        if not page.exists():  # a finished trial does not change; `convscope report RUN` redraws it
            run_report(best.run_id, home=store.home)

    def href(run_id: int | None, folder: Path) -> str | None:
        """A link from ``folder`` to the run's report if one was written (``convscope report RUN``)."""
        page = store.run_dir(run_id) / "report.html" if run_id is not None else None
        return os.path.relpath(page, folder) if page is not None and page.exists() else None

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
            "params": [_param_cell(t["params"].get(p, "-")) for p in param_names],
            "objective": short_number(t["value"]), "objective_value": t["value"] if t["value"] is not None else "",
            "status": t["status"], "epochs": tr.epochs,
            "seconds": f"{tr.seconds:.1f} s" if tr.seconds is not None else "-", "seconds_value": tr.seconds or 0,
            "verdict": verdict["short"] if verdict else ("healthy" if finished and run_row["info"].get("diagnosis")
                                                          is not None else "-"),
            "verdict_severity": verdict["severity"] if verdict else "",
            "verdict_rank": SEVERITY_ORDER[verdict["severity"]] if verdict else 9,
            "best": best is not None and t["number"] == best.number,
            "faded": not has_objective(t["status"]),
        })

    objective_figs = [figure(_objective_figure(trials, result.metric, maximize, figures_dir / "objective.png"))]
    param_figs, param_notes = [], []
    parallel = _parallel_figure(trials, param_names, result.metric, maximize, figures_dir / "parallel.png")
    if parallel is not None:
        param_figs.append(figure(parallel, title="Parallel coordinates.",
                                  caption="Each vertical axis is a parameter (the last one the objective)."))
    row = store.search(name)
    study = open_study(name, open_storage(row["storage"], store=store))
    importance, note = _importance_figure(study, figures_dir / "importance.png")
    if importance is not None:
        param_figs.append(figure(importance, title="Parameter importance.",
                                  caption="fANOVA: how much of the objective's variance each parameter explains."))
    else:
        param_notes.append(note)
    for path in look_search(name, "size-curve", figures_dir, home=store.home):  # only when train_size varies
        param_figs.insert(0, figure(path, title="Against training-set size.",
                                    caption="Each run's best epoch: validation solid, train dashed, one line per "
                                            "value of the other parameters; the validation set is the same at "
                                            "every size (data.train_size shrinks only the training split)."))
    curve_figs = []
    if curves:
        path = plot_overlay(curves, figures_dir / "curves.png", title=f"search {name}: every trial's validation curves")
        curve_figs.append(figure(path))

    pruned = sum(1 for t in trials if t["status"] == RunStatus.PRUNED)
    cards = [{"key": f"best {result.metric}", "value": metric_text(result.metric, result.best_value),
              "note": f"trial {best.number}, run {best.run_id}" if best else "no completed trial"},
             {"key": "trials", "value": f"{result.finished}/{result.budget}", "note": f"{pruned} pruned"},
             {"key": "epochs trained", "value": str(result.epochs), "note": "over all trials"}]
    info = result.info
    def render_at(at: Path) -> Path:
        """The page at ``at``, its links to run reports relative to that folder."""
        for r in rows:
            r["href"] = href(r["run_id"], at.parent)
        best_href = href(best.run_id, at.parent) if best is not None and best_run_report else None
        return render(
            "search.html", at,
            search={"name": name, "status": result.status, "metric": result.metric, "direction": result.direction,
                    "budget": result.budget, "finished": result.finished, "epochs": result.epochs,
                    "strategy": info.strategy if info else "-", "pruner": info.pruner if info else "-",
                    "note": info.note if info else None},
            cards=cards, param_names=param_names, rows=rows,
            best={"trial": best.number, "run_id": best.run_id, "href": best_href,
                  "params": ", ".join(f"{k}={_param_cell(v)['text']}" for k, v in best.params.items())}
            if best else None,
            objective_figs=objective_figs, param_figs=param_figs, param_notes=param_notes, curve_figs=curve_figs)

    page = render_at(out)
    root = store.artifact_root
    if not root.is_at(store.home):  # an artifact root: a copy beside the run reports, as run reports are
        render_at(root.search_report_path(name))
        root.push_search_report(name)
    return page

__all__ = ["search_report"]
