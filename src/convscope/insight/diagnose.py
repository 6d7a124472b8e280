"""Learning-curve and training-health verdicts: what went wrong in a run, in words, with the numbers.

:func:`diagnose` reads a run's per-epoch history (losses, accuracies and the ``health`` summaries
that :class:`~convscope.train.health.HealthMonitor` records) and returns :class:`Verdict` s. It runs at
the end of every run; ``convscope show`` prints the verdicts and the report lists them.

Every check is a function registered in :data:`VERDICTS` (``@VERDICTS.register("name")``): the two
built-in families are below (learning curves, training health); a new verdict is one more registered
function in any module of ``convscope.insight`` (the registry imports the package on first use), and
``diagnose`` -- so every run, ``convscope show`` and the report -- runs it.

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
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from convscope import formatting as fmt
from convscope.registry import Registry

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
# Vanishing gradients: the first layer's weight-gradient norm is below 1/1000 of the last layer's. In
# healthy conv nets (ReLU, Glorot/He init) the ratio stays within 1/30..30; a deep sigmoid stack loses
# a factor of >= 4 per layer (sigmoid' <= 1/4), so 5+ saturated layers fall far below 1/1000.
VANISH_RATIO = 1e-3
# Exploding gradients: the first layer's gradient is 1000x the last layer's (the mirror image), a
# layer's median weight-gradient norm reaches 100, or a norm becomes NaN/inf. With a batch-averaged
# cross-entropy, healthy layers measure 0.01-10 (0.05-0.7 on the built-in data); at 100 even a 1e-3
# learning rate moves a layer's weights by 0.1 per step.
EXPLODE_RATIO = 1e3
EXPLODE_NORM = 100.0
# No gradient: a layer whose gradient norm is below 1e-7 of the largest layer's (float32 resolution)
# or exactly zero receives nothing to learn from: typically the layers under a dead ReLU layer.
NO_GRAD_RELATIVE = 1e-7
# Dead ReLUs: half of a layer's channels/units output zero on every validation sample. Some dead units
# are normal (ReLU nets settle with 5-20%); CS231n warns of "as much as 40% of your network" after a too
# high learning rate, and beyond half the layer has lost most of its width.
DEAD_FRAC = 0.5
# Saturation: half of a sigmoid/tanh layer's outputs within 1% of a bound, where its derivative is
# below 0.01 (sigmoid) / 0.04 (tanh): those units pass almost no gradient back.
SATURATED_FRAC = 0.5
# Large first-epoch activations: a pre-activation of magnitude 100 after one epoch. With inputs in
# [0, 1] and Glorot/He init, pre-activations are O(1-10); at |z| > 100 any sigmoid/tanh is flat and
# a ReLU layer's scale will dominate the loss: the init scale or the input scaling is off.
LARGE_ACTIVATION = 100.0

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class Verdict:
    """One finding about a run.

    Args:
        kind: overfitting | not_learning | underfitting | still_improving | divergence |
            vanishing_gradients | exploding_gradients | no_gradient | dead_relu | saturation |
            large_activations.
        severity: ``error`` (the run is broken), ``warning`` (it works but wastes something), ``info``.
        text: one plain-language sentence with the numbers behind it.
        short: a few words for a table cell ("overfits from epoch 5").
        layer: the layer it is about (``conv1``), if any.
        data: the numbers, for programs.
    """

    kind: str
    severity: str
    text: str
    short: str
    layer: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# A check: (history, health, *, num_classes, chance) -> its verdicts (see diagnose for the arguments).
# Trait ``order``: checks run in this order (built-ins 0 and 1, default 100) before the severity sort.
VerdictCheck = Callable[..., list[Verdict]]
VERDICTS: Registry[VerdictCheck] = Registry("verdict check", discover="convscope.insight")


def verdict_label(diagnosis: list[dict[str, Any]] | None) -> str:
    """A run's stored verdicts in a few words: every verdict's ``short``, most severe first (what
    ``convscope show`` lists in full), ``no verdict`` when there is none.

    Example:
        >>> verdict_label([{"short": "overfits from epoch 5", "severity": "warning"},
        ...                {"short": "still improving", "severity": "info"}])
        'overfits from epoch 5; still improving'
    """
    ordered = sorted(diagnosis or [], key=lambda v: SEVERITY_ORDER.get(v.get("severity", "info"), 3))
    return "; ".join(v["short"] for v in ordered) or "no verdict"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _pct(value: float) -> str:
    return fmt.percent(value)


def _num(value: float) -> str:
    """3 significant digits, scientific for tiny/huge values (gradient norms span 1e-9..1e3)."""
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


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
    verdicts: list[Verdict] = []
    for check in sorted(VERDICTS.entries(), key=lambda entry: entry.traits.get("order", 100)):
        verdicts += check.obj(history, health, num_classes=num_classes, chance=chance)
    return sorted(verdicts, key=lambda v: SEVERITY_ORDER.get(v.severity, 3))


# -- learning curves --------------------------------------------------------------------------


@VERDICTS.register("learning_curves", order=0)
def _curve_verdicts(history: list[dict[str, Any]], health: list[dict[str, Any] | None], *, num_classes: int,
                    chance: float) -> list[Verdict]:
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


# -- gradients and activations ----------------------------------------------------------------


def _layer_series(health: list[dict[str, Any] | None], epochs: list[int]) -> dict[str, list[tuple[int, dict]]]:
    """layer name -> [(epoch, that epoch's entry)], layers in network order."""
    series: dict[str, list[tuple[int, dict]]] = {}
    for epoch, entry in zip(epochs, health, strict=True):
        for name, stats in ((entry or {}).get("layers") or {}).items():
            series.setdefault(name, []).append((epoch, stats))
    return series


@VERDICTS.register("training_health", order=1)
def _health_verdicts(history: list[dict[str, Any]], health: list[dict[str, Any] | None], *, num_classes: int,
                     chance: float) -> list[Verdict]:
    series = _layer_series(health, [row["epoch"] for row in history])
    if not series:
        return []
    weighted = [name for name, rows in series.items() if rows[-1][1].get("type") in ("conv", "dense")]
    # the output layer's activation, if any, belongs to the loss, not to the hidden layers
    hidden = {name: rows for name, rows in series.items() if not weighted or name != weighted[-1]}
    return _gradient_verdicts(series) + _dead_verdict(hidden) + _saturation_verdict(hidden) + _large_verdict(hidden)


def _listing(items: list[tuple[str, str]]) -> str:
    """'conv1 (62%), dense2 (55%)'."""
    return ", ".join(f"{name} ({what})" for name, what in items)


def _gradient_verdicts(series: dict[str, list[tuple[int, dict]]]) -> list[Verdict]:
    grads = {name: [(e, s["grad_norm"]) for e, s in rows if "grad_norm" in s] for name, rows in series.items()}
    grads = {name: values for name, values in grads.items() if values}
    if not grads:
        return []
    out: list[Verdict] = []
    for name, values in grads.items():
        bad = next(((e, g) for e, g in values if not _finite(g)), None)
        if bad is not None:
            out.append(Verdict("exploding_gradients", "error",
                               f"exploding gradients: the gradient norm of {name} became {bad[1]} at epoch {bad[0]}",
                               f"{name} gradient {bad[1]}", layer=name, data={"epoch": bad[0]}))
            return out
    typical = {name: statistics.median(g for _, g in values) for name, values in grads.items()}
    names = list(typical)
    largest = max(typical.values())

    dead = [n for n in names if typical[n] == 0 or typical[n] < NO_GRAD_RELATIVE * largest]
    if dead:
        where = "any layer" if len(dead) == len(names) else ", ".join(dead)
        out.append(Verdict(
            "no_gradient", "error",
            f"no gradient reaches {where} (median weight-gradient norm "
            f"{', '.join(f'{n} {_num(typical[n])}' for n in dead)}"
            + (f"; largest {_num(largest)}" if len(dead) < len(names) else "")
            + "): those layers cannot learn; look for dead ReLUs or a saturated layer above them",
            f"no gradient at {dead[0]}", layer=dead[0], data={"grad_norms": {n: typical[n] for n in dead}}))

    huge = {n: typical[n] for n in names if typical[n] >= EXPLODE_NORM}
    if huge:
        worst = max(huge, key=huge.__getitem__)
        out.append(Verdict(
            "exploding_gradients", "error",
            f"exploding gradients: median weight-gradient norm "
            f"{', '.join(f'{_num(g)} at {n}' for n, g in huge.items())} (healthy layers stay below about 10): lower the learning rate, clip gradients, or use a smaller init "
            f"or batchnorm", f"exploding gradient at {worst}", layer=worst, data={"grad_norms": huge}))
        return out

    first, last = names[0], names[-1]
    if len(names) < 2 or first in dead:
        return out
    # the ratio per epoch: a vanishing gradient is worst at the start (Adam can rescue the early layers
    # later, plain SGD cannot), so the verdict reports the first epoch and whether it lasted
    paired = {e: g for e, g in grads[first]}
    ratios = [(e, paired[e] / g) for e, g in grads[last] if e in paired and g > 0]
    if not ratios:
        return out
    chain = ", ".join(f"{n} {_num(typical[n])}" for n in names)
    e0, r0 = ratios[0]
    e1, r1 = ratios[-1]
    median = statistics.median(r for _, r in ratios)
    for kind, crosses, word in (("vanishing_gradients", lambda r: r < VANISH_RATIO, "vanishing"),
                                ("exploding_gradients", lambda r: r > EXPLODE_RATIO, "exploding")):
        if not (crosses(r0) or crosses(median)):
            continue
        lasting = crosses(r1)
        if e1 == e0:
            later = "its only epoch"
        else:
            later = f"still {_num(r1)}× at epoch {e1}" if lasting else f"recovered to {_num(r1)}× by epoch {e1}"
        advice = ("the first layers barely learn (use ReLU, He init or batchnorm)" if word == "vanishing"
                  else "lower the learning rate, clip gradients or add batchnorm")
        out.append(Verdict(
            kind, "error" if lasting else "warning",
            f"{word} gradients: {first}'s gradient norm was {_num(r0)}× the last layer's ({last}) at epoch {e0}, "
            f"{later}; median per layer: {chain}: {advice}",
            f"{word} gradient at {first}", layer=first,
            data={"ratio_first_epoch": r0, "ratio_last_epoch": r1, "ratio_median": median, "grad_norms": typical}))
    return out


def _dead_verdict(series: dict[str, list[tuple[int, dict]]]) -> list[Verdict]:
    found = []
    for name, rows in series.items():
        epoch, stats = rows[-1]
        dead = stats.get("dead_frac")
        if _finite(dead) and dead >= DEAD_FRAC:
            units = stats.get("units")
            what = "channels" if stats.get("type") == "conv" else "units"
            count = f"{round(dead * units)} of {units} {what}" if units else f"{_pct(dead)} of the {what}"
            found.append((name, dead, count, epoch))
    if not found:
        return []
    worst = max(found, key=lambda f: f[1])
    epoch = worst[3]
    return [Verdict(
        "dead_relu", "error" if worst[1] >= 1 else "warning",
        f"dead ReLUs: {_listing([(n, c) for n, _, c, _ in found])} output zero on every validation sample at epoch "
        f"{epoch}; a dead unit passes no gradient and never recovers (lower the learning rate, He init, or "
        f"leaky_relu)",
        f"{_pct(worst[1])} dead ReLUs in {worst[0]}", layer=worst[0],
        data={"dead_frac": {n: d for n, d, _, _ in found}, "epoch": epoch})]


def _saturation_verdict(series: dict[str, list[tuple[int, dict]]]) -> list[Verdict]:
    found = []
    for name, rows in series.items():
        epoch, stats = rows[-1]
        saturated = stats.get("saturated_frac")
        if _finite(saturated) and saturated >= SATURATED_FRAC:
            found.append((name, saturated, stats.get("act", "activation"), epoch))
    if not found:
        return []
    worst = max(found, key=lambda f: f[1])
    acts = "/".join(sorted({a for _, _, a, _ in found}))
    return [Verdict(
        "saturation", "warning",
        f"saturated {acts}: {_listing([(n, _pct(f)) for n, f, _, _ in found])} of the outputs lie within 1% of the "
        f"{acts} bounds at epoch {worst[3]}, where the derivative is near zero and little gradient passes "
        f"(smaller init, batchnorm, or ReLU)",
        f"{worst[0]} {worst[2]} saturated", layer=worst[0],
        data={"saturated_frac": {n: f for n, f, _, _ in found}, "epoch": worst[3]})]


def _large_verdict(series: dict[str, list[tuple[int, dict]]]) -> list[Verdict]:
    found = []
    for name, rows in series.items():
        epoch, stats = rows[0]
        pre_max = stats.get("pre_max")
        if _finite(pre_max) and pre_max >= LARGE_ACTIVATION:
            found.append((name, pre_max, epoch))
    if not found:
        return []
    worst = max(found, key=lambda f: f[1])
    return [Verdict(
        "large_activations", "warning",
        f"large activations in epoch {worst[2]}: the largest pre-activation |z| was "
        f"{', '.join(f'{_num(v)} in {n}' for n, v, _ in found)} (healthy nets stay around 1-10): check the init "
        f"scale and that inputs are scaled to about [0, 1]",
        f"large activations in {worst[0]}", layer=worst[0],
        data={"pre_max": {n: v for n, v, _ in found}, "epoch": worst[2]})]


__all__ = ["VERDICTS", "Verdict", "diagnose", "verdict_label"]
