"""Which trials a search stops early: one registered factory per ``search.pruner``.

A factory takes the ``search:`` section and ``train.epochs`` and returns an Optuna pruner whose steps
are epochs (1-based), so ``search.min_epochs`` is its warm-up. The trait ``rungs`` says whether it
prunes at successive-halving rungs (epochs ``min_epochs * 3**r``), which the pruned run's reason names.
A new pruner is one new module here with ``@PRUNERS.register("name", rungs=...)`` on its factory.

Example:
    >>> from convscope.config import SearchConfig
    >>> make_pruner(SearchConfig(pruner="asha", min_epochs=1), epochs=9)   # doctest: +ELLIPSIS
    <optuna.pruners._successive_halving.SuccessiveHalvingPruner object at ...>
    >>> rung(9, 1), rung(4, 1)
    (2, None)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import optuna

from convscope.registry import Registry

if TYPE_CHECKING:  # the config imports this registry to check names
    from convscope.config import SearchConfig

# Successive halving keeps the best 1/REDUCTION_FACTOR of the trials at each rung (epochs 1, 3, 9, ...
# with min_epochs 1). 3 is the ASHA and Hyperband papers' choice: Optuna's SH default of 4 prunes
# harder than a short CNN curve can justify.
REDUCTION_FACTOR = 3

PrunerFactory = Callable[["SearchConfig", int], optuna.pruners.BasePruner]
PRUNERS: Registry[PrunerFactory] = Registry("pruner", discover="convscope.tuning.pruners", field="search.pruner")


def make_pruner(search: SearchConfig, *, epochs: int) -> optuna.pruners.BasePruner:
    """The pruner ``search.pruner`` names.

    Args:
        search: the ``search:`` section (``pruner``, ``min_epochs``).
        epochs: ``train.epochs``, the longest a trial runs (Hyperband's maximum resource).
    """
    return PRUNERS.get(search.pruner)(search, epochs)


def rung(epoch: int, min_epochs: int) -> int | None:
    """The successive-halving rung whose end is ``epoch`` (rung r ends at min_epochs * 3**r), else None."""
    if epoch < min_epochs:
        return None
    r = round(math.log(epoch / min_epochs, REDUCTION_FACTOR))
    return r if min_epochs * REDUCTION_FACTOR ** r == epoch else None


__all__ = ["PRUNERS", "REDUCTION_FACTOR", "make_pruner", "rung"]
