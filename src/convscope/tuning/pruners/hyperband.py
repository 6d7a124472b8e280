"""``pruner: hyperband``: several successive-halving brackets (Li et al. 2018) up to ``train.epochs``."""

from __future__ import annotations

import optuna

from convscope.config import SearchConfig
from convscope.tuning.pruners import PRUNERS, REDUCTION_FACTOR


@PRUNERS.register("hyperband", rungs=True)
def hyperband_pruner(search: SearchConfig, epochs: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.HyperbandPruner(min_resource=search.min_epochs, max_resource=max(epochs, search.min_epochs),
                                          reduction_factor=REDUCTION_FACTOR)
