"""Hyperparameter search: many runs of one config whose ``params`` hold ranges.

A strategy picks values (grid, random, TPE), a pruner stops the hopeless trials early (median,
ASHA, Hyperband), workers run them (local processes or a Ray cluster), and every trial is a normal
run in the store. A killed search continues with ``resume=NAME``.

The package is ``convscope.tuning`` so that ``convscope.search`` is always the function (no module
shadows it); ``convscope.search(config)`` and ``from convscope.tuning import search`` are the same call.

==============  ================================================================================
``space.py``    ``params`` ranges → Optuna distributions; the grid
``study.py``    storage, sampler, pruner, objective, the pruning callback
``worker.py``   one worker's loop: ask → run → tell
``local.py``    N spawned worker processes on this machine
``ray.py``      the same workers as Ray tasks
``live.py``     the live table and progress bar
``driver.py``   ``search()``: start, resume, watch, summarize
``results.py``  ``load_search()``, ``Search``, ``TrialResult``: a search as the store knows it
==============  ================================================================================

Example (a two-point grid; ``convscope search examples/search-digits.yaml`` is the full-size one):
    >>> from convscope.tuning import load_search, search
    >>> config = {"data": {"source": "builtin:digits"}, "params": {"lr": {"grid": [0.01, 0.001]}},
    ...           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]},
    ...           "train": {"epochs": 1, "optimizer": {"lr": "${lr}"}}, "search": {"strategy": "grid"}}
    >>> result = search(config, workers=1, progress=False)
    >>> result.status, sorted(trial.params["lr"] for trial in result.trials)
    ('finished', [0.001, 0.01])
    >>> load_search(result.name).best_run_id == result.best_run_id
    True
"""

from __future__ import annotations

from convscope.lazy_exports import lazy_exports

# Loaded on first use (PEP 562): the config imports the light registries under this package
# (``convscope.tuning.samplers`` ...) to check names, and must not pull in the driver, which imports it.
_PUBLIC = {"search": "convscope.tuning.driver", "Search": "convscope.tuning.results",
           "TrialResult": "convscope.tuning.results", "load_search": "convscope.tuning.results"}

__all__ = list(_PUBLIC)


__getattr__ = lazy_exports(globals(), _PUBLIC)
