"""How every picture of a run draws: the signed colormap, a sample as an image or a signal, panel grids, saving.

Kept apart from what the pictures *read* from a run (``run_parts.py``): this module knows matplotlib,
not runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

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


# Every picture is saved at DPI and shown by the HTML report at most REPORT_WIDTH_PX wide: the content
# box of a section in report/templates/base.html (.wrap 1180 px - 2 x 24 padding - 2 x (22 padding + 1
# border)). A wider PNG is scaled down by the browser, and its text with it.
DPI = 110
REPORT_WIDTH_PX = 1086
MIN_TEXT_PX = 10.0  # the smallest text a person reads without zooming, at the report's width
# The PNG text chunk that records the smallest text of a picture, in pixels of the PNG itself: the
# browser test multiplies it by (displayed width / PNG width) to get the size a reader sees.
TEXT_PX_KEY = "convscope:min-text-px"


def _texts(fig: canvas.Figure) -> list[Text]:
    """The figure's visible, non-empty texts (titles, labels, tick labels, legends, annotations)."""
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _readable(fig: canvas.Figure, *, max_width_px: int) -> float:
    """Raise every text below what reads as MIN_TEXT_PX once the PNG is scaled to ``max_width_px``;
    returns the smallest text in PNG pixels. A text is raised, never shrunk, so a picture drawn with
    large enough text is unchanged; tick labels go through ``tick_params``, since an axis makes new
    tick labels from it whenever its ticks change."""
    smallest = 0.0
    for _ in range(3):  # raising text can widen the picture (a longer tick label): measure again
        renderer = FigureCanvasAgg(fig).get_renderer()  # a bare Figure's own canvas cannot measure text
        fig.draw_without_rendering()  # lays the figure out (constrained layout, ticks) as saving will
        width_px = (fig.get_tightbbox(renderer).width + 0.2) * DPI  # bbox_inches="tight" pads 0.1 in a side
        shown = min(1.0, max_width_px / width_px)
        floor_pt = MIN_TEXT_PX * 72 / (DPI * shown) + 0.05
        texts = _texts(fig)
        small = [t for t in texts if t.get_fontsize() < floor_pt]
        smallest = min((t.get_fontsize() for t in texts), default=floor_pt) * DPI / 72
        if not small:
            break
        for ax in fig.axes:
            for which in ("x", "y"):
                labels = getattr(ax, f"get_{which}ticklabels")()
                if labels and min(t.get_fontsize() for t in labels) < floor_pt:
                    ax.tick_params(axis=which, labelsize=floor_pt)
        for t in small:
            t.set_fontsize(floor_pt)
    return smallest


def save(fig: canvas.Figure, path: Path, *, max_width_px: int = REPORT_WIDTH_PX) -> Path:
    """Write ``fig`` as a PNG at ``path`` (folders made), its text readable at the report's width.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> fig, ax = canvas.subplots(figsize=(20, 2))  # twice the report's width: shown at half size
        >>> _ = ax.set_title("tiny", fontsize=6)
        >>> path = save(fig, Path(tempfile.mkdtemp()) / "wide.png")
        >>> with Image.open(path) as png:
        ...     shown = min(1, REPORT_WIDTH_PX / png.width)
        ...     print(float(png.text[TEXT_PX_KEY]) * shown >= MIN_TEXT_PX)
        True
    """
    smallest = _readable(fig, max_width_px=max_width_px)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={TEXT_PX_KEY: f"{smallest:.2f}"})
    return path


def grid(n: int, *, max_cols: int = 8) -> tuple[int, int]:
    """(rows, cols) for n panels, as square as the column limit allows."""
    cols = min(max_cols, max(1, int(np.ceil(np.sqrt(n)))))
    return int(np.ceil(n / cols)), cols


def safe_name(name: str) -> str:
    """A layer name usable in a file name."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
