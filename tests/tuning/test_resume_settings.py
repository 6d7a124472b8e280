"""A killed search resumes as it was started: workers, threads, trials and times (issue 13, item 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import yaml

from convscope.store import Store
from convscope.tuning import load_search, search
from convscope.tuning.backends.local import available_cores

EPOCHS = 3


def _kill_mid_trial(proc: subprocess.Popen, home, name: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the search ended before it could be killed: {proc.stderr.read()}"
        if (home / "runs.db").exists():
            store = Store(home)
            rows = store.runs(search=name)
            store.close()
            if any(r["status"] == "running" and 1 <= r["epochs"] < EPOCHS for r in rows):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return
        time.sleep(0.05)
    raise AssertionError("no trial reached its first epoch in 180 s")


def test_a_killed_two_worker_search_resumes_with_its_workers_threads_and_trials(make_search, home, tmp_path):
    cfg = make_search({"lr": {"loguniform": [1e-3, 1e-2]}, "filters": {"choice": [8, 16]}}, epochs=EPOCHS,
                      strategy="random", trials=3)
    del cfg["search"]["threads_per_worker"]  # threads come from cores // workers: what a resume used to change
    cfg["model"]["layers"].insert(1, {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same",
                                               "activation": "relu"}})
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))  # search.workers is 1 in the file; the search runs with --workers 2
    proc = subprocess.Popen([sys.executable, "-m", "convscope.cli", "search", str(path), "--name", "w2",
                             "--workers", "2"], env={**os.environ, "CONVSCOPE_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _kill_mid_trial(proc, home, "w2")
    finally:
        if proc.poll() is None:
            proc.kill()
    started_threads = max(1, available_cores() // 2)

    # the driver is dead: the search reads `interrupted`, like its runs, without being resumed first
    deadline = time.monotonic() + 15
    while load_search("w2").status != "interrupted":
        assert time.monotonic() < deadline, "the killed search still shows running"
        time.sleep(0.2)
    time.sleep(3)  # time spent dead, which the resumed trial's time must not count

    result = search(resume="w2", progress=False)

    assert result.status == "finished" and result.finished == 3
    assert result.info.workers == 2 and result.info.threads == started_threads
    store = Store(home)
    assert {yaml.safe_load(r["config"])["train"]["threads"] for r in store.runs(search="w2")} == {started_threads}
    for trial in result.trials:
        row = store.run(trial.run_id)
        if "resumed_at" in row["info"]:
            assert trial.seconds < row["finished"] - row["created"] - 2.5  # the dead seconds are not counted

    clean = search(path, name="clean", workers=2, progress=False)
    assert [(t.number, t.params, t.value, t.status) for t in clean.trials] == \
           [(t.number, t.params, t.value, t.status) for t in result.trials]


def test_resume_settings_given_anew_win(make_search, home):
    cfg = make_search({"lr": {"loguniform": [1e-3, 1e-2]}}, strategy="random", trials=1)
    first = search(cfg, name="s", workers=2, progress=False)
    assert first.info.workers == 2
    again = search(resume="s", overrides=["search.trials=2", "search.threads_per_worker=2"], workers=1,
                   progress=False)
    assert again.info.workers == 1 and again.info.threads == 2 and again.finished == 2
