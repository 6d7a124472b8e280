"""``strategy: grid``: every combination of the listed values, in a seed-shuffled order."""

from __future__ import annotations

from typing import Any

import optuna

from convscope.tuning.samplers import SAMPLERS
from convscope.tuning.space import grid_values


class ConvscopeGridSampler(optuna.samplers.GridSampler):
    """Optuna's :class:`~optuna.samplers.GridSampler` for workers that stop on their own budget.

    The stock sampler calls ``study.stop()`` when the grid is exhausted, which only works inside
    ``study.optimize``; convscope's workers use ask/tell and stop when the grid's size is reached.

    Args:
        search_space: name → list of values.
        seed: shuffles the order in which grid points are visited (trial ``n`` takes point ``n``).

    Example:
        >>> sampler = ConvscopeGridSampler({"filters": [15, 30]}, seed=0)
    """

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: Any,
                    values: Any) -> None:
        return None


@SAMPLERS.register("grid", enumerates_grid=True)
def grid_sampler(space: dict[str, dict[str, Any]], *, seed: int, trial_number: int,
                 workers: int) -> optuna.samplers.BaseSampler:
    """The grid's visiting order is shuffled once by the seed and trial n takes point n."""
    return ConvscopeGridSampler(grid_values(space), seed=seed)
