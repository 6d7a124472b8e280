"""``pruner: none``: every trial runs all its epochs."""

from __future__ import annotations

import optuna

from convscope.config import SearchConfig
from convscope.tuning.pruners import PRUNERS


@PRUNERS.register("none", rungs=False)
def no_pruner(search: SearchConfig, epochs: int) -> optuna.pruners.BasePruner:
    return optuna.pruners.NopPruner()
