"""Per-class metrics (Se, +P, Sp, NPV, F1), their macro averages and names, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from convscope.errors import ConfigError
from convscope.train import metrics as M

AAMI = ["N", "S", "V", "F", "Q"]


@pytest.fixture(scope="module")
def beats():
    """Five imbalanced classes like AAMI's (N dominant, F and Q rare), predictions ~80% right."""
    rng = np.random.default_rng(3)
    y = rng.choice(5, size=400, p=[0.7, 0.1, 0.12, 0.04, 0.04])
    pred = np.where(rng.uniform(size=400) < 0.8, y, rng.integers(0, 5, 400))
    prob = np.eye(5)[pred] * 0.6 + 0.08  # (N, 5), argmax == pred
    return y, prob, pred


def test_per_class_forms_match_sklearn(beats):
    y, prob, pred = beats
    precision, recall, f1, _ = skm.precision_recall_fscore_support(y, pred, labels=range(5))
    scores = M.compute(["sensitivity/*", "ppv/*", "f1/*", "specificity/*", "npv/*"], y, prob, class_names=AAMI)
    for k, name in enumerate(AAMI):
        assert scores[f"sensitivity/{name}"] == pytest.approx(recall[k])
        assert scores[f"ppv/{name}"] == pytest.approx(precision[k])
        assert scores[f"f1/{name}"] == pytest.approx(f1[k])
        # one-vs-rest: Sp of k is the recall of "not k", NPV of k the precision of "not k"
        assert scores[f"specificity/{name}"] == pytest.approx(skm.recall_score(y != k, pred != k))
        assert scores[f"npv/{name}"] == pytest.approx(skm.precision_score(y != k, pred != k))


def test_macro_forms_match_sklearn_macro_averages(beats):
    y, prob, pred = beats
    scores = M.compute(["macro_sensitivity", "macro_ppv", "macro_f1", "macro_specificity"], y, prob)
    assert scores["macro_sensitivity"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert scores["macro_ppv"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert scores["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert scores["macro_specificity"] == pytest.approx(np.mean([skm.recall_score(y != k, pred != k)
                                                                 for k in range(5)]))


def test_binary_headline_is_class_1_and_macro_averages_both(beats):
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    pred = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])  # class 1: tp 3, fn 1, fp 2
    prob = np.eye(2)[pred].astype(float)
    scores = M.compute(["f1", "macro_f1", "f1/1", "f1/0"], y, prob, class_names=["0", "1"])
    assert scores["f1"] == scores["f1/1"] == pytest.approx(6 / 9)
    assert scores["f1/0"] == pytest.approx(8 / 11)
    assert scores["macro_f1"] == pytest.approx((6 / 9 + 8 / 11) / 2)


def test_a_class_never_seen_nor_predicted_is_nan_and_left_out_of_macro(beats):
    y, prob, pred = beats
    keep = (y != 4) & (pred != 4)  # Q absent from a small validation split
    scores = M.compute(["sensitivity/Q", "ppv/Q", "macro_sensitivity"], y[keep], prob[keep], class_names=AAMI)
    assert np.isnan(scores["sensitivity/Q"]) and np.isnan(scores["ppv/Q"])
    present = skm.recall_score(y[keep], pred[keep], labels=range(4), average="macro")
    assert scores["macro_sensitivity"] == pytest.approx(present)


def test_names_are_checked_with_a_hint():
    M.check_names(["accuracy", "macro_f1", "sensitivity/S", "f1/*"])
    with pytest.raises(ConfigError, match="unknown metric 'sensitivty'") as exc:
        M.check_names(["sensitivty/S"])
    assert "sensitivity" in exc.value.hint
    with pytest.raises(ConfigError, match="accuracy has no per-class form"):
        M.check_names(["accuracy/S"])
    with pytest.raises(ConfigError, match="names no class"):
        M.check_names(["f1/"])
    with pytest.raises(ConfigError, match="no class 'X'") as exc:
        M.check_classes(["sensitivity/X"], AAMI)
    assert "N, S, V, F, Q" in exc.value.hint


def test_covers_and_directions():
    assert M.covers(["sensitivity/*"], "val_sensitivity/S")
    assert M.covers(["sensitivity/S"], "val_sensitivity/S")
    assert not M.covers(["sensitivity/V"], "val_sensitivity/S")
    assert M.covers(["macro_f1"], "val_macro_f1")
    assert not M.lower_is_better("val_sensitivity/S") and not M.lower_is_better("val_macro_f1")
    assert M.lower_is_better("val_loss") and M.lower_is_better("test_record_loss")


def test_a_new_metric_is_one_registration_with_its_direction(monkeypatch):
    monkeypatch.setattr(M.METRICS, "_entries", dict(M.METRICS._entries))  # forgotten after the test
    M.METRICS.register("miss_rate", better="lower")(lambda y, prob, pred: float(np.mean(pred != y)))
    M.check_names(["miss_rate"])
    assert M.lower_is_better("val_miss_rate")
    y, pred = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])
    assert M.compute(["miss_rate"], y, np.eye(2)[pred]) == {"miss_rate": 0.25}


def test_class_table_agrees_with_the_logged_metrics(beats):
    y, prob, pred = beats
    table = M.class_table(M.confusion(y, prob), AAMI)
    report = skm.classification_report(y, pred, labels=range(5), target_names=AAMI, output_dict=True)
    for row in table.rows:
        assert row.count == report[row.name]["support"]
        assert row.sensitivity == pytest.approx(report[row.name]["recall"])
        assert row.ppv == pytest.approx(report[row.name]["precision"])
        assert row.f1 == pytest.approx(report[row.name]["f1-score"])
        assert row.specificity == pytest.approx(M.compute([f"specificity/{row.name}"], y, prob,
                                                          class_names=AAMI)[f"specificity/{row.name}"])
    assert table.macro.f1 == pytest.approx(report["macro avg"]["f1-score"])
    assert table.accuracy == pytest.approx(report["accuracy"]) and table.total == len(y)
    with pytest.raises(ValueError, match="3x3"):
        M.class_table([[1, 2], [3, 4]], ["a", "b", "c"])


# -- in a run: logged per epoch, monitored, searched ------------------------------------------------

def _per_class_cfg(digits_cfg):
    digits_cfg["data"]["limit"] = 400
    digits_cfg["train"].update(epochs=3, metrics=["accuracy", "macro_f1", "sensitivity/*", "ppv/3"],
                               monitor="val_sensitivity/3",
                               early_stopping={"monitor": "val_macro_f1", "patience": 5})
    return digits_cfg


def test_per_class_metrics_are_logged_each_epoch_and_pick_the_best_epoch(digits_cfg):
    import convscope

    run = convscope.run(_per_class_cfg(digits_cfg))
    assert run.status == "completed"
    for row in run.history:
        assert {f"val_sensitivity/{d}" for d in range(10)} | {"val_ppv/3", "val_macro_f1"} <= set(row)
    values = [row["val_sensitivity/3"] for row in run.history]
    assert run.best_epoch == 1 + int(np.argmax(values))  # higher is better, the first best wins
    assert "test_sensitivity/3" in run.test_metrics and "test_macro_f1" in run.test_metrics
    # the test table and the test metrics come from the same predictions
    table = M.class_table(run.info.test_confusion, run.info.class_names)
    assert table.rows[3].sensitivity == pytest.approx(run.test_metrics["test_sensitivity/3"])
    assert table.rows[3].ppv == pytest.approx(run.test_metrics["test_ppv/3"])
    assert table.macro.f1 == pytest.approx(run.test_metrics["test_macro_f1"])


def test_a_monitor_on_a_class_the_data_lacks_fails_before_anything_is_stored(digits_cfg):
    import convscope
    from convscope.store import Store

    cfg = _per_class_cfg(digits_cfg)
    cfg["train"]["monitor"] = "val_sensitivity/S"
    with pytest.raises(ConfigError, match="train.monitor: 'val_sensitivity/S': the data has no class 'S'"):
        convscope.run(cfg)
    cfg["train"]["monitor"] = "val_f1/3"  # a class the data has, a metric not asked for
    with pytest.raises(ConfigError, match="not logged each epoch") as exc:
        convscope.run(cfg)
    assert "f1/3" in exc.value.hint
    assert Store().runs() == []


def test_search_objective_and_direction_for_a_per_class_metric(digits_cfg):
    from convscope.config import load_config
    from convscope.tuning.study import Objective

    digits_cfg["train"]["metrics"] = ["accuracy", "sensitivity/*"]
    digits_cfg["search"] = {"objective": {"metric": "val_sensitivity/3"}}
    objective = Objective.of(load_config(digits_cfg))
    assert (objective.metric, objective.direction) == ("val_sensitivity/3", "maximize")
    digits_cfg["train"]["metrics"] = ["accuracy"]
    with pytest.raises(ConfigError, match="is not logged each epoch"):
        Objective.of(load_config(digits_cfg))


def test_config_rejects_a_metric_name_with_the_field_and_a_hint(digits_cfg):
    from convscope.config import load_config

    digits_cfg["train"]["metrics"] = ["accuracy", "sensitivty/*"]
    with pytest.raises(ConfigError, match="train.metrics") as exc:
        load_config(digits_cfg)
    assert "sensitivity" in str(exc.value)
