"""Crash-resume: kill -9 a search while a trial is mid-training, then `convscope search --resume NAME`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import yaml

from convscope.store import Store
from convscope.tuning import search

EPOCHS = 4


def _wait_for_in_flight_run(proc: subprocess.Popen, home, name: str) -> tuple[dict, list[dict]]:
    """Poll the store until a trial's run has finished an epoch and is still training."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the search ended before it could be killed: {proc.stderr.read()}"
        store = Store(home)
        try:
            for row in store.runs(search=name):
                if row["status"] == "running" and 1 <= row["epochs"] < EPOCHS:
                    return row, store.epochs(row["id"])
        finally:
            store.close()
        time.sleep(0.05)
    raise AssertionError("no trial reached its first epoch in 120 s")


def test_kill_9_then_resume_continues_the_trial_in_flight(make_search, home, tmp_path, store_backend):
    cfg = make_search({"lr": {"loguniform": [1e-3, 1e-2]}, "filters": {"choice": [8, 16]}}, epochs=EPOCHS,
                      strategy="random", trials=3)
    # two 3x3 convs: slow enough (~0.2 s an epoch) that the poll sees a trial between two epochs
    cfg["model"]["layers"].insert(1, {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same",
                                               "activation": "relu"}})
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "convscope.cli", "search", str(path), "--name", "kr"],
                            env={**os.environ, "CONVSCOPE_HOME": str(home)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        victim, before = _wait_for_in_flight_run(proc, home, "kr")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    # its worker died with it: the store now calls the run interrupted (the worker's pid is gone)
    deadline = time.monotonic() + 10
    while Store(home).run(victim["id"])["status"] != "interrupted":
        assert time.monotonic() < deadline, "the killed search's worker is still training"
        time.sleep(0.1)

    result = search(resume="kr", progress=False)

    assert result.status == "finished"
    assert result.finished == len(result.trials) == 3  # what a clean run finishes, nothing more
    store = Store(home)
    runs = store.runs(search="kr")
    assert len(runs) == 3 and sorted(r["trial"] for r in runs) == [0, 1, 2]  # the trial kept its one run
    row = store.run(victim["id"])
    assert row["status"] == "completed" and row["trial"] == victim["trial"]
    after = store.epochs(victim["id"])
    assert [e["epoch"] for e in after] == list(range(1, EPOCHS + 1))
    for old in before:
        # an epoch finished before the kill was not trained again: its row is the very same
        new = after[old["epoch"] - 1]
        assert new["seconds"] == old["seconds"] and new["val_accuracy"] == old["val_accuracy"]
    assert row["info"]["objective"]["value"] == max(e["val_accuracy"] for e in after)

    # an uninterrupted search of the same config samples the same params, trial by trial
    # (params do not depend on training, so one epoch is enough to check that)
    clean = search(path, overrides=["train.epochs=1"], name="clean", progress=False)
    assert [t.params for t in clean.trials] == [t.params for t in result.trials]
