"""Each learning-curve verdict at its threshold: it fires just past it, stays silent just before it, reads
the whole curve, and its sentence says what its numbers say."""

from __future__ import annotations

import math

import pytest

from convscope.insight import diagnose as D


def _history(train_loss, val_loss, train_acc=None, val_acc=None):
    rows = []
    for i, (t, v) in enumerate(zip(train_loss, val_loss, strict=True)):
        row = {"epoch": i + 1, "train_loss": t, "val_loss": v}
        if train_acc is not None:
            row["train_accuracy"], row["val_accuracy"] = train_acc[i], val_acc[i]
        rows.append(row)
    return rows


def _kinds(history, num_classes=10, chance=None):
    return {v.kind: v for v in D.diagnose(history, num_classes=num_classes, chance=chance)}


# -- not learning: the best val accuracy of the run against chance + margin -------------------------

@pytest.mark.parametrize("best_val, fires", [(0.5 + D.CHANCE_MARGIN - 0.001, True), (0.5 + D.CHANCE_MARGIN + 0.001, False)])
def test_not_learning_at_the_chance_margin(best_val, fires):
    history = _history([0.6, 0.5, 0.45], [0.6, 0.55, 0.5], [0.6, 0.7, 0.75], [0.5, best_val, 0.5])
    found = _kinds(history, num_classes=2, chance=0.5)
    assert ("not_learning" in found) is fires
    if fires:
        assert f"never rose above {100 * best_val:.1f}% (epoch 2)" in found["not_learning"].text


def test_a_last_epoch_at_chance_after_a_good_one_is_not_not_learning():
    # the trial: 86% val at its best epoch, 57.8% (chance) at the last one
    history = _history([0.6, 0.4, 0.3], [0.5, 0.35, 0.9], [0.7, 0.85, 0.9], [0.75, 0.86, 0.578])
    assert "not_learning" not in _kinds(history, num_classes=2, chance=0.55)


def test_not_learning_by_loss_at_the_uniform_boundary():
    uniform = math.log(10)
    stuck = _history([uniform, D.NOT_LEARNING_LOSS * uniform + 0.001], [uniform, uniform])
    learns = _history([uniform, D.NOT_LEARNING_LOSS * uniform - 0.01], [uniform, uniform * 0.89])
    assert "not_learning" in _kinds(stuck) and "not_learning" not in _kinds(learns)


# -- underfitting: the best accuracies of the run, train not ahead of val, a flat train loss ------------

def test_dropout_train_below_val_at_92_percent_is_not_underfitting():
    # the run: "final train accuracy 82.2% is barely above val 91.7%"
    history = _history([0.6, 0.5, 0.499], [0.4, 0.3, 0.3], [0.80, 0.82, 0.822], [0.90, 0.917, 0.917])
    assert "underfitting" not in _kinds(history)


@pytest.mark.parametrize("best, fires", [(D.UNDERFIT_TRAIN_ACC - 0.001, True), (D.UNDERFIT_TRAIN_ACC + 0.001, False)])
def test_underfitting_at_the_accuracy_boundary(best, fires):
    history = _history([1.0, 0.8, 0.79], [1.0, 0.85, 0.84], [0.7, 0.8, best], [0.7, 0.8, best - 0.01])
    found = _kinds(history)
    assert ("underfitting" in found) is fires
    if fires:  # the sentence's comparison word comes from the numbers it quotes
        assert f"{100 * best:.1f}% (epoch 3), is above the best val accuracy" in found["underfitting"].text


def test_underfitting_says_below_when_train_is_below_val():
    history = _history([1.0, 0.8, 0.79], [1.0, 0.85, 0.84], [0.6, 0.7, 0.75], [0.7, 0.8, 0.85])
    text = _kinds(history)["underfitting"].text
    assert "75.0% (epoch 3), is below the best val accuracy, 85.0% (epoch 3)" in text


@pytest.mark.parametrize("gap, fires", [(D.UNDERFIT_GAP - 0.002, True), (D.UNDERFIT_GAP + 0.002, False)])
def test_underfitting_at_the_gap_boundary(gap, fires):
    history = _history([1.0, 0.8, 0.79], [1.0, 0.85, 0.84], [0.7, 0.8, 0.8], [0.7, 0.8 - gap, 0.8 - gap])
    assert ("underfitting" in _kinds(history)) is fires


@pytest.mark.parametrize("drop, fires", [(D.UNDERFIT_PLATEAU - 0.005, True), (D.UNDERFIT_PLATEAU + 0.005, False)])
def test_underfitting_needs_a_flat_train_loss(drop, fires):
    history = _history([1.0, 0.8, 0.8 * (1 - drop)], [1.0, 0.85, 0.84], [0.7, 0.8, 0.8], [0.7, 0.8, 0.8])
    assert ("underfitting" in _kinds(history)) is fires


# -- overfitting, still improving, divergence ---------------------------------------------------------

@pytest.mark.parametrize("rise, fires", [(D.OVERFIT_RISE + 0.01, True), (D.OVERFIT_RISE - 0.01, False)])
def test_overfitting_at_the_rise_boundary(rise, fires):
    history = _history([1.0, 0.6, 0.4, 0.3], [1.0, 0.5, 0.5 * (1 + rise / 2), 0.5 * (1 + rise)])
    found = _kinds(history)
    assert ("overfitting" in found) is fires
    if fires:
        assert "val loss minimal at epoch 2 (0.500)" in found["overfitting"].text


def test_overfitting_needs_epochs_after_the_optimum():
    one_after = _history([1.0, 0.6, 0.4], [1.0, 0.5, 0.7])
    assert "overfitting" not in _kinds(one_after)


@pytest.mark.parametrize("gain, fires", [(D.STILL_IMPROVING + 0.005, True), (D.STILL_IMPROVING - 0.005, False)])
def test_still_improving_at_its_boundary(gain, fires):
    history = _history([1.0, 0.8, 0.7], [1.0, 0.8, 0.8 * (1 - gain)])
    assert ("still_improving" in _kinds(history)) is fires


@pytest.mark.parametrize("rise, fires", [(D.DIVERGE_RISE + 0.01, True), (D.DIVERGE_RISE - 0.01, False)])
def test_divergence_at_its_boundary(rise, fires):
    history = _history([1.0, 1.05, 1.0 + rise], [1.0, 1.0, 1.0])
    found = _kinds(history)
    assert ("divergence" in found) is fires
    if fires:
        assert f"to {1 + rise:.3f} (epoch 3)" in found["divergence"].text
