"""Learning curves: train vs validation loss and every metric per epoch (the notebook's `model loss`)."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.ticker import MaxNLocator

from convscope.insight import canvas
from convscope.insight.drawing import grid, save


def curve_metrics(history: list[dict]) -> list[str]:
    """Metric names that have a val_ series (loss first), e.g. ['loss', 'accuracy', 'auc']; per-class
    series (``val_f1/S``) are left to :func:`per_class_metrics`."""
    names = {k.removeprefix("val_") for row in history for k in row if k.startswith("val_") and "/" not in k}
    return sorted(names, key=lambda n: (n != "loss", n != "accuracy", n))


def per_class_metrics(history: list[dict]) -> dict[str, list[str]]:
    """Per-class validation series by metric, e.g. {'f1': ['f1/N', 'f1/S']}: one panel each, a line per class."""
    groups: dict[str, list[str]] = {}
    for key in dict.fromkeys(k.removeprefix("val_") for row in history for k in row if k.startswith("val_")):
        if "/" in key:
            groups.setdefault(key.split("/", 1)[0], []).append(key)
    return dict(sorted(groups.items()))


def plot_curves(history: list[dict], path: str | Path, *, title: str = "", best_epoch: int | None = None) -> Path:
    """Draw one panel per metric, train dashed vs validation solid; mark the best epoch."""
    path = Path(path)
    names = curve_metrics(history)
    per_class = per_class_metrics(history)
    panels = len(names) + len(per_class)
    # at most three panels a row: five metrics side by side would be scaled into a 150 px strip in the report
    rows, cols = grid(panels, max_cols=3)
    fig, axes = canvas.subplots(rows, cols, layout="constrained", figsize=(3.2 * cols, 2.7 * rows + 0.3),
                                squeeze=False)
    for ax in axes.flat[panels:]:
        ax.axis("off")
    epochs = [row["epoch"] for row in history]
    for ax, name in zip(axes.flat, [*names, *per_class], strict=False):
        lines = [("train", "--", name), ("val", "-", name)] if name in names else \
            [("val", "-", key) for key in per_class[name]]
        for split, style, key in lines:
            values = [row.get(f"{split}_{key}", math.nan) for row in history]
            if any(v is not None and math.isfinite(v) for v in values):
                label = split if key == name else key.split("/", 1)[1]  # per class: the class name
                ax.plot(epochs, values, style, marker="o", markersize=3, label=label)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", alpha=0.4, linewidth=1, label=f"best epoch {best_epoch}")
        ax.set_title(f"model {name}" if name in names else f"validation {name} per class")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, path)
