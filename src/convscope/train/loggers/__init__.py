"""Live loggers: a run mirrored, as it trains, into the tools people already watch.

``train.log: [tensorboard, mlflow]`` (or ``convscope run --log tensorboard``) names them; each is a
:class:`~convscope.train.callbacks.Callback` registered in :data:`LOGGERS`, one file each:

================  ==================================================================================
``base.py``       the registry, the run a logger mirrors, ``train.log`` parsing, the missing-extra error
``tensorboard.py``  scalars, gradient/activation health, weight histograms, kernels; a search's HParams
``mlflow.py``     params, per-epoch metrics, final status, report and weights; a search as a parent run
================  ==================================================================================

A new logger is one new file here: a ``RunLogger`` subclass registered with ``@LOGGERS.register(name)``.
"""

from convscope.train.loggers.base import (
    LOGGERS,
    LoggerOptions,
    Loggers,
    RunContext,
    RunEnd,
    RunLogger,
    SearchContext,
    SearchLoggers,
    parse_log,
    require,
)

__all__ = ["LOGGERS", "LoggerOptions", "Loggers", "RunContext", "RunEnd", "RunLogger", "SearchContext",
           "SearchLoggers", "parse_log", "require"]
