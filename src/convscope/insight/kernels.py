"""Conv kernels as pictures: what each filter multiplies its input window by.

- A 1-tap (1D) or 1x1 (2D) layer: one picture for the whole layer -- a bar per filter when it reads one
  channel, else a (filter x input channel) matrix -- instead of a panel of one dot per filter.
- A layer reading one input channel (usually the first): one panel per filter, 2D kernels as small
  images, 1D kernels as line plots.
- A deeper layer: one mosaic with a row of kernels per filter and a column per input channel (a 1D
  kernel is a strip of its taps).

Colors: a diverging map centred on zero with symmetric bounds (``vmin = -vmax``) shared by every kernel
of the layer, so red and blue mean the same weight everywhere in the figure and a pale kernel is a weak
one. PyTorch's "convolution" is cross-correlation: the kernel slides over the input as drawn, with no
flip, so its top-left weight meets the top-left pixel of each window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from convscope.insight import canvas
from convscope.insight.drawing import SIGNED_CMAP, grid, safe_name, save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import conv_layers, pick_layers

if TYPE_CHECKING:
    from convscope.api import Run

NO_FLIP = "PyTorch conv = cross-correlation: applied as drawn, no flip"


@dataclass
class KernelGrid:
    """A layer's kernels ready to draw.

    Args:
        weights: (out, in, k) for 1D, (out, in, kh, kw) for 2D, at most ``max_out`` × ``max_in``.
        vmax: the symmetric color bound shared by all kernels: the largest |weight| of the layer.
        out_channels, in_channels: the layer's full sizes (the picture may show fewer).
    """

    weights: np.ndarray
    vmax: float
    out_channels: int
    in_channels: int

    @property
    def vmin(self) -> float:
        return -self.vmax


def kernel_grid(weight: torch.Tensor, *, max_out: int = 32, max_in: int = 16) -> KernelGrid:
    """The kernels of a conv weight ``(out, in/groups, *kernel)`` and their shared symmetric bound."""
    w = weight.detach().float().cpu().numpy()
    vmax = float(np.abs(w).max()) or 1.0  # an all-zero layer still gets a valid color range
    return KernelGrid(w[:max_out, :max_in], vmax, w.shape[0], w.shape[1])


def _shown(g: KernelGrid) -> str:
    out, inn = g.weights.shape[:2]
    parts = []
    if out < g.out_channels:
        parts.append(f"first {out} of {g.out_channels} filters")
    if inn < g.in_channels:
        parts.append(f"first {inn} of {g.in_channels} input channels")
    return f" ({', '.join(parts)})" if parts else ""


def _draw_pointwise(g: KernelGrid) -> canvas.Figure:
    """A 1-tap (1D) or 1x1 (2D) layer: each kernel is one weight per input channel, so the whole layer is
    one picture -- a bar per filter when it reads one channel, else one (filter x input channel) matrix."""
    out, inn = g.weights.shape[:2]
    w = g.weights.reshape(out, inn)  # (out, in)
    cmap = canvas.get_cmap(SIGNED_CMAP)
    norm = canvas.Normalize(g.vmin, g.vmax)
    if inn == 1:
        fig, ax = canvas.subplots(layout="constrained", figsize=(min(9.5, 2.0 + 0.28 * out), 2.6))
        ax.bar(np.arange(out), w[:, 0], color=cmap(norm(w[:, 0])), edgecolor="0.3", linewidth=0.5)
        ax.set_xlim(-0.6, out - 0.4)
        ax.axhline(0, color="0.4", linewidth=0.7)
        ax.set_ylim(g.vmin * 1.08, g.vmax * 1.08)
        ax.set_ylabel("weight")
        ax.set_xlabel("filter")
    else:
        fig, ax = canvas.subplots(layout="constrained",
                                  figsize=(min(9.5, 2.4 + 0.2 * inn), min(8.0, 1.3 + 0.2 * out)))
        image = ax.imshow(w, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        ax.set_ylabel("output channel (filter)")
        ax.set_xlabel("input channel")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def draw_kernels(g: KernelGrid, *, title: str) -> canvas.Figure:
    """The figure for one layer (see the module docstring for the layouts)."""
    out, inn = g.weights.shape[:2]
    signal = g.weights.ndim == 3
    if int(np.prod(g.weights.shape[2:])) == 1:
        fig = _draw_pointwise(g)
    elif inn == 1:
        rows, cols = grid(out)
        fig, axes = canvas.subplots(rows, cols, layout="constrained", figsize=(1.5 * cols + 0.8, 1.45 * rows + 0.7),
                                 squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= out:
                ax.axis("off")
                continue
            k = g.weights[i, 0]
            if signal:
                taps = np.arange(len(k))
                ax.axhline(0, color="0.6", linewidth=0.6)
                ax.plot(taps, k, marker="o", markersize=2.5, linewidth=1.1, color="C0")
                ax.set_ylim(g.vmin * 1.08, g.vmax * 1.08)
                ax.set_xticks(taps if len(k) <= 9 else taps[::max(1, len(k) // 5)])
                ax.tick_params(labelsize=6)
                if i % cols:
                    ax.set_yticklabels([])
            else:
                image = ax.imshow(k, cmap=SIGNED_CMAP, vmin=g.vmin, vmax=g.vmax)
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_title(f"filter {i}", fontsize=7)
        fig.supxlabel(("tap (offset in the window)" if signal else "kernel column") + f" — {NO_FLIP}", fontsize=8)
        if not signal:
            fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    else:
        # one mosaic image (rows: filters, columns: input channels, a blank line between kernels; a 1D
        # kernel is a 1 x taps strip): the same picture as a grid of axes, drawn in one imshow instead of
        # out x in of them, and a fraction of their height
        weights = g.weights[:, :, None, :] if signal else g.weights  # (out, in, kh, kw)
        kh, kw = weights.shape[2:]
        mosaic = np.full((out * (kh + 1) - 1, inn * (kw + 1) - 1), np.nan)
        for o in range(out):
            for i in range(inn):
                mosaic[o * (kh + 1):o * (kh + 1) + kh, i * (kw + 1):i * (kw + 1) + kw] = weights[o, i]
        unit = 0.1 if signal else 0.11  # inches per weight (11-12 px): a filter's row still fits its label
        rows_unit = 0.1 if signal else unit  # a 1D filter: a row of weights and a blank one, 22 px a label
        size = (min(9.5, unit * mosaic.shape[1] + 2.6), min(12.0, rows_unit * mosaic.shape[0] + 1.5))
        fig, ax = canvas.subplots(layout="constrained", figsize=size)
        cmap = canvas.get_cmap(SIGNED_CMAP).with_extremes(bad="white")
        image = ax.imshow(mosaic, cmap=cmap, vmin=g.vmin, vmax=g.vmax, interpolation="nearest",
                          aspect="auto" if signal else "equal")
        ax.set_xticks([i * (kw + 1) + (kw - 1) / 2 for i in range(inn)], [str(i) for i in range(inn)])
        ax.set_yticks([o * (kh + 1) + (kh - 1) / 2 for o in range(out)], [str(o) for o in range(out)])
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_ylabel("output channel (filter)")
        ax.set_xlabel(("input channel (each cell: the taps, left to right)" if signal else "input channel")
                      + f" — {NO_FLIP}")
        fig.colorbar(image, ax=ax, shrink=0.6, label="weight")
    fig.suptitle(title + _shown(g), fontsize=9)
    return fig


@PICTURES.register("kernels", order=20)
def look_kernels(run: Run, out_dir: Path, *, layer: str | None = None, max_layers: int = 6) -> list[Path]:
    """One PNG per conv layer (``kernels-conv1.png`` ...), or only ``layer``.

    Args:
        run: a stored run (its best weights are drawn).
        out_dir: where the PNGs go.
        layer: a conv layer's name; default: the first ``max_layers`` conv layers.
    """
    layers = pick_layers(conv_layers(run.model), layer)
    paths = []
    for name, module in layers[:max_layers]:
        g = kernel_grid(module.weight)
        k = module.weight.shape[2:]
        size = f"of {k[0]} tap{'s' if k[0] > 1 else ''}" if len(k) == 1 else "×".join(map(str, k))
        fig = draw_kernels(g, title=f"run {run.id} {name}: {g.out_channels} kernels {size} over "
                                    f"{g.in_channels} input channel{'s' if g.in_channels > 1 else ''}, "
                                    f"color scale ±{g.vmax:.3g}")
        paths.append(save(fig, Path(out_dir) / f"kernels-{safe_name(name)}.png"))
    return paths


__all__ = ["KernelGrid", "draw_kernels", "kernel_grid", "look_kernels"]
