"""Learning curves: one panel per metric, and one per per-class metric with a line per class."""

from __future__ import annotations

from PIL import Image

from convscope.insight.curves import curve_metrics, per_class_metrics, plot_curves
from convscope.insight.drawing import REPORT_WIDTH_PX

HISTORY = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "train_accuracy": 0.5, "val_accuracy": 0.5,
            "val_macro_f1": 0.4, "val_f1/N": 0.9, "val_f1/S": 0.2 * e, "val_sensitivity/N": 0.8, "lr": 0.001}
           for e in (1, 2, 3)]


def test_per_class_series_are_grouped_by_metric_not_drawn_one_panel_each(tmp_path):
    assert curve_metrics(HISTORY) == ["loss", "accuracy", "macro_f1"]
    assert per_class_metrics(HISTORY) == {"f1": ["f1/N", "f1/S"], "sensitivity": ["sensitivity/N"]}
    path = plot_curves(HISTORY, tmp_path / "curves.png", best_epoch=2)
    with Image.open(path) as image:
        cols, rows = image.width / (3.3 * 110), image.height / (2.7 * 110)
    # loss, accuracy, macro_f1, f1 per class, sensitivity per class: three a row, so the report shows them
    # near full size (five side by side were scaled into a 150 px strip)
    assert (round(cols), round(rows)) == (3, 2)
    assert image.width <= REPORT_WIDTH_PX
