"""Learning curves: train vs validation loss and every metric per epoch (the notebook's `model loss`)."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.ticker import MaxNLocator

from convscope.insight import canvas


def curve_metrics(history: list[dict]) -> list[str]:
    """Metric names that have a val_ series (loss first), e.g. ['loss', 'accuracy', 'auc']."""
    names = {k.removeprefix("val_") for row in history for k in row if k.startswith("val_")}
    return sorted(names, key=lambda n: (n != "loss", n != "accuracy", n))


def plot_curves(history: list[dict], path: str | Path, *, title: str = "", best_epoch: int | None = None) -> Path:
    """Draw one panel per metric, train dashed vs validation solid; mark the best epoch."""
    path = Path(path)
    names = curve_metrics(history)
    fig, axes = canvas.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for ax, name in zip(axes[0], names, strict=True):
        for split, style in (("train", "--"), ("val", "-")):
            values = [row.get(f"{split}_{name}", math.nan) for row in history]
            if any(v is not None and math.isfinite(v) for v in values):
                ax.plot(epochs, values, style, marker="o", markersize=3, label=split)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", alpha=0.4, linewidth=1, label=f"best epoch {best_epoch}")
        ax.set_title(f"model {name}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
