"""The Optuna side of a search: storage, budget, objective, the pruning callback and the whole set-up.

Samplers (``search.strategy``) live in ``convscope.tuning.samplers`` and pruners (``search.pruner``)
in ``convscope.tuning.pruners``, one registered module each. The storage is a
``JournalStorage`` + ``JournalFileBackend`` at ``<home>/searches/<name>.journal`` next to an embedded
store, or Optuna's ``RDBStorage`` (with heartbeats) inside a PostgreSQL store.

Why the journal file and not SQLite: Optuna's SQLite storage under several writing processes gives
"database is locked" (optuna#820, #4994); the journal is an append-only log designed for several
processes (and for NFS), needs no server, and ``bench/search_storage.py`` measures both.

With a PostgreSQL run store (a cluster), the search state goes into that same database through
Optuna's ``RDBStorage``, so any node that can reach the store can ask for and report trials. Its
heartbeat marks a trial whose worker stopped beating ``FAIL`` and
``RetryHeartbeatStaleTrialCallback`` enqueues it again with the same params; the worker that takes
the retry continues the dead trial's run from its last finished epoch (``worker.py``).

Example:
    >>> Objective("val_loss", "minimize").sort_key(0.3) < Objective("val_loss", "minimize").sort_key(0.5)
    True
"""

from __future__ import annotations

import copy
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from convscope.config import Config, SearchConfig, is_range, load_config
from convscope.errors import ConfigError, naming
from convscope.store import Store
from convscope.store.heartbeat import heartbeat_seconds, stale_after
from convscope.store.status import RunStatus
from convscope.train.callbacks import Callback
from convscope.train.metrics import covers
from convscope.tuning.pruners import PRUNERS, rung
from convscope.tuning.samplers import SAMPLERS
from convscope.tuning.space import distributions, grid_size, grid_values, is_grid

if TYPE_CHECKING:
    from convscope.train.trainer import Trainer

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# searches.storage of a search whose Optuna state is in the run store's own database (RDBStorage)
IN_STORE = "rdb"
# a trial whose worker died is enqueued again at most this many times (then it stays FAIL)
MAX_RETRIES = 3

_rdb_storages: dict[tuple[int, str], RDBStorage] = {}


# -- storage ----------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """A search name is also a file name: letters, digits, ``.``, ``_`` and ``-``."""
    if not _NAME.match(name):
        raise ConfigError(f"search name '{name}' is not usable as a file name",
                          hint="use letters, digits, '.', '_' and '-', e.g. --name digits-grid")
    return name


def storage_path(home: Path, name: str) -> Path:
    """Where a search's Optuna journal lives: next to the run store, one file per search."""
    return Path(home) / "searches" / f"{check_name(name)}.journal"


def storage_location(store: Store, name: str) -> str:
    """Where search ``name`` keeps its Optuna state: :data:`IN_STORE` for a server store, else its journal path."""
    return IN_STORE if store.is_server else str(storage_path(store.home.resolve(), name))


def open_storage(location: str | Path, *, store: Store | None = None) -> BaseStorage:
    """The Optuna storage at ``location``: a journal file (created if absent), or :data:`IN_STORE`,
    the RDB storage inside ``store``'s PostgreSQL database.

    Example:
        >>> import tempfile
        >>> storage = open_storage(Path(tempfile.mkdtemp()) / "searches" / "demo.journal")
        >>> open_study("demo", storage, direction="minimize").study_name
        'demo'
    """
    if str(location) == IN_STORE:
        if store is None or not store.is_server:
            raise ConfigError("this search keeps its state in a PostgreSQL run store",
                              hint="set CONVSCOPE_STORE (or --store) to the database the search ran with")
        return rdb_storage(store)
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def rdb_storage(store: Store) -> RDBStorage:
    """This process's Optuna RDB storage in ``store``'s database, with heartbeats and retries of dead trials."""
    url = store.url.render_as_string(hide_password=False)
    key = (os.getpid(), url)
    if key not in _rdb_storages:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            _rdb_storages[key] = RDBStorage(
                url, engine_kwargs={"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}},
                heartbeat_interval=max(1, round(heartbeat_seconds())), grace_period=max(2, round(stale_after())),
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES))
    return _rdb_storages[key]


def open_study(name: str, storage: BaseStorage, *, direction: str | None = None,
               sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """Load the study ``name``, or create it when ``direction`` is given and it does not exist yet."""
    if direction is not None:
        return optuna.create_study(study_name=name, storage=storage, direction=direction, sampler=sampler,
                                   pruner=pruner, load_if_exists=True)
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)


def close_storages() -> None:
    """Close the RDB storages this process opened (their database connections)."""
    for storage in _rdb_storages.values():
        storage.remove_session()
        storage.engine.dispose()
    _rdb_storages.clear()


# -- budget ------------------------------------------------------------------------------------



def budget(search: SearchConfig, space: dict[str, dict[str, Any]]) -> tuple[int, str | None]:
    """How many trials the search runs, and a note when that is not what the user may expect.

    Grid: the full product of the listed values; ``trials`` smaller than that runs only the first
    ``trials`` points of the seed-shuffled grid (a random subset of the grid), and says so.
    Random / TPE: ``trials``, which is required; a random search over lists only (drawn without
    replacement) runs at most every combination once.
    """
    draws = SAMPLERS.traits(search.strategy)
    if draws.get("lists_without_replacement") and search.trials is not None and is_grid(space):
        size = grid_size(space)
        if search.trials > size:
            return size, (f"the space has {size} combinations; a random search draws each at most once, "
                          f"so it runs {size} trials, not {search.trials}")
        return search.trials, None
    if draws.get("enumerates_grid"):
        size = grid_size(space)
        if search.trials is not None and search.trials < size:
            return search.trials, (f"the grid has {size} points; search.trials: {search.trials} runs "
                                   f"{search.trials} of them, picked in a seed-shuffled order")
        return size, None
    if search.trials is None:
        raise ConfigError(f"search.trials: a {search.strategy} search needs a number of trials",
                          hint="e.g. search: {strategy: " + search.strategy + ", trials: 20}")
    return search.trials, None


# -- objective --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """What a search optimizes: one logged metric (``val_accuracy``, ``val_loss`` ...) and its direction.

    A trial's value is the best the metric reached over its epochs (as Keras Tuner scores a trial),
    and each epoch's value is what the pruner sees.

    Args:
        metric: a key of the trainer's epoch logs.
        direction: ``maximize`` or ``minimize``.

    Example:
        >>> Objective("val_accuracy", "maximize").best([{"val_accuracy": 0.8}, {"val_accuracy": 0.9}])
        0.9
    """

    metric: str
    direction: str

    @classmethod
    def of(cls, cfg: Config) -> Objective:
        """The objective of ``cfg``'s search section, checked to be a metric the trainer logs."""
        search = cfg.search or SearchConfig()
        metric = search.objective.metric
        logged = ["train_loss", "train_accuracy", "val_loss", *(f"val_{m}" for m in cfg.train.metrics)]
        if metric not in logged and not (metric.startswith("val_") and covers(cfg.train.metrics, metric)):
            hint = f"use one of: {', '.join(logged)}"
            if metric.startswith("val_"):
                hint += f" (or add {metric.removeprefix('val_')} to train.metrics)"
            raise ConfigError(f"search.objective.metric: '{metric}' is not logged each epoch", hint=hint)
        return cls(metric, search.objective.resolved_direction)

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def best(self, history: list[dict[str, Any]]) -> float | None:
        """The best finite value of the metric over ``history``; None when there is none."""
        values = [row[self.metric] for row in history
                  if isinstance(row.get(self.metric), int | float) and math.isfinite(row[self.metric])]
        if not values:
            return None
        return max(values) if self.maximize else min(values)

    def sort_key(self, value: float | None) -> float:
        """Ascending sort key: best first, missing last."""
        if value is None or not math.isfinite(value):
            return math.inf
        return -value if self.maximize else value


class PruningCallback(Callback):
    """Reports each epoch's objective to an Optuna trial and stops the run when the pruner says so.

    The run then ends with status ``pruned`` and a reason naming the epoch, the rung (ASHA and
    Hyperband) and the pruner. On a resumed run it first reports the epochs the trial missed (the
    process was killed between the checkpoint and the report), so the pruner sees a full curve.

    Args:
        trial: the Optuna trial this run is.
        objective: the metric to report.
        pruner: the pruner's config word, for the reason text.
        min_epochs: ``search.min_epochs`` (to name the rung).

    Example:
        >>> import convscope
        >>> study = optuna.create_study(direction="maximize")
        >>> callback = PruningCallback(study.ask(), Objective("val_accuracy", "maximize"))
        >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 2},
        ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}},
        ...                     callbacks=[callback])
        >>> sorted(study.trials[0].intermediate_values)   # the epochs it reported
        [1, 2]
    """

    def __init__(self, trial: optuna.Trial, objective: Objective, *, pruner: str = "none",
                 min_epochs: int = 1) -> None:
        self.trial = trial
        self.objective = objective
        self.pruner = pruner
        self.min_epochs = min_epochs

    def _report(self, epoch: int, logs: dict[str, Any]) -> bool:
        value = logs.get(self.objective.metric)
        if value is None:
            raise ConfigError(f"search.objective.metric: '{self.objective.metric}' is not in the epoch logs",
                              hint=f"use one of: {', '.join(k for k in logs if k.startswith(('val_', 'train_')))}")
        if not math.isfinite(value):
            return False  # the trainer ends a NaN run as `diverged` by itself
        self.trial.report(float(value), epoch)
        return True

    def _maybe_prune(self, trainer: Trainer, epoch: int) -> None:
        # the last epoch is never pruned: the run is over anyway, and it completes with its score
        if epoch >= trainer.cfg.epochs or not self.trial.should_prune():
            return
        where = f"epoch {epoch}"
        r = rung(epoch, self.min_epochs) if PRUNERS.traits(self.pruner).get("rungs") else None
        if r is not None:
            where += f" (rung {r})"
        value = trainer.history[-1].get(self.objective.metric) if trainer.history else None
        shown = f": {self.objective.metric} {value:.4g}" if isinstance(value, float) else ""
        trainer.request_stop(RunStatus.PRUNED, f"pruned at {where} by {self.pruner}{shown}")

    def on_train_begin(self, trainer: Trainer) -> None:
        if not trainer.history:
            return
        frozen = next(t for t in self.trial.study.get_trials(deepcopy=False) if t.number == self.trial.number)
        reported = frozen.intermediate_values
        for row in trainer.history:
            if row["epoch"] not in reported:
                self._report(row["epoch"], row)
        self._maybe_prune(trainer, trainer.history[-1]["epoch"])

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self._report(epoch, logs):
            self._maybe_prune(trainer, epoch)


# -- the whole set-up ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSetup:
    """Everything a driver or a worker derives from a search's config (``params`` with ranges).

    ``cfg`` is the config resolved with one representative value per range (the first listed value,
    or a range's low end): it validates every section before any trial runs and answers the
    questions that do not depend on the trial (epochs, seed, metrics). :meth:`trial_config` gives a
    trial's own config.

    Args:
        raw: the config as written (after ``--set`` overrides), ranges included.
        source: the file name for error messages.

    Example:
        >>> setup = SearchSetup.from_raw({"name": "demo", "data": {"source": "builtin:digits"},
        ...     "params": {"f": {"grid": [4, 8]}, "lr": 0.01},
        ...     "model": {"layers": [{"conv": {"filters": "${f}"}}, "flatten", {"dense": 10}]},
        ...     "train": {"optimizer": {"lr": "${lr}"}}})
        >>> setup.search.strategy, setup.budget
        ('grid', 2)
        >>> setup.trial_config({"f": 8}).model.layers[0]
        {'conv': {'filters': 8}}
    """

    raw: dict[str, Any]
    source: str
    space: dict[str, dict[str, Any]]
    cfg: Config
    search: SearchConfig
    objective: Objective
    budget: int
    note: str | None

    @classmethod
    def from_raw(cls, raw: dict[str, Any], *, source: str = "<config>") -> SearchSetup:
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise ConfigError(f"{source}: params: must be a mapping of name: value")
        space = {name: value for name, value in params.items() if is_range(value)}
        if not space:
            raise ConfigError(f"{source}: params: nothing to search (no value is a range)",
                              hint="make a param a range, e.g. params: {lr: {loguniform: [1.0e-4, 1.0e-2]}}, "
                                   "or train it with `convscope run`")
        with naming(source):  # a range or budget found wrong below names the config file too
            probe = {name: _representative(dist) for name, dist in distributions(space).items()}
            cfg = load_config(_with_params(raw, probe), source=source)
            search = cfg.search
            if search is None:
                # no search: section: a space of lists is a grid; anything continuous needs a strategy and trials
                try:
                    grid_values(space)
                except ConfigError:
                    raise ConfigError(f"{source}: search: a space with continuous ranges needs a strategy and "
                                      "trials", hint="add search: {strategy: tpe, trials: 20}") from None
                search = SearchConfig(strategy="grid")
            if SAMPLERS.traits(search.strategy).get("enumerates_grid"):
                grid_values(space)  # a continuous range in a grid is an error that says why, before anything runs
            n, note = budget(search, space)
            objective = Objective.of(cfg)
        return cls(raw=copy.deepcopy(raw), source=source, space=space, cfg=cfg, search=search,
                   objective=objective, budget=n, note=note)

    def trial_config(self, values: dict[str, Any]) -> Config:
        """The concrete config of a trial that took ``values``."""
        return load_config(self.trial_raw(values), source=self.source)

    def trial_raw(self, values: dict[str, Any]) -> dict[str, Any]:
        """The config as written, with ``values`` in place of the ranges."""
        return _with_params(self.raw, values)


def _with_params(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out["params"] = {**(out.get("params") or {}), **values}
    return out


def _representative(dist: optuna.distributions.BaseDistribution) -> Any:
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return dist.choices[0]
    return dist.low


__all__ = ["IN_STORE", "MAX_RETRIES", "Objective", "PruningCallback", "SearchSetup", "budget", "check_name",
           "close_storages", "open_storage", "open_study", "rdb_storage", "storage_location", "storage_path"]
