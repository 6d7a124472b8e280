"""``train.log: [mlflow]``: the run mirrored to an MLflow tracking server or database, as it trains.

What lands in MLflow (through ``mlflow.MlflowClient``; ``pip install "convscope[mlflow]"`` installs
``mlflow-skinny``, which is enough for a database or a server):

- params: the resolved config as dotted keys (``train.optimizer.lr``), and a trial's values as ``params.*``;
- metrics: every stored metric per epoch (``step`` = epoch), and the test metrics at the end;
- status: MLflow's own (completed / early_stopped → ``FINISHED``; pruned / interrupted → ``KILLED``;
  diverged / failed → ``FAILED``) and convscope's exact one in the tags ``convscope.status`` and
  ``convscope.reason``; ``convscope.run_id`` leads back to ``convscope show ID``;
- artifacts: the run's HTML report (not for a search's trials unless ``report: true``), its best weights
  (``best.safetensors``), its curves and config.

A search is a parent MLflow run (tag ``convscope.search``) with one child run per trial. A resumed
convscope run continues its MLflow run (the id is kept in the store's run info).

Where: ``uri`` (default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<store>/mlflow.db``; MLflow 3 refuses
new plain-folder stores) and ``experiment`` (default: the config's name). With a SQLite database a new
experiment's artifacts go next to it, in ``mlflow-artifacts/`` (``<store>/mlflow-artifacts`` by default).

Example (not run by the test suite: importing MLflow and creating its database takes about 30 s on
2 cores; tests/train/test_loggers_mlflow.py reads back what a run wrote):
    >>> import convscope
    >>> run = convscope.run("exp.yaml", overrides=["train.log=[mlflow]"])   # doctest: +SKIP
    >>> # then: mlflow ui --backend-store-uri sqlite:///convscope-runs/mlflow.db
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope.errors import ConfigError
from convscope.train.loggers.base import LOGGERS, LoggerOptions, RunEnd, RunLogger, SearchContext, flatten

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from convscope.train.trainer import Trainer

MLFLOW_STATUS = {"completed": "FINISHED", "early_stopped": "FINISHED", "pruned": "KILLED", "interrupted": "KILLED",
                 "diverged": "FAILED", "failed": "FAILED"}
SEARCH_STATUS = {"finished": "FINISHED", "interrupted": "KILLED"}
MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value's length (longer ones are cut with "...")


class MlflowOptions(LoggerOptions):
    uri: str | None = None  # tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<store>/mlflow.db)
    experiment: str | None = None  # experiment name (default: the config's name)
    # write the run's HTML report at the end and attach it (seconds per run); None: yes for a run, no for a
    # search trial (its report is one `convscope report ID` away, and a search has many trials)
    report: bool | None = None
    weights: bool = True  # attach best.safetensors


def tracking_uri(home: Path, options: MlflowOptions) -> str:
    return options.uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(home).resolve() / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Where a new experiment's artifacts go: next to a SQLite database (``<its folder>/mlflow-artifacts``);
    for a server, wherever the server says (None). MLflow's own default for a database is ``./mlruns`` in
    the current directory, which would scatter artifacts over wherever convscope happened to be started.

    Example:
        >>> artifact_location("sqlite:////data/runs/mlflow.db")
        'file:///data/runs/mlflow-artifacts'
        >>> artifact_location("http://127.0.0.1:5000") is None
        True
    """
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlflow-artifacts").as_uri()
    return None


def open_experiment(home: Path, options: MlflowOptions, name: str) -> tuple[MlflowClient, str]:
    """The client and the experiment id (created when new; with the default database its artifacts
    go next to it, never into the current directory)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    uri = tracking_uri(home, options)
    for chatty in ("mlflow.store.db.utils", "alembic"):  # "creating tables" lines under the progress bar
        logging.getLogger(chatty).setLevel(logging.WARNING)
    client = MlflowClient(tracking_uri=uri)
    experiment = options.experiment or name
    try:
        found = client.get_experiment_by_name(experiment)
        if found is not None:
            return client, found.experiment_id
        return client, client.create_experiment(experiment, artifact_location=artifact_location(uri))
    except MlflowException as exc:
        raise ConfigError(f"train.log: mlflow: cannot use the tracking URI {uri!r}: {str(exc).splitlines()[0]}",
                          hint="set train.log: [{mlflow: {uri: sqlite:///PATH/mlflow.db}}] or a server's http:// URI") \
            from None


def _params(values: dict[str, Any]) -> list[Any]:
    from mlflow.entities import Param

    return [Param(k, str(v) if len(str(v)) <= MAX_PARAM_LENGTH else str(v)[:MAX_PARAM_LENGTH - 3] + "...")
            for k, v in values.items()]


def _search_parent(client: MlflowClient, experiment_id: str, search: str) -> str | None:
    runs = client.search_runs([experiment_id], filter_string=f"tags.`convscope.search` = '{search}' and "
                                                             f"tags.`convscope.role` = 'search'", max_results=1)
    return runs[0].info.run_id if runs else None


@LOGGERS.register("mlflow")
class MlflowLogger(RunLogger):
    """Mirrors the run to MLflow: params, per-epoch metrics, final status, report and weights (see the module).

    Args:
        context: the run (see :class:`~convscope.train.loggers.base.RunContext`).
        options: :class:`MlflowOptions`.
    """

    package = "mlflow"
    extra = "mlflow"
    Options = MlflowOptions

    def __init__(self, context: Any, options: MlflowOptions) -> None:
        super().__init__(context, options)
        self.options: MlflowOptions = options
        self.client: MlflowClient | None = None
        self.run_id: str | None = None
        self.epoch = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        c = self.context
        self.client, experiment_id = open_experiment(c.home, self.options, c.name)
        self.epoch = trainer.epoch
        previous = c.store.run(c.run_id)["info"].get("mlflow_run_id") if c.resumed else None
        if previous is not None:
            self.run_id = previous
            self.client.update_run(previous, status="RUNNING")
            return
        tags = {"convscope.run_id": str(c.run_id), "convscope.home": str(Path(c.home).resolve()),
                "mlflow.runName": f"run {c.run_id}: {c.name}"}
        if c.search is not None:
            tags.update({"convscope.search": c.search, "convscope.trial": str(c.trial),
                         "mlflow.runName": f"trial {c.trial} (run {c.run_id})"})
            parent = _search_parent(self.client, experiment_id, c.search)
            if parent is not None:
                tags["mlflow.parentRunId"] = parent
        self.run_id = self.client.create_run(experiment_id, tags=tags).info.run_id
        c.store.update_info(c.run_id, mlflow_run_id=self.run_id)
        values = flatten(c.config.to_dict())
        values.update({f"params.{k}": v for k, v in c.params.items()})
        params = _params(values)
        for start in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[start:start + 100])

    def _log_metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(1000 * time.time())
        metrics = [Metric(k, float(v), now, step) for k, v in values.items() if math.isfinite(v)]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.epoch = epoch
        self._log_metrics(logs, epoch)

    def finish(self, end: RunEnd) -> None:
        if self.client is None or self.run_id is None:  # the run failed before training began
            return
        self._log_metrics(end.test, self.epoch)
        self.client.set_tag(self.run_id, "convscope.status", end.status)
        self.client.set_tag(self.run_id, "convscope.reason", (end.reason or "")[:5000])
        folder = self.context.folder
        files = [folder / "curves.png", folder / "config.yaml"]
        if self.options.weights:
            files.append(folder / "best.safetensors")
        report = self.options.report if self.options.report is not None else self.context.search is None
        if report and (folder / "best.safetensors").exists():
            from convscope.report import run_report

            files.append(run_report(self.context.run_id, home=self.context.home))
        for path in files:
            if path.exists():
                self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id, status=MLFLOW_STATUS.get(end.status, "FAILED"))

    @classmethod
    def begin_search(cls, search: SearchContext, options: MlflowOptions) -> None:
        """The search's parent run (reused when the search resumes); its trials become its children."""
        client, experiment_id = open_experiment(search.home, options, search.config.name)
        parent = _search_parent(client, experiment_id, search.name)
        if parent is not None:
            client.update_run(parent, status="RUNNING")
            return
        run = client.create_run(experiment_id, tags={"convscope.search": search.name, "convscope.role": "search",
                                                     "mlflow.runName": f"search {search.name}"})
        space = {f"space.{k}": v for k, v in search.space.items()}
        client.log_batch(run.info.run_id, params=_params(space)[:100])

    @classmethod
    def end_search(cls, search: SearchContext, options: MlflowOptions, status: str) -> None:
        client, experiment_id = open_experiment(search.home, options, search.config.name)
        parent = _search_parent(client, experiment_id, search.name)
        if parent is not None:
            client.set_tag(parent, "convscope.status", status)
            client.set_terminated(parent, status=SEARCH_STATUS.get(status, "KILLED"))


__all__ = ["MlflowLogger", "MlflowOptions", "tracking_uri"]
