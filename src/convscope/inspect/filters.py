"""What a filter responds to most: activation maximization (Erhan et al. 2009; Simonyan et al. 2013).

Start from faint noise and run gradient ascent on the *input* to maximise one channel's mean
activation, with two regularizers that keep the pattern readable instead of adversarial noise:
an L2 penalty on the input (a small-energy pattern) and jitter -- each step the input is rolled by a
random offset of up to a few samples/pixels, so the pattern must work wherever it sits (Mordvintsev
et al. 2015). The input stays within the training data's value range. The model's weights are
never changed: this reads the trained network, it does not train it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from convscope.inspect.common import (
    SIGNED_CMAP,
    conv_layers,
    feature_modules,
    grid,
    pick_layers,
    run_data,
    safe_name,
    save,
)

if TYPE_CHECKING:
    from convscope.api import Run


def maximize_activation(model: nn.Module, module: nn.Module, channels: list[int], input_shape: tuple[int, ...], *,
                        steps: int = 128, lr: float = 0.05, l2: float = 1e-2, jitter: int = 1,
                        value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The input pattern (one per channel) that maximises each channel's mean activation of ``module``.

    Args:
        model: the network (left in eval mode, weights untouched).
        module: the layer whose output channels are maximised (e.g. a conv's activation).
        channels: which output channels.
        input_shape: one sample's shape (C, L) or (C, H, W).
        steps, lr: Adam steps on the input.
        l2: weight of the input's mean squared value in the objective.
        jitter: the largest random roll per spatial dim and step (0: none).
        value_range: the inputs are clipped to it (the training data's min and max).
        seed: for the starting noise and the jitter.

    Returns:
        patterns (len(channels), *input_shape) and each channel's final mean activation.
    """
    gen = torch.Generator().manual_seed(seed)
    low, high = value_range
    mid, spread = (low + high) / 2, (high - low) or 1.0
    x = (mid + 0.05 * spread * torch.randn(len(channels), *input_shape, generator=gen)).requires_grad_(True)
    index = torch.tensor(channels)
    kept: dict[str, torch.Tensor] = {}
    hook = module.register_forward_hook(lambda _m, _a, out: kept.__setitem__("out", out))
    was_training = model.training
    model.eval()
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)  # gradients for the input only
    optimizer = torch.optim.Adam([x], lr=lr * spread)
    dims = tuple(range(2, x.dim()))
    try:
        for _ in range(steps):
            shifts = [int(s) for s in torch.randint(-jitter, jitter + 1, (len(dims),), generator=gen)] if jitter else []
            shifted = torch.roll(x, shifts=shifts, dims=dims) if jitter else x
            model(shifted)
            out = kept["out"]  # (n, C_out, *s)
            chosen = out[torch.arange(len(channels)), index]  # (n, *s): sample i drives channel i
            score = chosen.reshape(len(channels), -1).mean(dim=1)  # (n,)
            loss = -score.sum() + l2 * ((x - mid) / spread).pow(2).mean(dim=tuple(range(1, x.dim()))).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(low, high)
        with torch.no_grad():
            model(x)
            final = kept["out"][torch.arange(len(channels)), index].reshape(len(channels), -1).mean(dim=1)
    finally:
        hook.remove()
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
    return x.detach().numpy(), final.numpy()


def draw_patterns(patterns: np.ndarray, scores: np.ndarray, channels: list[int], *, title: str) -> plt.Figure:
    """A grid of patterns: images (C, H, W) or signals (C, L)."""
    rows, cols = grid(len(channels))
    signal = patterns.ndim == 3
    fig, axes = plt.subplots(rows, cols, layout="constrained", figsize=(1.7 * cols + 0.6, (1.3 if signal else 1.6) * rows + 0.7),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(channels):
            ax.axis("off")
            continue
        p = patterns[i]
        if signal:
            for c in range(p.shape[0]):
                ax.plot(p[c], linewidth=0.9)
            ax.tick_params(labelsize=6)
        elif p.shape[0] == 3:
            ax.imshow(np.clip(p.transpose(1, 2, 0), 0, 1))
        else:
            centred = p[0] - p[0].mean()
            bound = float(np.abs(centred).max()) or 1.0  # each pattern on its own symmetric scale: shape, not size
            ax.imshow(centred, cmap=SIGNED_CMAP, vmin=-bound, vmax=bound)
        if not signal:
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(f"ch {channels[i]} ({scores[i]:.2g})", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig


def look_filters(run: Run, out_dir: Path, *, layer: str | None = None, max_channels: int = 16,
                 steps: int = 128) -> list[Path]:
    """``filters-<layer>.png``: the input each channel of a conv layer (default: the last) responds to most.

    Args:
        layer: a conv layer's name; default the last conv layer (the most abstract patterns).
        max_channels: the first channels of the layer to visualise.
        steps: gradient-ascent steps.
    """
    model = run.model
    modules = feature_modules(model)
    if not modules:
        return []
    name, module = pick_layers(modules, layer)[0] if layer else modules[-1]
    data = run_data(run)
    value_range = (float(data.x_train.min()), float(data.x_train.max()))
    n_out = dict(conv_layers(model))[name].out_channels  # the hooked module may be its activation
    channels = list(range(min(max_channels, n_out)))
    patterns, scores = maximize_activation(model, module, channels, data.input_shape, steps=steps,
                                           value_range=value_range, seed=run.config.seed)
    kind = "signal" if len(data.input_shape) == 2 else "image"
    fig = draw_patterns(patterns, scores, channels,
                        title=f"run {run.id} {name}: the {kind} each channel responds to most "
                              f"(gradient ascent from noise, L2 + jitter; in brackets its mean activation)")
    return [save(fig, Path(out_dir) / f"filters-{safe_name(name)}.png")]


__all__ = ["draw_patterns", "look_filters", "maximize_activation"]
