"""The Python API: ``run`` a config, ``load_run`` a stored one. The CLI calls exactly these.

Example:
    >>> import convscope
    >>> config = {"name": "digits-cnn", "data": {"source": "builtin:digits"},
    ...           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}}
    >>> run = convscope.run(config, overrides=["train.epochs=2"])
    >>> [row["epoch"] for row in run.history], run.best_epoch in (1, 2)
    ([1, 2], True)
    >>> again = convscope.load_run(run.id)
    >>> again.name, again.test_metrics == run.test_metrics
    ('digits-cnn', True)
"""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from rich.console import Console

import convscope
from convscope.config import Config, load_config
from convscope.data import build_augment, load_data
from convscope.data.augment import Augment
from convscope.data.base import Dataset
from convscope.errors import BusyError, ConfigError, ConvscopeError, naming
from convscope.insight.curves import plot_curves
from convscope.insight.diagnose import diagnose
from convscope.models import build_model
from convscope.models.budget import check_budget
from convscope.store import RunStatus, Store, save_weights
from convscope.store.checkpoint import verify as verify_checkpoint
from convscope.store.heartbeat import pid_alive
from convscope.store.run_lock import RunLock
from convscope.stored_run import Run, load_run
from convscope.train import metrics as M
from convscope.train import speedups
from convscope.train.aggregate import aggregate
from convscope.train.callbacks import Callback, Checkpoint, EarlyStopping
from convscope.train.health import HealthMonitor
from convscope.train.loggers import Loggers, RunContext, require
from convscope.train.progress import ProgressBar
from convscope.train.trainer import Trainer


def environment(trainer: Trainer | None = None) -> dict[str, Any]:
    """Where a run ran; the device and precision only once a trainer has resolved them (``auto``)."""
    env: dict[str, Any] = {
        "convscope": convscope.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
    }
    if trainer is not None:
        env["device"] = str(trainer.device)
        env["precision"] = trainer.precision  # train.precision: auto, resolved on this machine
    return env


class Recorder(Callback):
    """Writes each finished epoch to the store and keeps ``best.safetensors`` current."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id
        self.folder = store.run_dir(run_id)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        metrics = {k: v for k, v in logs.items() if k != "seconds"}
        if trainer.best_epoch == epoch:
            save_weights(trainer.model, self.folder / "best.safetensors")
        self.store.log_epoch(self.run_id, epoch, metrics, logs["seconds"], health=getattr(trainer, "health", None),
                             best_epoch=trainer.best_epoch, best_value=trainer.best_value)


class PushArtifacts(Callback):
    """After each epoch's checkpoint, uploads the run's changed files to a remote artifact root
    (a no-op for a folder root), so a node that resumes the run elsewhere finds its last epoch."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.store.push_artifacts(self.run_id)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def prepare(cfg: Config) -> tuple[Dataset, torch.nn.Module]:
    """Load the data and build the model for ``cfg`` (seeded), validating that they fit together."""
    speedups.configure_threads(cfg.train.threads)  # before loading: the trainer applies the same value again
    _seed_everything(cfg.seed)
    data = load_data(cfg.data, seed=cfg.seed)
    check_budget(cfg.model, data.input_shape, num_classes=data.num_classes, batch_size=cfg.train.batch_size)
    M.check_classes(cfg.train.metrics, data.class_names)  # sensitivity/S needs a class S: say so before training
    for where, key in (("train.monitor", cfg.train.monitor),
                       ("train.early_stopping.monitor", cfg.train.early_stopping and cfg.train.early_stopping.monitor)):
        if key:
            M.check_monitor(where, key, cfg.train.metrics, data.class_names)
    _seed_everything(cfg.seed)  # the model's init does not depend on how much randomness loading used
    model = build_model(cfg.model, data.input_shape, num_classes=data.num_classes)  # checks model.input too
    return data, model


def final_evaluation(trainer: Trainer, data: Dataset) -> tuple[dict[str, float], dict[str, Any]]:
    """Test metrics on the best-validation weights, with the decision threshold chosen on validation."""
    trainer.restore_best()
    cfg = trainer.cfg
    info: dict[str, Any] = {}
    threshold = 0.5
    _, val_prob = trainer.predict(data.x_val)
    val_prob = val_prob.cpu().numpy()
    y_val = data.y_val.numpy()
    if cfg.threshold == "youden":
        if data.num_classes != 2:
            raise ConfigError("train.threshold: youden needs a binary task", hint="remove threshold:")
        threshold = M.youden_threshold(y_val, val_prob)
    elif data.num_classes == 2:
        threshold = float(cfg.threshold)
    info["threshold"] = threshold
    results: dict[str, float] = {}
    for split, x, y in (("val", data.x_val, data.y_val), ("test", data.x_test, data.y_test)):
        if x is None:
            continue
        scores, prob = trainer.evaluate(x, y, prefix=f"{split}_", threshold=threshold)
        if split == "test":
            results.update(scores)
        info[f"{split}_confusion"] = M.confusion(y.numpy(), prob, threshold=threshold).tolist()
        how = data.meta.get("aggregate")
        keys = data.ids.get(split) if data.ids.get(split) is not None else data.groups.get(split)
        if how and how != "none" and keys is not None and split == "test":
            rec_prob, rec_y, _ = aggregate(prob, y.numpy(), keys, how=how)
            rec = M.compute(cfg.metrics, rec_y, rec_prob, threshold=threshold, class_names=data.class_names)
            results.update({f"test_record_{k}": v for k, v in rec.items()})
    return results, info


def run(config: str | Path | dict | Config = None, *, overrides: Sequence[str] | None = None,
        home: str | Path | None = None, callbacks: Sequence[Callback] = (), search: str | None = None,
        trial: int | None = None, params: dict[str, Any] | None = None, resume: int | None = None,
        progress: bool | None = None) -> Run:
    """Train the model a config declares, record it in the store, and return the :class:`Run`.

    Args:
        config: a YAML path, a dict, or a :class:`Config`; ``None`` runs the built-in default experiment.
        overrides: ``["train.epochs=5", "params.lr=0.01"]``.
        home: the run store folder (default ``$CONVSCOPE_HOME`` or ``./convscope-runs``).
        callbacks: extra callbacks (progress bars, pruning) run after the built-in ones.
        search, trial, params: link the run to a search trial (set by ``convscope.search``).
        resume: the id of an interrupted run to continue from its last finished epoch.
        progress: say the run's id and the data's notes before training, and draw a progress bar with
            an ETA (stdout); ``None`` (default) does so in a terminal or a notebook, not when stdout is
            a file or captured (doctests, logs); ``False`` trains silently (search workers do).
    """
    store = Store(home)
    store.check_writable()  # before the data is loaded: a read-only store fails at once
    lock: RunLock | None = None
    if resume is not None:
        row = store.run(resume)
        _refuse_live_writer(row)
        lock = RunLock(store.run_dir(row["id"]), run_id=row["id"]).acquire()  # held until this function returns
        cfg = load_config(yaml.safe_load(row["config"]), source=f"run {resume}")
    else:
        cfg = load_config(default_config_path() if config is None else config, list(overrides or []))
    try:
        with naming(cfg.source):  # a layer, data path or metric found wrong now still names the config file
            data, model = prepare(cfg)
            augment = build_augment(cfg.data.augment, rank=len(data.input_shape),  # refused before a run exists
                                    scalars=data.meta.get("scalar_inputs", 0))  # RR features pass untouched
            require(cfg.train.log)  # a logger whose package is missing says what to install before a run exists
        info = {"input_shape": list(data.input_shape), "class_names": data.class_names,
                "assignment": data.assignment, "data_name": data.name, "meta": _scalar_meta(data.meta)}
        if resume is None:
            run_id = store.create_run(name=cfg.name, config_yaml=cfg.to_yaml(), seed=cfg.seed, env=environment(),
                                      notes=[*data.notes, *speedups.check_all()], info=info,
                                      monitor=cfg.train.monitor, search=search, trial=trial, params=params)
            lock = RunLock(store.run_dir(run_id), run_id=run_id).acquire()
        else:
            run_id = resume
            if (store.run_dir(run_id) / "last.safetensors").exists():
                verify_checkpoint(store.run_dir(run_id) / "last.safetensors")  # a corrupt one: refused, row untouched
            store.reopen_run(run_id)
        with naming(cfg.source):  # a monitor that the first epoch does not log, found while training
            return _train_and_record(store, cfg, data, model, augment, run_id=run_id, resume=resume,
                                     callbacks=callbacks, search=search, trial=trial, params=params,
                                     progress=progress)
    finally:
        if lock is not None:
            lock.release()
        store.close()  # at once, not when the garbage collector gets to it: a long session keeps its descriptors


def _refuse_live_writer(row: dict[str, Any]) -> None:
    """A BusyError when the run's row says a live process on this machine is training it."""
    if (row["status"] == RunStatus.RUNNING and row["host"] == socket.gethostname() and row["pid"]
            and row["pid"] != os.getpid() and pid_alive(row["pid"])):
        raise BusyError(f"run {row['id']} is still training in process {row['pid']} on {row['host']}",
                        hint=f"wait for it to finish, or stop it (kill {row['pid']}), then --resume {row['id']}")


def _train_and_record(store: Store, cfg: Config, data: Dataset, model: torch.nn.Module,
                      augment: Augment | None, *, run_id: int,
                      resume: int | None, callbacks: Sequence[Callback], search: str | None, trial: int | None,
                      params: dict[str, Any] | None, progress: bool | None = None) -> Run:
    """Train a created (or reopened) run, writing each epoch, then its test metrics, curves and verdicts."""
    folder = store.run_dir(run_id)
    if progress is None:
        console = Console()
        progress = console.is_terminal or console.is_jupyter
    if progress:
        callbacks = _announce(run_id, cfg, folder, store, callbacks)
    builtin: list[Callback] = [Recorder(store, run_id), Checkpoint(folder, every=cfg.train.checkpoint_every),
                               PushArtifacts(store, run_id)]
    if cfg.train.health:
        builtin.insert(0, HealthMonitor())  # before the Recorder, which stores trainer.health with the epoch
    if cfg.train.early_stopping:
        builtin.insert(0, EarlyStopping(cfg.train.early_stopping))
    mirrors = Loggers.open(cfg.train.log, RunContext(run_id, cfg.name, store.home, cfg, store, search=search,
                                                     trial=trial, params=dict(params or {}), resumed=resume is not None))
    try:
        trainer = Trainer(model, data, cfg.train, seed=cfg.seed, callbacks=[*builtin, *mirrors.callbacks, *callbacks],
                          augment=augment)
        if resume is not None and (folder / "last.safetensors").exists():
            trainer.load_state(folder / "last.safetensors")
            store.truncate_epochs(run_id, trainer.epoch)
        elif resume is not None:
            store.truncate_epochs(run_id, 0)
        try:
            trainer.fit()
        finally:
            for callback in callbacks:
                if isinstance(callback, ProgressBar):
                    callback.stop()
        test, extra = final_evaluation(trainer, data)
    except KeyboardInterrupt:
        store.finish_run(run_id, status=RunStatus.INTERRUPTED, reason="stopped by the user (Ctrl-C)")
        mirrors.finish(RunStatus.INTERRUPTED, "stopped by the user (Ctrl-C)")
        raise
    except ConvscopeError as exc:
        store.finish_run(run_id, status=RunStatus.FAILED, reason=exc.message)
        mirrors.finish(RunStatus.FAILED, exc.message)
        raise
    except Exception as exc:
        store.finish_run(run_id, status=RunStatus.FAILED, reason=f"{type(exc).__name__}: {exc}")
        mirrors.finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    status = trainer.stop_status or RunStatus.COMPLETED
    reason = trainer.stop_reason or f"ran all {cfg.train.epochs} epochs"
    curves = plot_curves(trainer.history, folder / "curves.png", title=f"run {run_id}: {cfg.name}",
                         best_epoch=trainer.best_epoch)
    store.add_artifact(run_id, "curves", curves)
    extra["env"] = environment(trainer)
    majority = float(torch.bincount(data.y_val).max()) / len(data.y_val) if len(data.y_val) else None
    extra["diagnosis"] = [v.to_dict() for v in diagnose(store.epochs(run_id), num_classes=data.num_classes,
                                                         chance=majority)]
    store.finish_run(run_id, status=status, reason=reason, test=test, info=extra)
    mirrors.finish(status, reason, test)
    return load_run(run_id, home=store.home, _store=store)


def _announce(run_id: int, cfg: Config, folder: Path, store: Store,
              callbacks: Sequence[Callback]) -> list[Callback]:
    """Print the run's id, folder and notes before it trains; add a progress bar unless one is given."""
    console = Console()
    console.print(f"run [bold]{run_id}[/] ({cfg.name}): {folder}", soft_wrap=True, highlight=False)
    for note in store.run(run_id)["notes"]:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True, highlight=False)
    if any(isinstance(c, ProgressBar) for c in callbacks):
        return list(callbacks)
    return [*callbacks, ProgressBar(cfg.train.epochs, console)]


def default_config_path() -> Path:
    """The built-in default experiment: the seed notebook's first ConvNet on real MNIST."""
    return Path(__file__).parent / "examples" / "default.yaml"


def _scalar_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able part of a source's meta: scalars, and lists of them (the lead names predict replays)."""
    def plain(v: Any) -> bool:
        return isinstance(v, str | int | float | bool) or v is None

    return {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in meta.items()
            if plain(v) or (isinstance(v, list | tuple) and all(plain(x) for x in v))}


__all__ = ["Run", "final_evaluation", "load_run", "prepare", "run"]
