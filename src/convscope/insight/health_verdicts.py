"""Training-health verdicts: gradients that vanish, explode or never arrive, dead ReLUs, saturated units and
large first-epoch activations, each naming its layer, from the per-epoch ``health`` summaries that
:class:`~convscope.train.health.HealthMonitor` records. :func:`~convscope.insight.diagnose.diagnose` calls
:func:`health_verdicts`; the learning-curve verdicts live there.

Example:
    >>> health = [{"layers": {"conv1": {"type": "conv", "grad_norm": 0.5, "dead_frac": 0.75, "units": 8},
    ...                       "dense2": {"type": "dense", "grad_norm": 0.4}}}]
    >>> [v.kind for v in health_verdicts([{"epoch": 1}], health)]
    ['dead_relu']
"""

from __future__ import annotations

import statistics
from typing import Any

from convscope.insight.verdict import Verdict, _finite, _num, _pct

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


def _layer_series(health: list[dict[str, Any] | None], epochs: list[int]) -> dict[str, list[tuple[int, dict]]]:
    """layer name -> [(epoch, that epoch's entry)], layers in network order."""
    series: dict[str, list[tuple[int, dict]]] = {}
    for epoch, entry in zip(epochs, health, strict=True):
        for name, stats in ((entry or {}).get("layers") or {}).items():
            series.setdefault(name, []).append((epoch, stats))
    return series


def health_verdicts(history: list[dict[str, Any]], health: list[dict[str, Any] | None]) -> list[Verdict]:
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


__all__ = ["health_verdicts"]
