"""``strategy: random``: independent draws; over a space of lists only, the grid in a random order."""

from __future__ import annotations

from typing import Any

import optuna

from convscope.tuning.samplers import SAMPLERS, trial_seed
from convscope.tuning.samplers.grid import grid_sampler
from convscope.tuning.space import is_grid


@SAMPLERS.register("random", lists_without_replacement=True)
def random_sampler(space: dict[str, dict[str, Any]], *, seed: int, trial_number: int,
                   workers: int) -> optuna.samplers.BaseSampler:
    """Random search over a space of lists only draws without replacement (the grid in a seeded random
    order): with replacement, a 24-point space sampled 24 times repeats about a third of its trials,
    and a repeat trains the identical model again."""
    if is_grid(space):
        return grid_sampler(space, seed=seed, trial_number=trial_number, workers=workers)
    return optuna.samplers.RandomSampler(seed=trial_seed(seed, trial_number))
