"""Conv kernels as pictures: what each filter multiplies its input window by.

- A layer reading one input channel (usually the first): one panel per filter, 2D kernels as small
  images, 1D kernels as line plots.
- A deeper layer: per output channel, its input-channel × kernel matrix -- for 1D one (in, taps) image
  per filter; for 2D a mosaic with a row of kernels per filter and a column per input channel.

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


def draw_kernels(g: KernelGrid, *, title: str) -> canvas.Figure:
    """The figure for one layer (see the module docstring for the layouts)."""
    out, inn = g.weights.shape[:2]
    signal = g.weights.ndim == 3
    if inn == 1:
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
    elif signal:
        rows, cols = grid(out, max_cols=6)
        fig, axes = canvas.subplots(rows, cols, layout="constrained", figsize=(1.9 * cols + 0.8, 1.6 * rows + 0.8),
                                 squeeze=False)
        for i, ax in enumerate(axes.flat):
            if i >= out:
                ax.axis("off")
                continue
            image = ax.imshow(g.weights[i], cmap=SIGNED_CMAP, vmin=g.vmin, vmax=g.vmax, aspect="auto",
                              interpolation="nearest")
            ax.set_title(f"filter {i}", fontsize=7)
            ax.tick_params(labelsize=6)
            if i % cols == 0:
                ax.set_ylabel("input ch", fontsize=7)
        fig.supxlabel(f"tap — {NO_FLIP}", fontsize=8)
        fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    else:
        # one mosaic image (rows: filters, columns: input channels, a blank line between kernels): the
        # same picture as a grid of axes, drawn in one imshow instead of out x in of them
        kh, kw = g.weights.shape[2:]
        mosaic = np.full((out * (kh + 1) - 1, inn * (kw + 1) - 1), np.nan)
        for o in range(out):
            for i in range(inn):
                mosaic[o * (kh + 1):o * (kh + 1) + kh, i * (kw + 1):i * (kw + 1) + kw] = g.weights[o, i]
        cell = 0.32 * max(kh, kw) / 3
        size = (min(14, cell * inn * 1.2 + 2.2), min(30, cell * out + 1.2))
        fig, ax = canvas.subplots(layout="constrained", figsize=size)
        cmap = canvas.get_cmap(SIGNED_CMAP).with_extremes(bad="white")
        image = ax.imshow(mosaic, cmap=cmap, vmin=g.vmin, vmax=g.vmax, interpolation="nearest")
        ax.set_xticks([i * (kw + 1) + (kw - 1) / 2 for i in range(inn)], [str(i) for i in range(inn)], fontsize=7)
        ax.set_yticks([o * (kh + 1) + (kh - 1) / 2 for o in range(out)], [str(o) for o in range(out)], fontsize=7)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_ylabel("output channel (filter)", fontsize=8)
        ax.set_xlabel(f"input channel — {NO_FLIP}", fontsize=8)
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
        size = f"of {k[0]} taps" if len(k) == 1 else "×".join(map(str, k))
        fig = draw_kernels(g, title=f"run {run.id} {name}: {g.out_channels} kernels {size} over "
                                    f"{g.in_channels} input channel{'s' if g.in_channels > 1 else ''}, "
                                    f"color scale ±{g.vmax:.3g}")
        paths.append(save(fig, Path(out_dir) / f"kernels-{safe_name(name)}.png"))
    return paths


__all__ = ["KernelGrid", "draw_kernels", "kernel_grid", "look_kernels"]
