"""``strategy: tpe``: Optuna's Tree-structured Parzen Estimator, with constant-liar under parallel workers."""

from __future__ import annotations

from typing import Any

import optuna

from convscope.tuning.samplers import SAMPLERS, trial_seed


@SAMPLERS.register("tpe")
def tpe_sampler(space: dict[str, dict[str, Any]], *, seed: int, trial_number: int,
                workers: int) -> optuna.samplers.BaseSampler:
    """constant_liar: a parallel worker treats running trials as bad, so two workers do not sample the
    same spot (Optuna's advice for distributed TPE)."""
    return optuna.samplers.TPESampler(seed=trial_seed(seed, trial_number), constant_liar=workers > 1)
