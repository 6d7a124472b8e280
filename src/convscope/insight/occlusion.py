"""Where the model looks: occlusion sensitivity and Grad-CAM, for signals (N, C, L) and images (N, C, H, W).

- Occlusion (Zeiler & Fergus 2014): slide a grey patch (2D; the training data's mean value) or a zeroed
  window (1D) across the input and record how much the true class's probability drops at each
  position. A big drop marks evidence the model uses; a negative drop, evidence against the class.
  It needs no gradients and no assumption about the architecture, only many forward passes.
- Grad-CAM (Selvaraju et al. 2017): weight the last conv layer's feature maps by the gradient of the
  class score (the class logit minus the others' mean), sum over channels, keep the positive part and
  stretch it to the input's size. One backward pass; coarse (that layer's resolution) but class-specific.
  The weights are the gradient at each position (HiResCAM, Draelos & Carin 2020), not its spatial mean:
  for a global-pooling head the two maps are the same, and for a flatten + dense head -- the seed
  notebook's ConvNet -- the mean can point the wrong way while the per-position product is exactly how
  much each position adds to the score.

A sample with packed scalar inputs (an ``ecg-wfdb`` source's RR features: the last K values of lead 0, read
by ``with_scalars``) is explained over its signal only: the window never covers the scalars (they stay
intact while the beat is occluded), Grad-CAM is stretched to the signal's length, and the trace is drawn
without them. What each scalar adds is ``scalar_importance.py``'s picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import ConvscopeError
from convscope.inference.outputs import probabilities
from convscope.insight import canvas
from convscope.insight.drawing import draw_sample, grid, save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import (
    class_name,
    class_score,
    explained_class,
    explained_samples,
    feature_modules,
    run_data,
    scalar_names,
    split_scalars,
)
from convscope.models.layers.with_scalars import SignalWithScalars

if TYPE_CHECKING:
    from convscope.api import Run


@dataclass
class Occlusion:
    """Occlusion sensitivity of one sample.

    Args:
        drop: (L,) or (H, W): the target's probability without occlusion minus with the patch over each
            position, averaged over the patches covering it.
        probability: the target's probability on the intact input.
        window, stride: the patch size and step, per spatial dim.
    """

    drop: np.ndarray
    probability: float
    window: tuple[int, ...]
    stride: tuple[int, ...]


def _default_window(size: tuple[int, ...]) -> tuple[int, ...]:
    # about a fifth of the image side (Zeiler & Fergus's 50 px on 224 is ~1/5), a tenth of a signal:
    # large enough to hide a stroke or a wave, small enough to localise it
    if len(size) == 1:
        return (max(1, size[0] // 10),)
    return tuple(max(1, round(s / 5)) for s in size)


@torch.no_grad()
def occlusion_map(model: nn.Module, x: torch.Tensor, target: int, *, window: tuple[int, ...] | None = None,
                  stride: tuple[int, ...] | None = None, baseline: float = 0.0, batch: int = 256,
                  scalars: int = 0) -> Occlusion:
    """Occlusion sensitivity of ``model`` for class ``target`` on one sample ``x`` (1, C, *spatial).

    Args:
        window: the patch size per spatial dim (default: a fifth of an image side, a tenth of a signal).
        stride: the step (default: half the window).
        baseline: the value the patch puts in (grey for images, 0 for signals).
        scalars: how many values at the end of a signal are packed scalars, not signal: the window slides
            over the first L = length - scalars samples only and ``drop`` has length L.
    """
    model.eval()
    size = tuple(x.shape[2:-1]) + (x.shape[-1] - scalars,)  # the signal's (L,), or the image's (H, W)
    window = window or _default_window(size)
    stride = stride or tuple(max(1, w // 2) for w in window)
    starts = []
    for s, w, st in zip(size, window, stride, strict=True):
        pos = list(range(0, max(s - w, 0) + 1, st))
        if pos[-1] != max(s - w, 0):
            pos.append(max(s - w, 0))  # the last window reaches the edge
        starts.append(pos)
    corners = [tuple(c) for c in np.stack(np.meshgrid(*starts, indexing="ij"), -1).reshape(-1, len(size))]
    p0 = float(probabilities(model(x))[0, target])
    drop_sum = np.zeros(size)
    count = np.zeros(size)
    for i in range(0, len(corners), batch):
        chunk = corners[i:i + batch]
        xs = x.repeat(len(chunk), *([1] * (x.dim() - 1)))  # (B, C, *spatial)
        for b, corner in enumerate(chunk):
            region = tuple(slice(c, c + w) for c, w in zip(corner, window, strict=True))
            xs[(b, slice(None), *region)] = baseline
        p = probabilities(model(xs))[:, target].numpy()  # (B,)
        for b, corner in enumerate(chunk):
            region = tuple(slice(c, c + w) for c, w in zip(corner, window, strict=True))
            drop_sum[region] += p0 - p[b]
            count[region] += 1
    return Occlusion(drop_sum / np.maximum(count, 1), p0, tuple(window), tuple(stride))


def grad_cam(model: nn.Module, x: torch.Tensor, target: int, *, layer: str | None = None,
             scalars: int = 0) -> tuple[np.ndarray, str]:
    """Grad-CAM heat map in [0, 1] of shape ``x.shape[2:]`` (less ``scalars``) for class ``target``, and the
    layer it used.

    Args:
        layer: the conv layer whose (activated) maps are weighted; default: the last one.
        scalars: how many values at the end of a signal are packed scalars: the map covers the first
            L = length - scalars samples (a layer inside ``with_scalars`` sees just those: its map is
            stretched to L; a layer that reads the scalars as signal is stretched to the whole length and
            its last ``scalars`` values dropped).
    """
    model.eval()
    modules = feature_modules(model)
    if not modules:
        raise ConvscopeError("Grad-CAM needs a conv layer; this model has none")
    chosen = [m for m in modules if m[0] == layer] if layer else modules[-1:]
    if not chosen:
        raise ConvscopeError(f"--layer {layer}: not a conv layer",
                             hint=f"conv layers: {', '.join(n for n, _ in modules)}")
    name, module = chosen[0]
    kept: dict[str, torch.Tensor] = {}
    hook = module.register_forward_hook(lambda _m, _a, out: kept.__setitem__("maps", out))
    try:
        with torch.enable_grad():
            logits = model(x)
            maps = kept["maps"]  # (1, C, *s)
            (grads,) = torch.autograd.grad(class_score(logits, target).sum(), maps)
    finally:
        hook.remove()
    cam = F.relu((grads * maps).sum(dim=1, keepdim=True)).detach()  # (1, 1, *s): per-position weights
    mode = "linear" if cam.dim() == 3 else "bilinear"
    size = tuple(x.shape[2:])
    if scalars and _reads_signal_only(model, module):
        size = (size[0] - scalars,)
    cam = F.interpolate(cam, size=size, mode=mode, align_corners=False)[0, 0]
    cam = cam[..., :x.shape[-1] - scalars]  # (L,) or (H, W)
    peak = float(cam.max())
    return (cam / peak if peak > 0 else cam).numpy(), name


def _reads_signal_only(model: nn.Module, module: nn.Module) -> bool:
    """True when ``module`` sits in a ``with_scalars`` block's body, which is given the signal without the scalars."""
    return any(module is m for block in model.modules() if isinstance(block, SignalWithScalars)
               for m in block.body.modules())


def _overlay(ax: canvas.Axes, x: np.ndarray, heat: np.ndarray, *, cmap: str, vmin: float, vmax: float,
             alpha: float = 0.55) -> canvas.ScalarMappable:
    """A heat map over a sample: behind a signal's trace, or over an image."""
    if x.ndim == 2:  # (C, L)
        low, high = float(x.min()), float(x.max())
        pad = 0.05 * (high - low or 1)
        image = ax.imshow(heat[None, :], aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, alpha=alpha,
                          extent=(0, x.shape[1] - 1, low - pad, high + pad), interpolation="nearest")
        for c in range(x.shape[0]):
            ax.plot(x[c], color="black", linewidth=0.9)
        ax.set_xlim(0, x.shape[1] - 1)
    else:  # (C, H, W)
        draw_sample(ax, x)
        image = ax.imshow(heat, cmap=cmap, vmin=vmin, vmax=vmax, alpha=alpha)
    return image


def _panels(count: int, *, signal: bool) -> tuple[canvas.Figure, list[tuple[canvas.Axes, ...]]]:
    """The figure for ``count`` samples and each sample's axes, two samples a row (a column of them made
    a deep net's report a screen per picture): a signal with its overlay in one panel, an image and its
    map in two panels side by side."""
    rows, cols = grid(count, max_cols=2)
    per = 1 if signal else 2  # panels per sample
    fig, axes = canvas.subplots(rows, cols * per, layout="constrained", squeeze=False,
                                figsize=(4.8 * cols, 2.4 * rows + 0.5) if signal else (5.2 * cols, 2.2 * rows + 0.5))
    slots = [tuple(axes[i // cols, (i % cols) * per + j] for j in range(per)) for i in range(rows * cols)]
    for unused in slots[count:]:
        for ax in unused:
            ax.axis("off")
    return fig, slots[:count]


@PICTURES.register("occlusion", order=50)
def look_occlusion(run: Run, out_dir: Path, *, index: int = 0, count: int = 1, input_path: str | Path | None = None,
                   window: int | None = None) -> list[Path]:
    """``occlusion-<index>.png``: each sample beside the drop of its class's probability under the patch.

    Args:
        index, count: validation samples ``index .. index + count - 1``, one row each.
        input_path: a .npy array (or image) instead; its class is the predicted one.
        window: patch size (pixels or samples) instead of the default.
    """
    model = run.model
    data = run_data(run)
    signal = len(data.input_shape) == 2
    baseline = 0.0 if signal else float(data.x_train.mean())  # zeroed window / the data's mean grey
    scalars = len(scalar_names(run))
    rows = explained_samples(run, index, count, input_path)
    fig, axes = _panels(len(rows), signal=signal)
    for r, (i, x, y) in enumerate(rows):
        target = explained_class(run, x, y)
        occ = occlusion_map(model, x, target, window=(window,) * (x.dim() - 2) if window else None,
                            baseline=baseline, scalars=scalars)
        bound = float(np.abs(occ.drop).max()) or 1.0
        label = f"val {i}" if i is not None else Path(input_path).name
        what = f"{label}: class {class_name(run, target)}, p = {occ.probability:.3f}"
        if signal:
            ax = axes[r][0]
            image = _overlay(ax, split_scalars(x, scalars)[0][0].numpy(), occ.drop, cmap="RdBu_r", vmin=-bound,
                             vmax=bound)
            ax.set_title(f"{what}\ncolor: drop of p when samples are zeroed (window {occ.window[0]})", fontsize=8)
            fig.colorbar(image, ax=ax, pad=0.01, label="drop of p")
        else:
            draw_sample(axes[r][0], x[0].numpy(), title=what)
            image = axes[r][1].imshow(occ.drop, cmap="RdBu_r", vmin=-bound, vmax=bound)
            axes[r][1].set_xticks([])
            axes[r][1].set_yticks([])
            axes[r][1].set_title(f"drop of p under a {'×'.join(map(str, occ.window))} grey patch", fontsize=8)
            fig.colorbar(image, ax=axes[r][1], label="drop of p")
    fig.suptitle(f"run {run.id}: occlusion sensitivity (red: the patch hides evidence for the class)", fontsize=9)
    name = f"occlusion-{index}.png" if input_path is None else f"occlusion-{Path(input_path).stem}.png"
    return [save(fig, Path(out_dir) / name)]


@PICTURES.register("gradcam", order=60)
def look_gradcam(run: Run, out_dir: Path, *, index: int = 0, count: int = 1, input_path: str | Path | None = None,
                 layer: str | None = None) -> list[Path]:
    """``gradcam-<index>.png``: Grad-CAM of the last conv layer (or ``layer``) over each sample."""
    model = run.model
    signal = len(run_data(run).input_shape) == 2
    scalars = len(scalar_names(run))
    rows = explained_samples(run, index, count, input_path)
    fig, axes = _panels(len(rows), signal=signal)
    used = layer
    for r, (i, x, y) in enumerate(rows):
        target = explained_class(run, x, y)
        cam, used = grad_cam(model, x, target, layer=layer, scalars=scalars)
        label = f"val {i}" if i is not None else Path(input_path).name
        what = f"{label}: class {class_name(run, target)}"
        if signal:
            ax = axes[r][0]
            image = _overlay(ax, split_scalars(x, scalars)[0][0].numpy(), cam, cmap="inferno", vmin=0, vmax=1)
            ax.set_title(f"{what}\ncolor: Grad-CAM of {used}", fontsize=8)
            fig.colorbar(image, ax=ax, pad=0.01, label="relevance")
        else:
            draw_sample(axes[r][0], x[0].numpy(), title=what)
            image = _overlay(axes[r][1], x[0].numpy(), cam, cmap="inferno", vmin=0, vmax=1)
            axes[r][1].set_title(f"Grad-CAM of {used}", fontsize=8)
            fig.colorbar(image, ax=axes[r][1], label="relevance")
    fig.suptitle(f"run {run.id}: Grad-CAM (where the last conv layer's evidence for the class lies)", fontsize=9)
    name = f"gradcam-{index}.png" if input_path is None else f"gradcam-{Path(input_path).stem}.png"
    return [save(fig, Path(out_dir) / name)]


__all__ = ["Occlusion", "grad_cam", "look_gradcam", "look_occlusion", "occlusion_map"]
