"""The trainer through the public API: it learns, reproduces, diverges cleanly, stops early, resumes."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import convscope
from convscope.data import load_data
from convscope.store import Store


def _numbers(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "health")} for row in history]


def test_short_run_learns_and_is_stored(digits_cfg):
    run = convscope.run(digits_cfg)
    assert run.status == "completed"
    losses = [h["train_loss"] for h in run.history]
    assert losses[-1] < 0.5 * losses[0]
    assert run.test_metrics["test_accuracy"] > 0.8  # chance is 0.1
    assert (run.dir / "best.safetensors").exists() and (run.dir / "curves.png").exists()
    assert Store().run(run.id)["epochs"] == 3


def test_same_seed_same_history_other_seed_differs(digits_cfg):
    a = convscope.run(digits_cfg)
    b = convscope.run(digits_cfg)
    assert _numbers(a.history) == _numbers(b.history)
    digits_cfg["seed"] = 1
    c = convscope.run(digits_cfg)
    assert _numbers(c.history) != _numbers(a.history)


def test_keras_style_final_softmax_is_not_applied_twice(digits_cfg):
    with_softmax = convscope.run(digits_cfg)
    digits_cfg["model"]["layers"][-1] = {"dense": 10}
    plain = convscope.run(digits_cfg)
    assert _numbers(with_softmax.history) == _numbers(plain.history)
    probs = with_softmax.model.predict_proba(torch.zeros(2, 1, 8, 8))
    assert torch.allclose(probs.sum(dim=1), torch.ones(2))


def test_test_metrics_use_the_best_validation_epoch(digits_cfg):
    digits_cfg["train"].update(epochs=6, optimizer={"name": "sgd", "lr": 0.5})  # noisy: best is rarely last
    digits_cfg["train"]["precision"] = "fp32"  # re-evaluated below in float32: bf16 could flip a borderline sample
    run = convscope.run(digits_cfg)
    best = min(run.history, key=lambda h: h["val_loss"])
    assert run.best_epoch == best["epoch"]
    from convscope.api import prepare

    data, _ = prepare(run.config)
    with torch.no_grad():
        pred = run.model(data.x_test).argmax(1)
    assert run.test_metrics["test_accuracy"] == pytest.approx(float((pred == data.y_test).float().mean()))


def test_nan_loss_stops_with_diverged(digits_cfg):
    digits_cfg["train"].update(epochs=5, optimizer={"name": "sgd", "lr": 1.0e12})
    run = convscope.run(digits_cfg)
    assert run.status == "diverged"
    assert "at epoch" in run.reason
    assert len(run.history) < 5


def test_early_stopping_records_why(digits_cfg):
    digits_cfg["train"].update(epochs=30, early_stopping={"monitor": "val_loss", "patience": 1},
                               optimizer={"name": "adam", "lr": 0.05})
    run = convscope.run(digits_cfg)
    assert run.status == "early_stopped"
    assert "did not improve" in run.reason and len(run.history) < 30


def test_sgd_momentum_cosine_schedule_and_class_weight(digits_cfg):
    digits_cfg["train"].update(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
                               schedule={"name": "cosine"}, class_weight="balanced",
                               metrics=["accuracy", "sensitivity", "specificity", "auc"])
    run = convscope.run(digits_cfg)
    epochs = digits_cfg["train"]["epochs"]
    # each epoch logs the lr it trained with: cosine annealing from 0.05 to 0 over train.epochs
    assert [h["lr"] for h in run.history] == pytest.approx(
        [0.05 * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(len(run.history))])
    assert run.test_metrics["test_auc"] > 0.9  # ten digits, one-vs-rest: far above chance (0.5)


def test_one_sigmoid_unit_trains_binary(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 1, 32)).astype(np.float32)
    y = (x[:, 0, :16].mean(axis=1) > 0).astype(np.int64)
    np.savez(tmp_path / "sig.npz", x=x, y=y)
    cfg = {"name": "bin", "data": {"source": "npz", "path": str(tmp_path / "sig.npz"),
                                   "split": {"val": 0.2, "test": 0.2}},
           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3, "activation": "relu"}}, "global_avg_pool",
                                {"dense": {"units": 1, "activation": "sigmoid"}}]},
           "train": {"epochs": 3, "loss": "bce", "metrics": ["accuracy", "auc"], "threshold": "youden",
                     "precision": "fp32"}}  # the check below recomputes the scores in float32
    run = convscope.run(cfg)
    assert run.status == "completed"
    # the stored threshold is Youden's on the validation split, and the test metrics were measured with it
    data = load_data(run.config.data, seed=run.config.seed)
    with torch.no_grad():
        p1 = torch.sigmoid(run.model(data.x_val)).numpy()[:, 0]  # (N,) from the one sigmoid unit
    y_val = data.y_val.numpy()
    youden = [np.mean(p1[y_val == 1] >= t) + np.mean(p1[y_val == 0] < t) - 1 for t in np.unique(p1)]
    t = run.info.threshold
    assert np.mean(p1[y_val == 1] >= t) + np.mean(p1[y_val == 0] < t) - 1 == pytest.approx(max(youden))


SCRIPT = textwrap.dedent("""
    import os, signal, sys, json
    import convscope
    from convscope.train.callbacks import Callback

    class KillInEpoch3(Callback):
        def on_after_backward(self, trainer, step):
            if trainer.epoch == 2 and step % trainer.steps_per_epoch == 3:   # in the middle of epoch 3
                os.kill(os.getpid(), signal.SIGKILL)

    cfg = json.loads(sys.argv[1])
    convscope.run(cfg, callbacks=[KillInEpoch3()])
""")


@pytest.mark.parametrize(("device", "precision"), [
    ("cpu", "auto"),
    pytest.param("cuda", "fp32", marks=pytest.mark.cuda),  # dropout on the GPU draws from the device's generator
    pytest.param("cuda", "fp16", marks=pytest.mark.cuda),  # the loss scaler's state is part of the checkpoint
])
def test_kill_9_keeps_finished_epochs_and_resume_matches_an_uninterrupted_run(digits_cfg, tmp_path, device,
                                                                                precision):
    digits_cfg["train"].update(epochs=4, device=device, precision=precision)
    digits_cfg["model"]["layers"].insert(3, {"dropout": 0.3})  # random draws in every step: the RNGs must resume
    import json

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = f"import torch; torch.set_num_threads(1)\n{SCRIPT}"
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(digits_cfg)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr
    store = Store()
    (row,) = store.runs()
    assert row["status"] == "interrupted"
    assert [e["epoch"] for e in store.epochs(row["id"])] == [1, 2]
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    resumed = convscope.run(resume=row["id"])
    assert resumed.status == "completed" and [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    clean = convscope.run(digits_cfg)
    assert _numbers(resumed.history) == _numbers(clean.history)
    assert resumed.test_metrics == clean.test_metrics
