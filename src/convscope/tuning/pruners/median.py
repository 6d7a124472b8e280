"""``pruner: median``: stop a trial whose epoch is worse than the median of earlier trials' same epoch."""

from __future__ import annotations

import optuna

from convscope.config import SearchConfig
from convscope.tuning.pruners import PRUNERS


@PRUNERS.register("median", rungs=False)
def median_pruner(search: SearchConfig, epochs: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_warmup_steps=search.min_epochs)
