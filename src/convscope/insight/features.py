"""Feature maps: what each conv layer outputs for one input.

For each conv layer the map shown is the output of the activation that follows it (``conv1`` →
``relu1``), as Keras shows a ``Conv2D(activation=...)`` layer; a conv without an activation shows its
raw output. 2D: one small image per channel, all channels of a layer on one color scale, so a dark
channel is a quiet one. 1D: the input signal above a channels × time image of the layer's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from convscope.insight import canvas
from convscope.insight.drawing import draw_sample, grid, safe_name, save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import (
    capture,
    class_name,
    feature_modules,
    pick_layers,
    pick_sample,
    scalar_names,
    split_scalars,
)

if TYPE_CHECKING:
    from convscope.api import Run


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Each conv layer's feature maps for one sample ``x`` (1, C, ...): name → (channels, *spatial)."""
    model.eval()
    modules = feature_modules(model)
    with capture(modules) as seen:
        model(x)
    return {name: seen[name][0].float().numpy() for name, _ in modules if name in seen}


def draw_features(x: np.ndarray, maps: np.ndarray, *, title: str, max_channels: int = 32) -> canvas.Figure:
    """One layer's maps (C, ...) beside the input sample x (C_in, ...)."""
    maps = maps[:max_channels]
    low, high = float(maps.min()), float(maps.max())
    if maps.ndim == 2:  # (C, L): a signal layer
        fig, (top, bottom) = canvas.subplots(2, 1, layout="constrained", figsize=(8, 2.8 + 0.12 * len(maps)),
                                          gridspec_kw={"height_ratios": [1, max(1.5, 0.12 * len(maps))]})
        draw_sample(top, x, title="input")
        image = bottom.imshow(maps, aspect="auto", cmap="magma", vmin=low, vmax=high, interpolation="nearest",
                              extent=(0, x.shape[-1] - 1, len(maps) - 0.5, -0.5))
        bottom.set_ylabel("channel")
        bottom.set_xlabel("position (stretched to the input's length)")
        fig.colorbar(image, ax=bottom, label="activation", pad=0.01)
    else:  # (C, H, W)
        rows, cols = grid(len(maps) + 1)
        fig, axes = canvas.subplots(rows, cols, layout="constrained", figsize=(1.45 * cols + 0.8, 1.45 * rows + 0.6),
                                 squeeze=False)
        draw_sample(axes.flat[0], x, title="input")
        for i, ax in enumerate(list(axes.flat)[1:]):
            if i >= len(maps):
                ax.axis("off")
                continue
            image = ax.imshow(maps[i], cmap="magma", vmin=low, vmax=high)
            ax.set_title(f"ch {i}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(image, ax=axes, shrink=0.8, label="activation")
    fig.suptitle(title, fontsize=9)
    return fig


@PICTURES.register("features", order=30)
def look_features(run: Run, out_dir: Path, *, index: int = 0, input_path: str | Path | None = None,
                  layer: str | None = None, max_layers: int = 6) -> list[Path]:
    """One PNG per conv layer (``features-conv1.png`` ...) for validation sample ``index`` or a file.

    Args:
        run: a stored run.
        out_dir: where the PNGs go.
        index: which validation sample.
        input_path: a .npy array (or an image file for 2D models) to use instead.
        layer: only this conv layer.
    """
    model = run.model
    x, y = pick_sample(run, index, path=input_path)
    maps = feature_maps(model, x)
    signal = split_scalars(x, len(scalar_names(run)))[0]  # drawn without its packed scalars (RR features)
    chosen = {name for name, _ in pick_layers(feature_modules(model), layer)}
    source = f"val sample {index} (class {class_name(run, y)})" if input_path is None else Path(input_path).name
    paths = []
    for name in [n for n in maps if n in chosen][:max_layers]:
        m = maps[name]
        size = f"of length {m.shape[1]}" if m.ndim == 2 else "×".join(map(str, m.shape[1:]))
        fig = draw_features(signal[0].numpy(), m, title=f"run {run.id} {name}: {m.shape[0]} feature maps {size} for {source}")
        paths.append(save(fig, Path(out_dir) / f"features-{safe_name(name)}.png"))
    return paths


__all__ = ["draw_features", "feature_maps", "look_features"]
