"""How a search picks each trial's values: one registered factory per ``search.strategy``.

A factory takes the space (``params`` ranges), the config's ``seed``, the number of the trial about to
be asked for and how many ``workers`` run at once, and returns an Optuna sampler for that one trial.
A fresh sampler per trial, seeded from (seed, trial number), makes the sequence of sampled params a
function of the config alone: a resumed search draws what an uninterrupted one would have, and
parallel workers never replay one another's random stream. TPE still models every finished trial
(it reads them from the study), so nothing is lost by not keeping a sampler object alive.

A new strategy is one new module here with ``@SAMPLERS.register("name")`` on its factory. Traits
shape the budget: ``enumerates_grid`` (the budget is the grid's size, ``search.trials`` optional) and
``lists_without_replacement`` (over a space of lists, never more trials than combinations); without
either, ``search.trials`` is the budget and is required.

Example:
    >>> from convscope.config import SearchConfig
    >>> sampler = make_sampler(SearchConfig(strategy="tpe"), {"lr": {"uniform": [0, 1]}}, seed=0,
    ...                        trial_number=0, workers=2)
    >>> type(sampler).__name__, sampler._constant_liar
    ('TPESampler', True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from convscope.registry import Registry

if TYPE_CHECKING:  # the config imports this registry to check names
    from convscope.config import SearchConfig

SamplerFactory = Callable[..., optuna.samplers.BaseSampler]
SAMPLERS: Registry[SamplerFactory] = Registry("search strategy", discover="convscope.tuning.samplers",
                                              field="search.strategy")


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed for trial ``number``: mixed from the config's seed, stable across processes."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


def make_sampler(search: SearchConfig, space: dict[str, dict[str, Any]], *, seed: int,
                 trial_number: int, workers: int = 1) -> optuna.samplers.BaseSampler:
    """The sampler that picks trial ``trial_number``'s values.

    Args:
        search: the ``search:`` section (its ``strategy`` names the factory).
        space: the ranges (:attr:`convscope.tuning.study.SearchSetup.space`).
        seed: the config's seed.
        trial_number: the number Optuna gives the next trial.
        workers: how many workers run trials at once (``--workers`` or ``search.workers``, whichever
            the search started with).
    """
    return SAMPLERS.get(search.strategy)(space, seed=seed, trial_number=trial_number, workers=workers)


__all__ = ["SAMPLERS", "make_sampler", "trial_seed"]
