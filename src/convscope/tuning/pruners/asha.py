"""``pruner: asha``: asynchronous successive halving (Li et al. 2020), keeping the best third at each rung."""

from __future__ import annotations

import optuna

from convscope.config import SearchConfig
from convscope.tuning.pruners import PRUNERS, REDUCTION_FACTOR


@PRUNERS.register("asha", rungs=True)
def asha_pruner(search: SearchConfig, epochs: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=search.min_epochs, reduction_factor=REDUCTION_FACTOR)
