"""A worker that dies mid-trial on a shared PostgreSQL store: another worker, which shares nothing with it
but the database URL and the artifact root, continues that trial from its last finished epoch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from convscope.store import Store
from convscope.tuning import load_search

EPOCHS = 4

# a second "node": its own home folder, reaching the search only through CONVSCOPE_STORE / _ARTIFACTS
NODE_B = """
import json, sys, time
import torch
from convscope.errors import StoreError
from convscope.store import Store
from convscope.tuning.worker import WorkerSpec, work
torch.set_num_threads(1)
name, raw = sys.argv[1], json.loads(sys.argv[2])
while True:  # the search exists once node A has started it
    try:
        Store().search(name)
        break
    except StoreError:
        time.sleep(0.1)
work(WorkerSpec(name=name, home=str(Store().home.resolve()), config=raw, threads=1, index=1))
"""


def _wait_for(predicate, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen in {timeout} s")


def test_a_dead_workers_trial_resumes_on_another_worker(make_search, tmp_path, store_backend):
    if store_backend is None:
        pytest.skip("the embedded store is one machine's: failover needs the PostgreSQL store")
    cfg = make_search({"lr": {"loguniform": [1e-3, 1e-2]}, "filters": {"choice": [8, 16]}}, epochs=EPOCHS,
                      strategy="random", trials=3)
    cfg["model"]["layers"].insert(1, {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same",
                                               "activation": "relu"}})  # ~0.2 s an epoch: killable mid-trial
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "CONVSCOPE_HEARTBEAT": "1", "CONVSCOPE_ARTIFACTS": str(tmp_path / "shared"),
           "OMP_NUM_THREADS": "1"}
    node_a = subprocess.Popen([sys.executable, "-m", "convscope.cli", "search", str(path), "--name", "fo",
                               "--workers", "1"], env={**env, "CONVSCOPE_HOME": str(tmp_path / "node-a")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    node_b = subprocess.Popen([sys.executable, "-c", NODE_B, "fo", json.dumps(cfg)],
                              env={**env, "CONVSCOPE_HOME": str(tmp_path / "node-b")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def b_mid_trial():
            store = Store(tmp_path / "node-b", artifacts=tmp_path / "shared")
            try:
                return next((r for r in store.runs(search="fo") if r["pid"] == node_b.pid
                             and r["status"] == "running" and 1 <= r["epochs"] < EPOCHS), None)
            finally:
                store.close()

        victim = _wait_for(b_mid_trial, "a trial of node B finishing an epoch")
        before = Store(tmp_path / "node-b").epochs(victim["id"])
        node_b.send_signal(signal.SIGKILL)
        node_b.wait(timeout=30)
        assert node_a.wait(timeout=300) == 0, node_a.stderr.read()
    finally:
        for proc in (node_a, node_b):
            if proc.poll() is None:
                proc.kill()

    result = load_search("fo", home=tmp_path / "node-a")
    assert result.status == "finished" and result.finished == len(result.trials) == 3, [(t.number, t.status, t.reason, t.run_id, t.epochs) for t in result.trials]
    store = Store(tmp_path / "node-a", artifacts=tmp_path / "shared")
    runs = store.runs(search="fo")
    assert len(runs) == 3  # no trial was run twice, none was lost
    row = store.run(victim["id"])
    assert row["status"] == "completed"
    assert row["pid"] != node_b.pid and row["trial"] != victim["trial"]  # continued by node A, as the retry
    assert row["params"] == victim["params"]
    after = store.epochs(victim["id"])
    assert [e["epoch"] for e in after] == list(range(1, EPOCHS + 1))
    for old in before:  # the epochs node B finished were not trained again
        assert after[old["epoch"] - 1]["seconds"] == old["seconds"]
    assert {t.run_id for t in result.trials} == {r["id"] for r in runs}
    assert row["artifacts"] == str(tmp_path / "shared" / "runs" / str(victim["id"]))
    assert (tmp_path / "shared" / "runs" / str(victim["id"]) / "best.safetensors").exists()
