"""``train.log: [mlflow]``: runs mirrored into a local MLflow database, read back through MLflow's client."""

from __future__ import annotations

import shutil

import pytest
from mlflow import MlflowClient

import convscope
from convscope.train.callbacks import Callback


class StopAt(Callback):
    """Ctrl-C after epoch ``epoch`` (a real KeyboardInterrupt through the trainer)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):  # noqa: ANN001
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory):
    """An initialised, empty MLflow database: creating one runs MLflow's ~50 schema migrations (5-15 s on
    2 busy cores), so each test copies this one instead."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def uri(tmp_path, empty_db):
    shutil.copy(empty_db, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _client_and_run(uri: str, experiment: str):
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {uri}"
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return client, runs[0]


def test_a_run_is_mirrored_with_params_metrics_status_and_artifacts(tmp_path, digits_cfg, uri):
    digits_cfg["train"].update(epochs=2, log=[{"mlflow": {"uri": uri, "experiment": "digits"}}])
    run = convscope.run(digits_cfg)
    client, mirrored = _client_and_run(uri, "digits")

    assert mirrored.info.status == "FINISHED"
    tags = mirrored.data.tags
    assert tags["convscope.status"] == "completed" and tags["convscope.run_id"] == str(run.id)
    assert tags["convscope.reason"] == "ran all 2 epochs"
    params = mirrored.data.params
    assert params["train.epochs"] == "2" and params["train.optimizer.lr"] == "0.01"
    assert params["model.layers"].startswith("[{'conv': {'filters': 8")
    for key in ("train_loss", "val_loss", "val_accuracy", "lr"):
        history = sorted((m.step, m.value) for m in client.get_metric_history(mirrored.info.run_id, key))
        assert history == [(row["epoch"], pytest.approx(row[key], rel=1e-9)) for row in run.history], key
    for key, value in run.test_metrics.items():
        assert mirrored.data.metrics[key] == pytest.approx(value, rel=1e-9)
    artifacts = {a.path for a in client.list_artifacts(mirrored.info.run_id)}
    assert {"report.html", "best.safetensors", "curves.png", "config.yaml"} <= artifacts
    # next to the database, never in the current directory (MLflow's ./mlruns default)
    assert mirrored.info.artifact_uri.startswith((tmp_path / "mlflow-artifacts").as_uri())
    local = client.download_artifacts(mirrored.info.run_id, "report.html", str(tmp_path))
    assert "<html" in open(local).read()[:2000].lower()


def test_default_database_lives_in_the_store(tmp_path, digits_cfg, monkeypatch, empty_db):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "runs").mkdir()
    shutil.copy(empty_db, tmp_path / "runs" / "mlflow.db")
    digits_cfg["train"].update(epochs=1, log=[{"mlflow": {"report": False, "weights": False}}])
    convscope.run(digits_cfg)
    home = tmp_path / "runs"
    client, mirrored = _client_and_run(f"sqlite:///{home / 'mlflow.db'}", "digits-cnn")
    assert mirrored.info.artifact_uri.startswith((home / "mlflow-artifacts").as_uri())
    assert {a.path for a in client.list_artifacts(mirrored.info.run_id)} == {"curves.png", "config.yaml"}


def test_a_diverged_run_ends_failed_with_its_reason(digits_cfg, uri):
    digits_cfg["params"]["lr"] = 1.0e12  # the loss overflows within the first epoch
    digits_cfg["train"].update(epochs=3, optimizer={"name": "sgd", "lr": "${lr}"},
                               log=[{"mlflow": {"uri": uri, "report": False}}])
    run = convscope.run(digits_cfg)
    assert run.status == "diverged"
    _, mirrored = _client_and_run(uri, "digits-cnn")
    assert mirrored.info.status == "FAILED"
    assert mirrored.data.tags["convscope.status"] == "diverged"
    assert mirrored.data.tags["convscope.reason"] == run.reason


def test_an_interrupted_run_is_killed_then_its_resume_continues_the_same_mlflow_run(digits_cfg, uri):
    digits_cfg["train"].update(epochs=2, log=[{"mlflow": {"uri": uri, "report": False}}])
    with pytest.raises(KeyboardInterrupt):
        convscope.run(digits_cfg, callbacks=[StopAt(1)])
    client, killed = _client_and_run(uri, "digits-cnn")
    assert killed.info.status == "KILLED" and killed.data.tags["convscope.status"] == "interrupted"

    run = convscope.run(resume=1)
    _, resumed = _client_and_run(uri, "digits-cnn")  # still one MLflow run
    assert resumed.info.run_id == killed.info.run_id
    assert resumed.info.status == "FINISHED" and resumed.data.tags["convscope.status"] == run.status == "completed"
    steps = sorted(m.step for m in client.get_metric_history(resumed.info.run_id, "val_loss"))
    assert steps == [1, 2]


class PruneAt(Callback):
    """Stops the run as a search's pruner does (``trainer.request_stop("pruned", ...)``)."""

    def on_epoch_end(self, trainer, epoch, logs):  # noqa: ANN001
        trainer.request_stop("pruned", f"trial pruned at epoch {epoch}")


def test_a_pruned_run_is_killed_with_its_status(digits_cfg, uri):
    digits_cfg["train"].update(epochs=3, log=[{"mlflow": {"uri": uri, "report": False}}])
    run = convscope.run(digits_cfg, callbacks=[PruneAt()])
    assert run.status == "pruned" and len(run.history) == 1
    _, mirrored = _client_and_run(uri, "digits-cnn")
    assert mirrored.info.status == "KILLED"
    assert mirrored.data.tags["convscope.status"] == "pruned"
    assert mirrored.data.tags["convscope.reason"] == "trial pruned at epoch 1"
