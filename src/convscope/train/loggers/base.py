"""What every live logger shares: the ``logger`` registry, the run it mirrors, and how ``train.log`` reads.

A logger mirrors a run into a tool people already watch (TensorBoard, MLflow) *while it trains*. It is
a :class:`~convscope.train.callbacks.Callback` fed by the trainer's hooks, plus two moments the
trainer does not see: :meth:`RunLogger.finish` (the run's final status, after the store has it,
``interrupted`` included) and, for a search, :meth:`RunLogger.begin_search` / :meth:`RunLogger.end_search`
(the search-level record, e.g. MLflow's parent run), called by the search driver.

``train.log`` lists loggers by name, each optionally with options::

    train:
      log: [tensorboard]                          # or
      log: [tensorboard, {mlflow: {uri: "sqlite:///mlflow.db", experiment: mnist}}]

Each logger's third-party package is an optional extra (``pip install "convscope[tensorboard]"``);
:func:`require` says which one to install, in one line, before a run is created.

Example:
    >>> parse_log(["tensorboard", {"mlflow": {"experiment": "demo"}}])
    [('tensorboard', {}), ('mlflow', {'experiment': 'demo'})]
    >>> parse_log(["tensorbord"])
    Traceback (most recent call last):
    ...
    ValueError: unknown logger 'tensorbord'; did you mean 'tensorboard'? known: mlflow, tensorboard
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from convscope.errors import ConfigError
from convscope.registry import Registry
from convscope.train.callbacks import Callback

if TYPE_CHECKING:
    from convscope.config import Config
    from convscope.store import Store

LOGGERS: Registry[type[RunLogger]] = Registry("logger", discover="convscope.train.loggers", field="train.log")


class LoggerOptions(BaseModel):
    """A logger's options (the mapping after its name in ``train.log``); unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class RunContext:
    """The stored run a logger mirrors.

    Args:
        run_id: its id in the store (``convscope show RUN_ID``).
        name: the config's name.
        home: the run store folder.
        config: the resolved config.
        store: the open run store (a logger may keep its own ids in the run's ``info``).
        search, trial, params: the search, trial number and trial values when the run is a trial.
        resumed: the run continues an interrupted one (``--resume``): a logger continues its record.
    """

    run_id: int
    name: str
    home: Path
    config: Config
    store: Store
    search: str | None = None
    trial: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False

    @property
    def folder(self) -> Path:
        """The run's folder in the store (weights, curves, report)."""
        return self.store.run_dir(self.run_id)


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as the store recorded it.

    Args:
        status: completed, early_stopped, pruned, diverged, failed or interrupted.
        reason: why, in words.
        test: the test metrics (empty when the run did not get that far).
    """

    status: str
    reason: str | None
    test: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchContext:
    """A search whose trials are mirrored: its name, the run store and its config (ranges unresolved)."""

    name: str
    home: Path
    config: Config
    space: dict[str, Any]
    resumed: bool = False


class RunLogger(Callback):
    """Base class of a logger: a callback with a final status and optional search-level hooks.

    Subclasses set ``package`` (the module they import) and ``extra`` (the pip extra that installs
    it), define ``Options`` and register themselves with ``@LOGGERS.register(name)``.

    Args:
        context: the run being mirrored.
        options: the logger's validated options.
    """

    package: ClassVar[str]
    extra: ClassVar[str]
    Options: ClassVar[type[LoggerOptions]] = LoggerOptions

    def __init__(self, context: RunContext, options: LoggerOptions) -> None:
        self.context = context
        self.options = options

    def finish(self, end: RunEnd) -> None:
        """After the store recorded the run's end (any status); close what the logger opened."""

    @classmethod
    def begin_search(cls, search: SearchContext, options: LoggerOptions) -> None:
        """Before a search's first trial (or its resumption): the search-level record, if any."""

    @classmethod
    def end_search(cls, search: SearchContext, options: LoggerOptions, status: str) -> None:
        """After a search ended (finished or interrupted)."""


# -- train.log ------------------------------------------------------------------------------------


def parse_log(value: Sequence[Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """``train.log`` as (name, options) pairs; a ValueError naming the entry for anything else.

    Options are checked against the logger's ``Options`` here, so a typo fails when the config loads.
    """
    out = []
    for i, item in enumerate(value or []):
        if isinstance(item, str):
            name, options = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, options = next(iter(item.items()))
            options = options or {}
            if not isinstance(options, dict):
                raise ValueError(f"[{i}] {name}: options must be a mapping, e.g. {{{name}: {{...}}}}")
        else:
            raise ValueError(f"[{i}]: expected a logger name or {{name: {{options}}}}, got {item!r}")
        try:
            cls = LOGGERS.get(name)
        except ConfigError as exc:
            raise ValueError(f"{exc.message.removeprefix('train.log: ')}; {exc.hint}") from None
        try:
            cls.Options(**options)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ValueError(f"[{i}] {name}.{where}: {err['msg']} (known: {', '.join(cls.Options.model_fields)})") \
                from None
        out.append((name, options))
    return out


def require(value: Sequence[Any] | None) -> list[tuple[type[RunLogger], LoggerOptions]]:
    """The logger classes and options ``train.log`` asks for; a one-line :class:`ConfigError` saying
    what to install when a logger's package is missing."""
    loggers = []
    for name, options in parse_log(value):
        cls = LOGGERS.get(name)
        if importlib.util.find_spec(cls.package) is None:
            raise ConfigError(f"train.log: {name} needs the '{cls.package}' package: "
                              f"pip install \"convscope[{cls.extra}]\"")
        loggers.append((cls, cls.Options(**options)))
    return loggers


class Loggers:
    """The loggers of one run, opened together and finished together.

    Example (how ``convscope.run`` wires them, for reading: ``...`` stands for the trainer's other arguments;
    the logger modules' examples run it):
        >>> mirrors = Loggers.open(cfg.train.log, context)         # doctest: +SKIP
        >>> trainer = Trainer(..., callbacks=[*builtin, *mirrors.callbacks])  # doctest: +SKIP
        >>> mirrors.finish(RunEnd("completed", "ran all 3 epochs"))  # doctest: +SKIP
    """

    def __init__(self, loggers: Iterable[RunLogger]) -> None:
        self.callbacks: list[RunLogger] = list(loggers)
        self._finished = False

    @classmethod
    def open(cls, value: Sequence[Any] | None, context: RunContext) -> Loggers:
        return cls(logger_cls(context, options) for logger_cls, options in require(value))

    def finish(self, status: str, reason: str | None, test: dict[str, float] | None = None) -> None:
        """Tell every logger how the run ended (once; a second call is ignored)."""
        if self._finished:
            return
        self._finished = True
        end = RunEnd(str(status), reason, {k: v for k, v in (test or {}).items() if math.isfinite(v)})
        for logger in self.callbacks:
            try:
                logger.finish(end)
            except Exception as exc:  # the run is stored and its status final: a mirror's failure is a warning
                warnings.warn(f"train.log: {type(logger).__name__} could not record the end of run "
                              f"{logger.context.run_id}: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)


class SearchLoggers:
    """The search-level side of ``train.log`` for a search's driver (MLflow's parent run)."""

    def __init__(self, value: Sequence[Any] | None, search: SearchContext) -> None:
        self.search = search
        self.loggers = require(value)

    def begin(self) -> SearchLoggers:
        for cls, options in self.loggers:
            cls.begin_search(self.search, options)
        return self

    def end(self, status: str) -> None:
        for cls, options in self.loggers:
            cls.end_search(self.search, options, status)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys: ``{"train": {"epochs": 3}}`` → ``{"train.epochs": 3}``.

    Example:
        >>> flatten({"train": {"epochs": 3, "optimizer": {"lr": 0.01}}, "model": {"layers": [1, 2]}})
        {'train.epochs': 3, 'train.optimizer.lr': 0.01, 'model.layers': '[1, 2]'}
    """
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(tree, list | tuple):
        return {prefix: str(list(tree))}
    return {prefix: tree}


__all__ = ["LOGGERS", "LoggerOptions", "Loggers", "RunContext", "RunEnd", "RunLogger", "SearchContext",
           "SearchLoggers", "flatten", "parse_log", "require"]
