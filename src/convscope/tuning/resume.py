"""Resuming a search: the config and settings it continues with, and the trials it left in flight.

A resumed search keeps what makes its numbers: the config (only ``search.trials``, ``workers``,
``backend``, ``threads_per_worker`` and ``name`` may change) and how it ran (workers, torch threads per
trial, backend, from the store's ``SearchInfo``) unless the user sets them anew. It is refused while
its driver, or a run of one of its trials, is still alive.
"""

from __future__ import annotations

import copy
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

from convscope.config import Config, apply_overrides, read_yaml
from convscope.errors import BusyError, ConfigError
from convscope.store import Store
from convscope.store.heartbeat import pid_alive
from convscope.store.search_info import SearchInfo
from convscope.store.status import RunStatus
from convscope.tuning.study import Objective
from convscope.tuning.worker import ResumeTask, beats, tell_run

# Fields a resumed search may change: how much to run and where, never what a trial is.
RESUMABLE_CHANGES = ("search.trials", "search.workers", "search.backend", "search.threads_per_worker",
                     "search.name", "train.log")


def read_config(config: str | Path | dict | Config, overrides: list[str]) -> tuple[dict[str, Any], str]:
    if isinstance(config, Config):
        raise ConfigError("search() takes the config as a path or a dict (a loaded Config has its ranges resolved)",
                          hint="pass the YAML path, e.g. search('examples/search-digits.yaml')")
    if isinstance(config, str | Path):
        raw, source = read_yaml(config), str(config)
    elif isinstance(config, dict):
        raw, source = copy.deepcopy(config), "<config>"
    else:
        raise ConfigError(f"expected a config path or dict, got {type(config).__name__}")
    return apply_overrides(raw, overrides, source=source), source


def _difference(old: Any, new: Any, path: str = "") -> str | None:
    """The first dotted field where ``new`` differs from ``old``, skipping :data:`RESUMABLE_CHANGES`."""
    if path in RESUMABLE_CHANGES:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            found = _difference(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    return None if old == new else (path or "(the whole config)")


def _wait_for_dead_runs(home: Path, name: str, timeout: float = 15.0) -> Store:
    """A store in which no run of the search is ``running`` any more.

    Opening the store marks runs whose process is gone ``interrupted``; a worker of a killed search
    may need a moment to die (it follows its parent), so this retries for a while.
    """
    deadline = time.monotonic() + timeout
    while True:
        store = Store(home)
        alive = [r for r in store.runs(search=name) if r["status"] == RunStatus.RUNNING]
        if not alive:
            return store
        if time.monotonic() > deadline:
            r = alive[0]
            raise BusyError(f"run {r['id']} (trial {r['trial']} of search '{name}') is still training in "
                             f"process {r['pid']} on {r['host']}",
                             hint="another process is working on this search: wait for it, or stop it first")
        store.close()
        time.sleep(0.2)


def in_flight(home: Path, study: optuna.Study, name: str, objective: Objective) -> list[ResumeTask]:
    """The trials a killed search left ``RUNNING``, as tasks for the workers.

    A trial whose run had finished (killed between the run's end and telling Optuna) is told here;
    one with an interrupted run continues it; one killed before its run existed starts afresh.
    """
    store = _wait_for_dead_runs(home, name)
    runs: dict[int, dict[str, Any]] = {}
    for row in store.runs(search=name):
        if row["trial"] is not None:
            runs.setdefault(int(row["trial"]), row)
    if beats(study):
        # trials that went stale are retried through Optuna (worker.py); the others are adopted below,
        # and a fresh beat keeps another worker from declaring them dead before their adopter starts
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study._storage.record_heartbeat(t._trial_id)
    tasks = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        row = runs.get(t.number)
        if row is None:
            tasks.append(ResumeTask(t.number, None))
        elif row["status"] == RunStatus.INTERRUPTED:
            tasks.append(ResumeTask(t.number, int(row["id"])))
        else:
            tell_run(study, t.number, status=row["status"], history=store.epochs(row["id"]), objective=objective,
                     store=store, run_id=int(row["id"]))
    store.close()
    return tasks


def changed(stored_search: dict[str, Any], raw: dict[str, Any], field: str, overrides: list[str]) -> bool:
    """True when the user sets ``search.<field>`` anew on resume: in ``--set`` or changed in the config."""
    if any(o.partition("=")[0].strip() == f"search.{field}" for o in overrides):
        return True
    return (raw.get("search") or {}).get(field) != stored_search.get(field)


def resumed_config(store: Store, name: str, config: str | Path | dict | None,
                    overrides: list[str]) -> tuple[dict[str, Any], str, SearchInfo]:
    """The config a resumed search continues with: the stored one, or ``config``, with ``overrides``, and the
    stored info (``other`` holds the stored ``search:`` section); refused when it changes what a trial is,
    or when the search is still running."""
    stored = store.search(name)
    info = SearchInfo.from_dict(stored["info"])
    if (stored["status"] == "running" and info.host == socket.gethostname()
            and info.pid not in (None, os.getpid()) and pid_alive(info.pid)):
        raise BusyError(f"search '{name}' is still running (process {info.pid})",
                        hint="wait for it, or stop it, before resuming")
    old = yaml.safe_load(stored["config"])
    source = info.source or f"search {name}"
    if config is not None:
        raw, source = read_config(config, overrides)
    else:
        raw = apply_overrides(copy.deepcopy(old), overrides, source=source)
    changed = _difference(old, raw)
    if changed:
        raise ConfigError(f"--resume {name}: {changed} differs from the config the search started with",
                          hint="a resumed search may change only search.trials, workers and backend; "
                               "start a new search (--name) to change anything else")
    info.other = dict(old.get("search") or {})  # the search section it started with, for changed
    return raw, source, info


__all__ = ["RESUMABLE_CHANGES", "changed", "in_flight", "read_config", "resumed_config"]
