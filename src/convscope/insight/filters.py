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

import numpy as np
import torch
from torch import nn

from convscope.insight import canvas
from convscope.insight.drawing import grid, safe_name, save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import conv_layers, pick_layers, run_data, scalar_names, split_scalars

if TYPE_CHECKING:
    from convscope.api import Run


def maximize_activation(model: nn.Module, module: nn.Module, channels: list[int], input_shape: tuple[int, ...], *,
                        steps: int = 128, lr: float = 0.05, l2: float = 0.5, jitter: int = 1,
                        center: float = 0.0, scale: float = 1.0, value_range: tuple[float, float] | None = None,
                        seed: int = 0, scalars: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The input pattern (one per channel) that maximises each channel's mean output of ``module``.

    Args:
        model: the network (left in eval mode, weights untouched).
        module: the layer whose output channels are maximised: a conv (its pre-activation output, which
            unlike a ReLU's has a gradient even where the channel is not yet active).
        channels: which output channels.
        input_shape: one sample's shape (C, L) or (C, H, W).
        steps, lr: gradient-ascent steps on the input, each of RMS size ``lr`` × ``scale``.
        l2: weight of the input's mean squared distance from ``center`` (in units of ``scale``); without
            it the optimum sits on the corners of the value box (on/off noise).
        jitter: the largest random roll per spatial dim and step (0: none).
        center, scale: the training data's mean and standard deviation: where the noise starts and what
            "far" means for the L2 term.
        value_range: the inputs are clipped to it (the training data's min and max).
        seed: for the starting noise and the jitter.
        scalars: (K,) packed scalar inputs (a ``with_scalars`` model's RR features) held fixed after the
            signal: ``input_shape`` is then the signal's (C, L) and the model reads (C, L + K).

    Returns:
        patterns (len(channels), *input_shape) and each channel's final mean output.
    """
    gen = torch.Generator().manual_seed(seed)
    x = (center + 0.1 * scale * torch.randn(len(channels), *input_shape, generator=gen)).requires_grad_(True)
    index = torch.tensor(channels)
    kept: dict[str, torch.Tensor] = {}
    hook = module.register_forward_hook(lambda _m, _a, out: kept.__setitem__("out", out))
    was_training = model.training
    model.eval()
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)  # gradients for the input only
    dims = tuple(range(2, x.dim()))
    dims_all = tuple(range(1, x.dim()))
    rows = torch.arange(len(channels))

    def outputs(inputs: torch.Tensor) -> torch.Tensor:
        if scalars is not None:  # (n, C, L) -> (n, C, L + K): the scalars on lead 0, zeros on the others
            packed = torch.zeros(len(inputs), inputs.shape[1], len(scalars))
            packed[:, 0] = scalars
            inputs = torch.cat([inputs, packed], dim=-1)
        model(inputs)
        return kept["out"][rows, index].reshape(len(channels), -1).mean(dim=1)  # (n,): sample i drives channel i

    try:
        for _ in range(steps):
            shifts = [int(s) for s in torch.randint(-jitter, jitter + 1, (len(dims),), generator=gen)] if jitter else []
            score = outputs(torch.roll(x, shifts=shifts, dims=dims) if jitter else x)
            penalty = ((x - center) / scale).pow(2).mean(dim=dims_all)  # (n,)
            (grad,) = torch.autograd.grad((score - l2 * penalty).sum(), x)
            with torch.no_grad():
                # an ascent step of RMS size lr * scale per sample, whatever the gradient's magnitude
                # (normalized gradient ascent: layers differ in scale by orders of magnitude)
                rms = grad.pow(2).mean(dim=dims_all, keepdim=True).sqrt()  # (n, 1, ...)
                x += lr * scale * grad / (rms + 1e-12)
                if value_range is not None:
                    x.clamp_(*value_range)
        with torch.no_grad():
            final = outputs(x)
    finally:
        hook.remove()
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
    return x.detach().numpy(), final.numpy()


def draw_patterns(patterns: np.ndarray, scores: np.ndarray, channels: list[int], *, title: str) -> canvas.Figure:
    """A grid of patterns: signals (C, L) on one shared y-range; images (C, H, W) in grey, each stretched to
    its own range (what matters is the shape of the pattern, and the regularized ones are faint)."""
    rows, cols = grid(len(channels))
    signal = patterns.ndim == 3
    fig, axes = canvas.subplots(rows, cols, layout="constrained",
                             figsize=(1.8 * cols + 0.6, (1.3 if signal else 1.6) * rows + 0.7), squeeze=False)
    bound = float(np.abs(patterns).max()) * 1.05 or 1.0
    for i, ax in enumerate(axes.flat):
        if i >= len(channels):
            ax.axis("off")
            continue
        p = patterns[i]
        if signal:
            for c in range(p.shape[0]):
                ax.plot(p[c], linewidth=0.9)
            ax.set_ylim(-bound, bound)
            ax.tick_params(labelsize=6)
            if i % cols:
                ax.set_yticklabels([])
        else:
            stretched = (p - p.min()) / ((p.max() - p.min()) or 1.0)
            ax.imshow(stretched.transpose(1, 2, 0) if p.shape[0] == 3 else stretched[0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(f"ch {channels[i]} ({scores[i]:.2g})", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig


@PICTURES.register("filters", order=40)
def look_filters(run: Run, out_dir: Path, *, layer: str | None = None, max_channels: int = 16,
                 steps: int = 128) -> list[Path]:
    """``filters-<layer>.png``: the input each channel of a conv layer (default: the last) responds to most.

    Args:
        layer: a conv layer's name; default the last conv layer (the most abstract patterns).
        max_channels: the first channels of the layer to visualise.
        steps: gradient-ascent steps.
    """
    model = run.model
    if not conv_layers(model):
        return []
    name, module = pick_layers(conv_layers(model), layer)[0] if layer else conv_layers(model)[-1]
    data = run_data(run)
    count = len(scalar_names(run))
    x, scalars = split_scalars(data.x_train, count)  # the pattern is signal; the scalars stay at their mean
    value_range = (float(x.min()), float(x.max()))
    channels = list(range(min(max_channels, module.out_channels)))
    patterns, scores = maximize_activation(model, module, channels, tuple(x.shape[1:]), steps=steps,
                                           center=float(x.mean()), scale=float(x.std()) or 1.0,
                                           value_range=value_range, seed=run.config.seed,
                                           scalars=scalars.mean(dim=0) if count else None)
    kind = "signal" if len(data.input_shape) == 2 else "image"
    fig = draw_patterns(patterns, scores, channels,
                        title=f"run {run.id} {name}: the {kind} each channel responds to most "
                              f"(gradient ascent from noise, L2 + jitter; in brackets its mean output)")
    return [save(fig, Path(out_dir) / f"filters-{safe_name(name)}.png")]


__all__ = ["draw_patterns", "look_filters", "maximize_activation"]
