"""Scalar importance: what each packed scalar input (an ECG beat's RR features) adds to the prediction.

An ``ecg-wfdb`` source with ``rr_features`` / ``beat_features`` packs K scalars as the last K values of
lead 0 of every sample and the ``with_scalars`` block joins them to the dense head. They are not places
in the signal, so occlusion (``occlusion.py``) leaves them intact; this picture asks the occlusion
question of the features instead (permutation-free feature ablation: Zeiler & Fergus's patch, one
feature at a time): replace one scalar by its training-set mean, keep everything else, and record how
much the true class's probability drops. A big drop: the prediction leans on that scalar's value for
this beat; near zero: the value could have been the average one; negative: its value argues against
the class. K forward passes per sample, no gradients.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from torch import nn

from convscope.errors import ConvscopeError
from convscope.inference.outputs import probabilities
from convscope.insight import canvas
from convscope.insight.drawing import SIGNED_CMAP, grid, save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import (
    class_name,
    explained_class,
    explained_samples,
    run_data,
    scalar_names,
    split_scalars,
)

if TYPE_CHECKING:
    from convscope.api import Run


@dataclass
class ScalarImportance:
    """What each scalar input adds to one sample's prediction.

    Args:
        drop: (K,) the target's probability as given minus with that scalar alone set to its mean.
        values: (K,) the sample's scalars.
        means: (K,) the training set's mean of each scalar (what replaced it).
        probability: the target's probability on the sample as given.
    """

    drop: np.ndarray
    values: np.ndarray
    means: np.ndarray
    probability: float


@torch.no_grad()
def scalar_importance(model: nn.Module, x: torch.Tensor, target: int, means: torch.Tensor) -> ScalarImportance:
    """The drop of class ``target``'s probability when each of the K packed scalars of ``x`` (1, C, L + K)
    alone is replaced by its mean (``means``: (K,)).

    Example:
        >>> import torch
        >>> class MiddleScalar(torch.nn.Module):  # two logits from the second of 3 scalars only
        ...     def forward(self, x):
        ...         return torch.stack([x[:, 0, -2], -x[:, 0, -2]], dim=1)
        >>> x = torch.tensor([[[0.5, 0.1, 9.0, 2.0, 9.0]]])  # (1, 1, 2 samples + 3 scalars)
        >>> [f"{d:.3f}" for d in scalar_importance(MiddleScalar(), x, 0, torch.zeros(3)).drop.tolist()]
        ['0.000', '0.482', '0.000']
    """
    model.eval()
    k = len(means)
    variants = x.repeat(k + 1, *([1] * (x.dim() - 1)))  # (1 + K, C, L + K): as given, then one scalar averaged
    for j in range(k):
        variants[1 + j, 0, x.shape[-1] - k + j] = means[j]
    p = probabilities(model(variants))[:, target].numpy()  # (1 + K,)
    values = split_scalars(x, k)[1][0]  # (K,)
    return ScalarImportance(p[0] - p[1:], values.numpy(), means.numpy(), float(p[0]))


def has_scalars(run: Run) -> bool:
    """True for a run whose samples carry packed scalar inputs (the ``scalars`` picture applies)."""
    return bool(scalar_names(run))


def _draw(ax: canvas.Axes, imp: ScalarImportance, names: list[str], *, bound: float, title: str) -> None:
    """One sample's horizontal bars, the first scalar on top, each labelled with its value and its mean."""
    rows = np.arange(len(names))
    colors = canvas.get_cmap(SIGNED_CMAP)(0.5 + 0.5 * np.clip(imp.drop / bound, -1, 1))
    ax.barh(rows, imp.drop, color=colors, edgecolor="0.3", linewidth=0.5)
    ax.set_yticks(rows, [f"{n} = {v:.3g} (mean {m:.3g})" for n, v, m in zip(names, imp.values, imp.means,
                                                                            strict=True)], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlim(-bound * 1.1, bound * 1.1)
    ax.xaxis.set_major_locator(MaxNLocator(5, symmetric=True))  # readable tick labels at the report's width
    ax.set_xlabel("drop of p when the scalar alone is set to its mean", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=8)


@PICTURES.register("scalars", order=55, applies=has_scalars)
def look_scalars(run: Run, out_dir: Path, *, index: int = 0, count: int = 1,
                 input_path: str | Path | None = None) -> list[Path]:
    """``scalars-<index>.png``: for each sample, the drop of its class's probability when each packed scalar
    input (RR / beat feature) alone is replaced by its training-set mean.

    Args:
        index, count: validation samples ``index .. index + count - 1`` (the occlusion picture's).
        input_path: a .npy array instead; its class is the predicted one.
    """
    names = scalar_names(run)
    if not names:
        raise ConvscopeError(f"look scalars: run {run.id}'s samples have no packed scalar inputs",
                             hint="it applies to an ecg-wfdb source with rr_features or beat_features "
                                  "(read by a with_scalars block); see occlusion for where a model looks")
    model = run.model
    means = split_scalars(run_data(run).x_train, len(names))[1].mean(dim=0)  # (K,)
    rows = explained_samples(run, index, count, input_path)
    n_rows, cols = grid(len(rows), max_cols=2)
    fig, axes = canvas.subplots(n_rows, cols, layout="constrained", squeeze=False,
                                figsize=(5.4 * cols, (0.6 + 0.24 * len(names)) * n_rows + 0.5))
    found = []
    for i, x, y in rows:
        target = explained_class(run, x, y)
        found.append((i, target, scalar_importance(model, x, target, means)))
    bound = max(float(np.abs(imp.drop).max()) for _, _, imp in found) or 1.0  # one scale for every sample
    for ax, (i, target, imp) in zip(axes.flat, found, strict=False):
        label = f"val {i}" if i is not None else Path(input_path).name
        _draw(ax, imp, names, bound=bound, title=f"{label}: class {class_name(run, target)}, p = {imp.probability:.3f}")
    for ax in list(axes.flat)[len(found):]:
        ax.axis("off")
    fig.suptitle(f"run {run.id}: scalar importance (red: the scalar's value is evidence for the class)", fontsize=9)
    name = f"scalars-{index}.png" if input_path is None else f"scalars-{Path(input_path).stem}.png"
    return [save(fig, Path(out_dir) / name)]


__all__ = ["ScalarImportance", "has_scalars", "look_scalars", "scalar_importance"]
