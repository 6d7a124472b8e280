"""Learning-curve and training-health verdicts: what went wrong in a run, in words, with the numbers.

:func:`diagnose` reads a run's per-epoch history (losses, accuracies and the ``health`` summaries
that :class:`~convscope.train.health.HealthMonitor` records) and returns :class:`Verdict` s. It runs at
the end of every run; ``convscope show`` prints the verdicts and the report lists them.

The thresholds below are deliberately conservative: a verdict is a claim a user will act on, so each
one fires only when the effect is well outside epoch-to-epoch noise. Each constant says why.

Example:
    >>> history = [{"epoch": e, "train_loss": t, "val_loss": v}
    ...            for e, t, v in [(1, 1.0, 0.9), (2, 0.5, 0.6), (3, 0.2, 0.8), (4, 0.1, 1.1)]]
    >>> [v.short for v in diagnose(history, num_classes=10)]
    ['overfits from epoch 2']
"""

from __future__ import annotations

import math
from typing import Any

from convscope.insight.health_verdicts import health_verdicts
from convscope.insight.verdict import SEVERITY_ORDER, Verdict, _finite, _pct, verdict_label

# -- thresholds -------------------------------------------------------------------------------

# Overfitting: the final val loss must exceed its minimum by 10% (epoch-to-epoch noise of val loss on a
# few hundred samples is a few %), at least 2 epochs after the minimum (one bad epoch is noise), while
# the train loss kept falling (so the model is fitting the training set, not diverging).
OVERFIT_RISE = 0.10
OVERFIT_MIN_EPOCHS_AFTER = 2
# Not learning: the best train loss stays above 90% of the loss of a uniform guess, ln(K) -- where every
# freshly initialised classifier starts -- or the best validation accuracy of the whole run is within 2
# points of chance (a last epoch at chance after a good one is a collapse, not a model that never learned).
NOT_LEARNING_LOSS = 0.90
CHANCE_MARGIN = 0.02
# Underfitting: at no epoch does the model fit even its training data (best train accuracy below 90%;
# best val too: a run with 92% val is not underfitting, whatever dropout does to its train accuracy),
# train is not clearly ahead of validation (gap under 3 points), and the train loss has flattened (the
# last epoch cut it by less than 5%): more data or regularisation would not help; capacity would. A loss
# still falling fast is a run stopped early ("still improving"), not a model too small.
UNDERFIT_TRAIN_ACC = 0.90
UNDERFIT_GAP = 0.03
UNDERFIT_PLATEAU = 0.05
# Still improving: the last epoch is the best and improved val loss by more than 2% on the one before.
STILL_IMPROVING = 0.02
# Divergence: the final train loss is 10% above the first epoch's (training made the model worse).
DIVERGE_RISE = 0.10

def diagnose(history: list[dict[str, Any]], *, health: list[dict[str, Any] | None] | None = None,
             num_classes: int, chance: float | None = None) -> list[Verdict]:
    """Verdicts about a run from its per-epoch history, most severe first.

    Args:
        history: per-epoch rows with ``epoch``, ``train_loss``, ``val_loss`` and optionally
            ``train_accuracy``/``val_accuracy`` and ``health`` (as stored by the run store).
        health: per-epoch health summaries, aligned with ``history``; default: each row's ``health``.
        num_classes: K; the loss of a uniform guess is ln(K) (also for a one-logit binary model).
        chance: the accuracy of always predicting the majority class (default 1/K).
    """
    if not history:
        return []
    if health is None:
        health = [row.get("health") for row in history]
    chance = 1.0 / num_classes if chance is None else chance
    verdicts = _curve_verdicts(history, num_classes=num_classes, chance=chance)
    verdicts += health_verdicts(history, health)
    return sorted(verdicts, key=lambda v: SEVERITY_ORDER.get(v.severity, 3))


# -- learning curves --------------------------------------------------------------------------


def _curve_verdicts(history: list[dict[str, Any]], *, num_classes: int, chance: float) -> list[Verdict]:
    bad = next((row for row in history if not (_finite(row.get("train_loss")) and _finite(row.get("val_loss")))),
               None)
    if bad is not None:
        return [_nan_divergence(history, bad)]
    epochs = [row["epoch"] for row in history]
    train = [row["train_loss"] for row in history]
    val = [row["val_loss"] for row in history]
    out: list[Verdict] = []

    if train[-1] > train[0] * (1 + DIVERGE_RISE) and len(history) > 1:
        out.append(Verdict(
            "divergence", "error",
            f"train loss rose from {train[0]:.3f} (epoch {epochs[0]}) to {train[-1]:.3f} (epoch {epochs[-1]}): "
            f"training makes the model worse; lower the learning rate",
            f"loss rose to {train[-1]:.3g}", data={"first_train_loss": train[0], "final_train_loss": train[-1]}))
        return out

    uniform = math.log(max(num_classes, 2))
    val_best = _best_accuracy(history, "val")  # (epoch, accuracy): the whole curve, not the last epoch
    reasons = []
    if min(train) >= NOT_LEARNING_LOSS * uniform:
        reasons.append(f"train loss never went below {min(train):.3g} (a uniform guess scores "
                       f"ln({num_classes}) = {uniform:.3f})")
    if val_best is not None and val_best[1] <= chance + CHANCE_MARGIN:
        reasons.append(f"val accuracy never rose above {_pct(val_best[1])} (epoch {val_best[0]}), "
                       f"chance level ({_pct(chance)})")
    if reasons:
        out.append(Verdict("not_learning", "error", "not learning: " + "; ".join(reasons)
                           + " (check the learning rate, the labels and the input scaling)",
                           "not learning", data={"min_train_loss": min(train), "uniform_loss": uniform,
                                                 "best_val_accuracy": val_best[1] if val_best else None,
                                                 "chance": chance}))
        return out

    best = min(range(len(val)), key=val.__getitem__)
    after = epochs[-1] - epochs[best]
    rise = val[-1] / val[best] - 1 if val[best] > 0 else math.inf
    if after >= OVERFIT_MIN_EPOCHS_AFTER and rise > OVERFIT_RISE and train[-1] < train[best]:
        out.append(_overfitting(history, best, after, rise))

    out += _underfitting(history)

    if best == len(val) - 1 and len(val) > 1 and val[-2] > 0 and 1 - val[-1] / val[-2] > STILL_IMPROVING:
        out.append(Verdict(
            "still_improving", "info",
            f"val loss still falling at the last epoch ({val[-2]:.3f} → {val[-1]:.3f}, "
            f"-{_pct(1 - val[-1] / val[-2])}): more epochs would likely help",
            "still improving", data={"previous_val_loss": val[-2], "final_val_loss": val[-1]}))
    return out


def _best_accuracy(history: list[dict[str, Any]], split: str) -> tuple[int, float] | None:
    """``(epoch, accuracy)`` of the split's most accurate epoch, or ``None`` when it has no accuracy."""
    found = [(row["epoch"], row[f"{split}_accuracy"]) for row in history if _finite(row.get(f"{split}_accuracy"))]
    return max(found, key=lambda pair: pair[1]) if found else None


def _relation(a: float, b: float) -> str:
    """How ``a`` compares to ``b`` in words, chosen from the numbers (within half a point: level)."""
    if abs(a - b) < 0.005:
        return "level with"
    return "above" if a > b else "below"


def _underfitting(history: list[dict[str, Any]]) -> list[Verdict]:
    """Neither split ever reached :data:`UNDERFIT_TRAIN_ACC`, train is not clearly ahead of val, and the
    train loss has flattened."""
    train_best, val_best = _best_accuracy(history, "train"), _best_accuracy(history, "val")
    if train_best is None or val_best is None:
        return []
    train = [row["train_loss"] for row in history]
    drop = 1 - train[-1] / train[-2] if len(train) > 1 and train[-2] > 0 else 0.0
    if not (train_best[1] < UNDERFIT_TRAIN_ACC and val_best[1] < UNDERFIT_TRAIN_ACC
            and train_best[1] - val_best[1] < UNDERFIT_GAP and drop < UNDERFIT_PLATEAU):
        return []
    return [Verdict(
        "underfitting", "warning",
        f"underfitting: the best train accuracy, {_pct(train_best[1])} (epoch {train_best[0]}), is "
        f"{_relation(train_best[1], val_best[1])} the best val accuracy, {_pct(val_best[1])} (epoch {val_best[0]}), "
        f"both below {_pct(UNDERFIT_TRAIN_ACC)}, and the last epoch cut the train loss by only {_pct(max(drop, 0.0))}: "
        f"the model does not fit even its training data (more capacity, or a higher learning rate)",
        f"underfits (best train acc {_pct(train_best[1])})",
        data={"best_train_accuracy": train_best[1], "best_train_epoch": train_best[0],
              "best_val_accuracy": val_best[1], "best_val_epoch": val_best[0], "last_train_loss_drop": drop})]


def _nan_divergence(history: list[dict[str, Any]], bad: dict[str, Any]) -> Verdict:
    which = "train" if not _finite(bad.get("train_loss")) else "val"
    value = bad.get(f"{which}_loss")
    word = "NaN" if value is None or (isinstance(value, float) and math.isnan(value)) else "inf"
    last = [row for row in history if row["epoch"] < bad["epoch"]]
    before = (f" (last finite train loss {last[-1]['train_loss']:.3f} at epoch {last[-1]['epoch']})"
              if last and _finite(last[-1].get("train_loss")) else "")
    return Verdict("divergence", "error",
                   f"diverged: {which} loss became {word} at epoch {bad['epoch']}{before}; lower the learning rate "
                   f"(or add gradient clipping / batchnorm)",
                   f"diverged at epoch {bad['epoch']}", data={"epoch": bad["epoch"], "split": which})


def _overfitting(history: list[dict[str, Any]], best: int, after: int, rise: float) -> Verdict:
    b, last = history[best], history[-1]
    text = (f"overfitting: val loss minimal at epoch {b['epoch']} ({b['val_loss']:.3f}), {last['val_loss']:.3f} at "
            f"the end (+{_pct(rise)}); ")
    if _finite(last.get("train_accuracy")) and _finite(last.get("val_accuracy")):
        text += f"final train acc {_pct(last['train_accuracy'])} vs val {_pct(last['val_accuracy'])}; "
    else:
        text += f"final train loss {last['train_loss']:.3f} vs val {last['val_loss']:.3f}; "
    text += f"{after} epoch{'s' if after != 1 else ''} after the optimum"
    return Verdict("overfitting", "warning", text, f"overfits from epoch {b['epoch']}",
                   data={"best_epoch": b["epoch"], "best_val_loss": b["val_loss"], "final_val_loss": last["val_loss"],
                         "epochs_after": after, "final_train_accuracy": last.get("train_accuracy"),
                         "final_val_accuracy": last.get("val_accuracy")})


__all__ = ["SEVERITY_ORDER", "Verdict", "diagnose", "verdict_label"]
