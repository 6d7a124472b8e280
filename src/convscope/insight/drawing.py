"""How every picture of a run draws: the signed colormap, a sample as an image or a signal, panel grids, saving.

Kept apart from what the pictures *read* from a run (``run_parts.py``): this module knows matplotlib,
not runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convscope.insight import canvas

# Diverging colormap for signed values (kernels, correlations of sign): white at zero.
SIGNED_CMAP = "RdBu_r"


def draw_sample(ax: canvas.Axes, x: np.ndarray, *, title: str = "") -> None:
    """A sample as an image (C, H, W) or a signal (C, L) on ``ax``."""
    if x.ndim == 2:  # (C, L)
        for c in range(x.shape[0]):
            ax.plot(x[c], linewidth=0.9, label=f"ch {c}" if x.shape[0] > 1 else None)
        ax.set_xlim(0, x.shape[1] - 1)
        ax.grid(alpha=0.3)
    else:  # (C, H, W)
        if x.shape[0] == 3:
            ax.imshow(np.clip(x.transpose(1, 2, 0), 0, 1))
        else:
            ax.imshow(x[0], cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def save(fig: canvas.Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders made) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def grid(n: int, *, max_cols: int = 8) -> tuple[int, int]:
    """(rows, cols) for n panels, as square as the column limit allows."""
    cols = min(max_cols, max(1, int(np.ceil(np.sqrt(n)))))
    return int(np.ceil(n / cols)), cols


def safe_name(name: str) -> str:
    """A layer name usable in a file name."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
