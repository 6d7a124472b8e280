"""Prediction pictures on validation data -- confusion matrix, ROC, the most confidently wrong samples --
and learning curves of several runs on one set of axes (a search's trials, ``convscope compare``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn import metrics as skm

from convscope import formatting as fmt
from convscope.insight import canvas
from convscope.insight.curves import curve_metrics
from convscope.insight.drawing import draw_sample, grid, save
from convscope.insight.look import PICTURES
from convscope.insight.run_parts import class_name, predict, run_data, scalar_names, split_scalars
from convscope.train import metrics as M

if TYPE_CHECKING:
    from convscope.api import Run


def _val_predictions(run: Run) -> tuple[np.ndarray, np.ndarray, float]:
    """Validation labels (N,), probabilities (N, K) and the run's decision threshold (binary tasks)."""
    return _split_predictions(run, "val")


def _split_predictions(run: Run, split: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels (N,), probabilities (N, K) and the decision threshold on the run's ``split`` (val or test)."""
    data = run_data(run)
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_val, data.y_val)
    _, prob = predict(run, x)
    return y.numpy(), prob, float(run.info.threshold)


def _predicted(prob: np.ndarray, threshold: float) -> np.ndarray:
    return (prob[:, 1] >= threshold).astype(int) if prob.shape[1] == 2 else prob.argmax(axis=1)


# -- confusion ----------------------------------------------------------------------------------


def run_confusion(run: Run) -> tuple[str, np.ndarray, float]:
    """``(split, counts (K, K), threshold)``: the confusion matrix ``confusion.png`` draws, on the test split
    (validation when the run has none); rows are true classes, columns predicted ones."""
    split = "test" if run_data(run).x_test is not None else "val"
    y, prob, threshold = _split_predictions(run, split)
    return split, M.confusion(y, prob, threshold=threshold), threshold


@PICTURES.register("confusion", order=80)
def look_confusion(run: Run, out_dir: Path) -> list[Path]:
    """``confusion.png``: the test confusion matrix (validation when the run has no test set), counts and
    row-normalized (each row = a true class). Its counts equal the run's stored ``test_confusion``: the same
    weights, split, threshold and inference path produced both."""
    split, counts, threshold = run_confusion(run)  # (K, K) rows: true, columns: predicted
    k = counts.shape[0]
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    names = [class_name(run, i) for i in range(k)]
    size = 2.2 + 0.42 * k
    fig, axes = canvas.subplots(1, 2, layout="constrained", figsize=(2 * size + 1.2, size))
    panels = ((axes[0], counts, "counts", "d"), (axes[1], rates, "normalized by true class", ".2f"))
    for ax, matrix, title, cell_format in panels:
        image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=matrix.max() or 1)
        for i in range(k):
            for j in range(k):
                value = format(int(matrix[i, j]) if cell_format == "d" else matrix[i, j], cell_format)
                light = matrix[i, j] > 0.55 * (matrix.max() or 1)
                ax.text(j, i, value, ha="center", va="center", fontsize=7 if k > 6 else 9,
                        color="white" if light else "black")
        ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, fontsize=7)
        ax.set_yticks(range(k), names, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    accuracy = float(np.trace(counts)) / max(int(counts.sum()), 1)
    where = "test" if split == "test" else "validation"
    fig.suptitle(f"run {run.id}: {where} confusion ({int(counts.sum())} samples, accuracy {fmt.percent(accuracy)}"
                 + (f", threshold {threshold:.3g})" if k == 2 else ")"), fontsize=9)
    return [save(fig, Path(out_dir) / "confusion.png")]


# -- ROC ----------------------------------------------------------------------------------------


@PICTURES.register("roc", order=90)
def look_roc(run: Run, out_dir: Path) -> list[Path]:
    """``roc.png``: the validation ROC curve with the run's operating point (binary); one-vs-rest per
    class for multi-class tasks."""
    y, prob, threshold = _val_predictions(run)
    k = prob.shape[1]
    fig, ax = canvas.subplots(layout="constrained", figsize=(4.6, 4.0))
    ax.plot([0, 1], [0, 1], color="0.7", linestyle="--", linewidth=1, label="chance")
    if k == 2:
        if len(np.unique(y)) < 2:
            return []
        fpr, tpr, _ = skm.roc_curve(y, prob[:, 1])
        ax.plot(fpr, tpr, linewidth=1.8, label=f"AUC {skm.auc(fpr, tpr):.3f}")
        pred = prob[:, 1] >= threshold
        tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
        op_fpr, op_tpr = fp / max(fp + tn, 1), tp / max(tp + fn, 1)
        ax.plot([op_fpr], [op_tpr], "o", color="C3",
                label=f"threshold {threshold:.3g}: sens {fmt.percent(op_tpr)}, spec {fmt.percent(1 - op_fpr)}")
        title = f"run {run.id}: validation ROC ({class_name(run, 1)} vs {class_name(run, 0)})"
    else:
        aucs = []
        for c in range(k):
            positive = (y == c).astype(int)
            if positive.min() == positive.max():
                continue
            fpr, tpr, _ = skm.roc_curve(positive, prob[:, c])
            aucs.append(skm.auc(fpr, tpr))
            ax.plot(fpr, tpr, linewidth=1, label=f"{class_name(run, c)} ({aucs[-1]:.3f})")
        title = f"run {run.id}: validation ROC, one class vs rest (macro AUC {np.mean(aucs):.3f})"
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncol=1 if k <= 4 else 2)
    ax.set_title(title, fontsize=9)
    return [save(fig, Path(out_dir) / "roc.png")]


# -- top losses ---------------------------------------------------------------------------------


@dataclass
class TopLoss:
    index: int  # position in the validation split
    true: int
    predicted: int
    confidence: float  # probability of the predicted class
    loss: float  # -log p(true class)


def top_losses(y: np.ndarray, prob: np.ndarray, *, threshold: float = 0.5, k: int = 12,
               only_wrong: bool = True) -> list[TopLoss]:
    """The samples with the highest loss -- among the misclassified ones (``only_wrong``): the ones the model
    is most confidently wrong on."""
    pred = _predicted(prob, threshold)
    loss = -np.log(np.clip(prob[np.arange(len(y)), y], 1e-12, 1.0))
    pool = np.flatnonzero(pred != y) if only_wrong else np.arange(len(y))
    worst = pool[np.argsort(-loss[pool], kind="stable")][:k]
    return [TopLoss(int(i), int(y[i]), int(pred[i]), float(prob[i, pred[i]]), float(loss[i])) for i in worst]


def _share(p: float) -> str:
    """A probability as a percentage that does not round a small one to a misleading 0%."""
    return fmt.percent(p, decimals=0) if p >= 0.1 else fmt.percent(p) if p >= 0.001 else "<0.1%"


@PICTURES.register("top-losses", order=100)
def look_top_losses(run: Run, out_dir: Path, *, k: int = 12) -> list[Path]:
    """``top-losses.png``: the validation samples the model is most confidently wrong on, as images or signals."""
    y, prob, threshold = _val_predictions(run)
    worst = top_losses(y, prob, threshold=threshold, k=k)
    what = f"the {len(worst)} most confidently wrong validation samples"
    if not worst:  # a perfect validation score: the least sure correct answers are the next best lesson
        worst = top_losses(y, prob, threshold=threshold, k=k, only_wrong=False)
        what = f"no validation sample is misclassified; the {len(worst)} with the highest loss"
    x = split_scalars(run_data(run).x_val, len(scalar_names(run)))[0]  # drawn without packed scalars
    signal = x.dim() == 3
    rows, cols = grid(len(worst), max_cols=4 if signal else 6)
    width, height = (2.4, 1.55) if signal else (1.7, 1.9)
    fig, axes = canvas.subplots(rows, cols, layout="constrained", figsize=(width * cols + 0.4, height * rows + 0.6),
                             squeeze=False)
    for ax, item in zip(axes.flat, worst, strict=False):
        draw_sample(ax, x[item.index].numpy(),
                    title=f"val {item.index}: true {class_name(run, item.true)} (p {_share(math.exp(-item.loss))})\n"
                          f"said {class_name(run, item.predicted)} ({fmt.percent(item.confidence, decimals=0)})")
        if signal:
            ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(worst):]:
        ax.axis("off")
    fig.suptitle(f"run {run.id}: {what} (highest loss first)", fontsize=9)
    return [save(fig, Path(out_dir) / "top-losses.png")]


# -- several runs' curves -----------------------------------------------------------------------


@dataclass
class Curve:
    """One run's history in an overlay.

    Args:
        label: the legend entry ("run 12", "trial 3").
        history: per-epoch rows.
        faded: drawn pale and thin (a pruned or failed trial).
        highlight: drawn thick (the best trial).
    """

    label: str
    history: list[dict[str, Any]]
    faded: bool = False
    highlight: bool = False


def plot_overlay(curves: Sequence[Curve], path: str | Path, *, title: str = "", metrics: Sequence[str] | None = None,
                 train: bool = False) -> Path:
    """All runs' validation curves (and train, dashed, with ``train=True``) in one panel per metric."""
    names = list(metrics) if metrics else curve_metrics([row for c in curves for row in c.history])[:3]
    fig, axes = canvas.subplots(1, len(names), layout="constrained", figsize=(5.0 * len(names), 3.8), squeeze=False)
    many = len(curves) > 10
    for ax, name in zip(axes[0], names, strict=True):
        for i, c in enumerate(curves):
            epochs = [row["epoch"] for row in c.history]
            color = "0.55" if c.faded else f"C{i % 10}"
            width, alpha = (2.6, 1.0) if c.highlight else (0.9, 0.35) if c.faded else (1.3, 0.9)
            values = [row.get(f"val_{name}", math.nan) for row in c.history]
            if not any(isinstance(v, float | int) and math.isfinite(v) for v in values):
                continue
            ax.plot(epochs, values, color=color, linewidth=width, alpha=alpha, markersize=2.5,
                    marker="o" if len(epochs) < 12 else None, zorder=3 if c.highlight else 2,
                    label=None if (many and not c.highlight) else c.label)
            if train:
                ax.plot(epochs, [row.get(f"train_{name}", math.nan) for row in c.history], color=color,
                        linewidth=width * 0.8, alpha=alpha * 0.7, linestyle="--")
        ax.set_title(f"validation {name}" + (" (train dashed)" if train else ""), fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        if name == "loss" and _spans_decades(ax):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2 if len(curves) > 6 else 1)
    if title:
        fig.suptitle(title, fontsize=10)
    return save(fig, Path(path))


def _spans_decades(ax: canvas.Axes) -> bool:
    """A diverged trial's loss of 1e3 flattens everyone else's curve: switch to a log axis then."""
    values = np.concatenate([line.get_ydata() for line in ax.get_lines()] or [np.array([])]).astype(float)
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 0 and values.max() / values.min() > 100


__all__ = ["Curve", "TopLoss", "look_confusion", "run_confusion", "look_roc", "look_top_losses", "plot_overlay", "top_losses"]
