"""A stored run in a notebook: _repr_html_ shows metrics, verdicts and the curves, escaped."""

from __future__ import annotations

from convscope.insight.curves import plot_curves
from convscope.store.db import Store
from convscope.stored_run import load_run


def test_run_renders_metrics_verdicts_and_curves_as_html(tmp_path):
    store = Store(tmp_path / "store")
    run_id = store.create_run(name="a <b>", config_yaml="name: demo\nmodel: {layers: [flatten, {dense: 2}]}\n",
                              seed=0, env={})
    history = [{"train_loss": 0.7, "val_loss": 0.6, "val_accuracy": 0.75}, {"train_loss": 0.5, "val_loss": 0.5,
                                                                             "val_accuracy": 0.8}]
    for epoch, row in enumerate(history, start=1):
        store.log_epoch(run_id, epoch, row, 0.1, best_epoch=epoch, best_value=row["val_loss"])
    verdict = {"kind": "still_improving", "severity": "info", "text": "val loss still falling", "short": "x"}
    store.finish_run(run_id, status="completed", reason="ran all 2 epochs", test={"test_accuracy": 0.785},
                     info={"diagnosis": [verdict]})
    run = load_run(run_id, home=store.home)
    plot_curves(run.history, run.dir / "curves.png", best_epoch=2)
    page = run._repr_html_()
    assert "a &lt;b&gt;" in page and "<b>" not in page.replace("<b>info</b>", "")
    assert "78.5%" in page and "val_accuracy 80.0%" in page and "val loss still falling" in page
    assert "data:image/png;base64," in page
