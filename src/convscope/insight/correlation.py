"""How redundant the learned features are: the correlation matrix of the penultimate layer on validation data.

The penultimate layer is the input of the last dense layer: the features the classifier reads.
Drawing rules, each for a reason:

- features ordered by hierarchical clustering (scipy, average linkage on 1 - r), so groups of
  redundant features show as bright blocks instead of salt-and-pepper;
- color range limited to the middle 99.5% of the off-diagonal |r| (the diagonal is always 1 and a
  few outliers would otherwise wash out the rest), with symmetric bounds ``-v..v``;
- a diverging colormap whose middle (r = 0) is a dull dark color and whose ends (|r| high) are bright
  (matplotlib's ``berlin``): what catches the eye is strong correlation of either sign, not noise.

Features that are constant on the validation set (dead units) have no correlation and are left out
(their number is in the title).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform
from torch import nn

from convscope.insight import canvas
from convscope.insight.drawing import save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import capture, run_data
from convscope.train.health import layer_root

if TYPE_CHECKING:
    from convscope.api import Run

CENTRAL = 99.5  # percent of off-diagonal |r| values inside the color range
CMAP = "berlin"  # diverging, dark at zero, bright at both ends


@dataclass
class Correlation:
    """The clustered correlation matrix of a layer's features.

    Args:
        matrix: (F, F) correlations, rows/columns in ``order``.
        order: original feature indices in the clustered order.
        limit: the symmetric color bound (the 99.5th percentile of off-diagonal |r|).
        dropped: features left out because they were constant.
        layer: whose input the features are.
    """

    matrix: np.ndarray
    order: np.ndarray
    limit: float
    dropped: int
    layer: str


def penultimate_features(model: nn.Module, x: torch.Tensor, *, batch: int = 1024) -> tuple[np.ndarray, str]:
    """The inputs of the last dense layer for ``x``: (N, F), and that layer's name."""
    dense = [(n, m) for n, m in layer_root(model).named_modules() if isinstance(m, nn.Linear)]
    if not dense:
        raise ValueError("the model has no dense layer, so no penultimate features")
    name, module = dense[-1]
    model.eval()
    parts = []
    with torch.no_grad(), capture([(name, module)], inputs=True) as seen:
        for i in range(0, len(x), batch):
            model(x[i:i + batch])
            parts.append(seen[name].float().reshape(len(x[i:i + batch]), -1))
    return torch.cat(parts).numpy(), name


def feature_correlation(features: np.ndarray, *, layer: str = "", central: float = CENTRAL) -> Correlation:
    """Correlation of the columns of ``features`` (N, F), clustered, with its color bound."""
    features = np.asarray(features, dtype=np.float64)  # float32 sums round a near-constant column to std 0
    scale = float(np.abs(features).max()) if features.size else 0.0
    keep = features.std(axis=0) > 1e-9 * (scale or 1.0)  # constant columns correlate with nothing
    kept = features[:, keep]
    dropped = int((~keep).sum())
    if kept.shape[1] < 2:
        return Correlation(np.ones((kept.shape[1],) * 2), np.flatnonzero(keep), 1.0, dropped, layer)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(kept, rowvar=False)  # (F, F)
    corr = np.nan_to_num(corr, nan=0.0)  # a column constant up to rounding is uncorrelated, not an error
    np.fill_diagonal(corr, 1.0)
    distance = np.clip(1 - corr, 0, 2)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform(distance, checks=False), method="average")
    order = leaves_list(tree)
    off = np.abs(corr[~np.eye(len(corr), dtype=bool)])
    limit = float(np.percentile(off, central)) or 1.0
    return Correlation(corr[np.ix_(order, order)], np.flatnonzero(keep)[order], limit, dropped, layer)


def draw_correlation(c: Correlation, *, title: str) -> canvas.Figure:
    n = len(c.matrix)
    fig, ax = canvas.subplots(layout="constrained", figsize=(5.2, 4.5))
    image = ax.imshow(c.matrix, cmap=CMAP, vmin=-c.limit, vmax=c.limit, interpolation="nearest")
    ticks = np.arange(n) if n <= 32 else np.linspace(0, n - 1, 16).astype(int)
    ax.set_xticks(ticks, [str(c.order[t]) for t in ticks], fontsize=6, rotation=90)
    ax.set_yticks(ticks, [str(c.order[t]) for t in ticks], fontsize=6)
    ax.set_xlabel(f"feature (input unit of {c.layer}), clustered order")
    fig.colorbar(image, ax=ax, shrink=0.85, label=f"r (clipped to ±{c.limit:.2f}, the middle {CENTRAL}%)")
    ax.set_title(title, fontsize=9)
    return fig


@PICTURES.register("correlation", order=70)
def look_correlation(run: Run, out_dir: Path, *, max_samples: int = 2048) -> list[Path]:
    """``correlation.png``: the penultimate features' correlation on (up to ``max_samples``) validation samples."""
    data = run_data(run)
    try:
        features, layer = penultimate_features(run.model, data.x_val[:max_samples])
    except ValueError:
        return []
    c = feature_correlation(features, layer=layer)
    dropped = f"; {c.dropped} constant (dead) features left out" if c.dropped else ""
    fig = draw_correlation(c, title=f"run {run.id}: correlation of the {len(c.matrix)} features feeding {layer} "
                                    f"on {len(features)} val samples{dropped}")
    return [save(fig, Path(out_dir) / "correlation.png")]


__all__ = ["Correlation", "draw_correlation", "feature_correlation", "look_correlation", "penultimate_features"]
