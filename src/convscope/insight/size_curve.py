"""Metric against training-set size: the picture of a search that varies ``data.train_size``.

One line per value of the search's other parameter(s) (e.g. one per weight decay), training dashed and
validation solid, the training-set size on a log axis: where the lines of different strengths part, the
regularization matters (small data); where they meet, it stops mattering. Each point is the run's best
epoch (``train.monitor``: the weights it keeps and tests), and every point is measured on the same
validation set, because ``data.train_size`` shrinks only the training split (``data/train_size.py``).

A parameter that only repeats a run with another seed (its value is the run's ``seed``) is not a line:
its runs are averaged, and the band shows their spread (min to max).

Example:
    >>> points = [SizePoint(n, "wd=0", 1.0, n / 2000) for n in (1000, 100)] + [SizePoint(100, "wd=0", 1.0, 0.15)]
    >>> [(line.group, line.sizes, line.val, line.runs) for line in size_lines(points)]
    [('wd=0', [100, 1000], [0.1, 0.5], [2, 1])]
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from matplotlib.ticker import FixedLocator, NullLocator

from convscope.insight import canvas
from convscope.insight.drawing import save
from convscope.insight.look import PICTURES
from convscope.store import Store
from convscope.store.status import has_objective

if TYPE_CHECKING:
    from convscope.tuning import Search


@dataclass
class SizePoint:
    """One finished trial: its training-set size, its line, and the metric at its best epoch.

    Args:
        size: training samples it trained on (after ``data.train_size``).
        group: the line it belongs to, e.g. ``"weight_decay=0.001"`` (``""`` when nothing else varies).
        train: the training metric at the best epoch (averaged over that epoch's batches).
        val: the validation metric at the best epoch.
    """

    size: int
    group: str
    train: float | None
    val: float | None


@dataclass
class SizeLine:
    """One line of the picture: per size, the mean over that size's runs, and their min and max."""

    group: str
    sizes: list[int]
    train: list[float]
    val: list[float]
    val_low: list[float]
    val_high: list[float]
    runs: list[int]


def _mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(kept)) if kept else math.nan


def size_lines(points: list[SizePoint]) -> list[SizeLine]:
    """The points grouped into lines (in the order groups first appear), each sorted by size."""
    by_group: dict[str, dict[int, list[SizePoint]]] = defaultdict(lambda: defaultdict(list))
    for p in points:
        by_group[p.group][p.size].append(p)
    lines = []
    for group, by_size in by_group.items():
        sizes = sorted(by_size)
        vals = [[p.val for p in by_size[n] if p.val is not None] or [math.nan] for n in sizes]
        lines.append(SizeLine(group, sizes, [_mean([p.train for p in by_size[n]]) for n in sizes],
                              [_mean(v) for v in vals], [min(v) for v in vals], [max(v) for v in vals],
                              [len(by_size[n]) for n in sizes]))
    return lines


def _same_in_every_trial(trials: list[tuple[dict[str, Any], Any]]) -> set[str]:
    """The parameters whose value equals the given config value in every trial."""
    names = set.intersection(*(set(params) for params, _ in trials)) if trials else set()
    return {name for name in names if all(params[name] == value for params, value in trials)}


def size_points(search: Search, *, metric: str | None = None) -> tuple[list[SizePoint], str]:
    """Every finished trial of ``search`` as a :class:`SizePoint`, and the metric's name (e.g. ``accuracy``).

    Args:
        search: a search (:func:`convscope.tuning.load_search`).
        metric: default: the search objective's metric without its ``val_`` prefix.
    """
    metric = metric or search.metric.removeprefix("val_").removeprefix("train_")
    store = Store(search.home)
    finished = []
    for t in search.trials:
        if t.run_id is None or not has_objective(t.status):  # a pruned run did not train to its end
            continue
        row = store.run(t.run_id)
        config = yaml.safe_load(row["config"])
        finished.append((t, row, config))
    size_params = _same_in_every_trial([(t.params, c["data"].get("train_size")) for t, _, c in finished])
    seed_params = _same_in_every_trial([(t.params, c.get("seed")) for t, _, c in finished])
    points = []
    for t, row, config in finished:
        size = (row["info"].get("meta") or {}).get("train_samples") or config["data"].get("train_size")
        if not isinstance(size, int):  # a run from before train_size, or no train_size at all
            continue
        history = store.epochs(t.run_id)
        best = next((h for h in history if h["epoch"] == row["best_epoch"]), history[-1] if history else {})
        others = sorted(k for k in t.params if k not in size_params | seed_params)
        group = ", ".join(f"{k}={t.params[k]}" for k in others)
        points.append(SizePoint(size, group, best.get(f"train_{metric}"), best.get(f"val_{metric}")))
    return points, metric


def varies_train_size(points: list[SizePoint]) -> bool:
    """True when the points hold at least two training-set sizes (a curve, not a dot)."""
    return len({p.size for p in points}) >= 2


def _group_key(group: str) -> tuple:
    """Sort lines by their parameter values, numerically where they are numbers."""
    def value(part: str) -> tuple[int, float | str]:
        text = part.partition("=")[2]
        try:
            return (0, float(text))
        except ValueError:
            return (1, text)
    return tuple(value(part) for part in group.split(", "))


def draw_size_curve(lines: list[SizeLine], *, metric: str, title: str) -> canvas.Figure:
    """Train dashed, validation solid, one color per line; sizes on a log axis labelled with their counts."""
    lines = sorted(lines, key=lambda line: _group_key(line.group))
    fig, ax = canvas.subplots(layout="constrained", figsize=(7.2, 4.6))
    colors = canvas.get_cmap("viridis")(np.linspace(0.0, 0.85, max(len(lines), 1)))
    for line, color in zip(lines, colors, strict=False):
        label = line.group or "all runs"
        ax.plot(line.sizes, line.val, "-", marker="o", markersize=4, color=color, label=label)
        ax.plot(line.sizes, line.train, "--", marker="o", markersize=3, color=color, alpha=0.8)
        if max(line.runs) > 1:
            ax.fill_between(line.sizes, line.val_low, line.val_high, color=color, alpha=0.15, linewidth=0)
    sizes = sorted({n for line in lines for n in line.sizes})
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{n:,}" for n in sizes], fontsize=8, rotation=30 if len(sizes) > 6 else 0)
    ax.set_xlabel("training samples (data.train_size; validation set fixed)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.plot([], [], "k-", label="validation (solid)")
    ax.plot([], [], "k--", label="train (dashed)")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title, fontsize=9)
    return fig


@PICTURES.register("size-curve", order=200, of="search")
def look_size_curve(search: Search, out_dir: Path, *, metric: str | None = None) -> list[Path]:
    """``size-curve.png``: the search's metric against training-set size; nothing when the size did not vary."""
    points, metric = size_points(search, metric=metric)
    if not varies_train_size(points):
        return []
    lines = size_lines(points)
    repeats = max(max(line.runs) for line in lines)
    spread = f"; mean of {repeats} seeds, band: min-max" if repeats > 1 else ""
    fig = draw_size_curve(lines, metric=metric,
                          title=f"search {search.name}: {metric} at each run's best epoch{spread}")
    return [save(fig, Path(out_dir) / "size-curve.png")]


__all__ = ["SizeLine", "SizePoint", "draw_size_curve", "look_size_curve", "size_lines", "size_points",
           "varies_train_size"]
