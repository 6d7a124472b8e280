"""A search with ``train.log: [tensorboard, mlflow]``: its trials side by side in a real TensorBoard
server's HParams view, and as child runs of one MLflow parent run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow import MlflowClient

from convscope.tuning import search


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _session_groups(logdir, port: int) -> list[dict]:
    """The HParams view's rows, from a real ``tensorboard --logdir`` bound to 127.0.0.1."""
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host",
                               "127.0.0.1", "--port", str(port), "--reload_interval", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        body = {"experimentName": "", "startIndex": 0, "sliceSize": 10,
                "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                "colParams": [{"hparam": "filters"}, {"hparam": "status"},
                              {"metric": {"tag": "hparams/best_val_accuracy", "group": ""}}]}
        while True:
            try:
                groups = _post(f"http://127.0.0.1:{port}/data/plugin/hparams/session_groups", body)["sessionGroups"]
                if len(groups) == 2:
                    return groups
            except OSError:
                pass
            assert server.poll() is None, server.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "TensorBoard did not serve the two trials within 90 s"
            time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def searched(tmp_path, digits_cfg):
    (tmp_path / "runs").mkdir()
    digits_cfg["params"]["filters"] = {"grid": [4, 8]}
    digits_cfg["train"].update(epochs=1, log=["tensorboard", {"mlflow": {"report": False, "weights": False}}])
    digits_cfg["search"] = {"strategy": "grid", "objective": {"metric": "val_accuracy"}, "threads_per_worker": 1}
    return search(digits_cfg, name="grid", progress=False)


def test_a_search_is_compared_in_tensorboard_and_nested_in_mlflow(tmp_path, searched):
    trials = {t.number: t for t in searched.trials}
    assert [t.status for t in trials.values()] == ["completed", "completed"]

    groups = _session_groups(tmp_path / "runs" / "tensorboard" / "grid", _free_port())
    by_run = {g["name"]: g for g in groups}
    for t in trials.values():
        group = by_run[f"trial-{t.number:03d}-run-{t.run_id}"]
        assert group["hparams"] == {"filters": float(t.params["filters"]), "status": "completed"}
        best = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}["hparams/best_val_accuracy"]
        assert best == pytest.approx(t.value, rel=1e-6)

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("digits-cnn")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("convscope.role") == "search"]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["convscope.search"] == "grid" and parents[0].data.tags["convscope.status"] == "finished"
    children = {int(r.data.tags["convscope.trial"]): r for r in runs if r not in parents}
    assert sorted(children) == [0, 1]
    for number, child in children.items():
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.data.tags["convscope.run_id"] == str(trials[number].run_id)
        assert child.data.params["params.filters"] == str(trials[number].params["filters"])
        assert child.data.metrics["val_accuracy"] == pytest.approx(trials[number].value, rel=1e-9)
