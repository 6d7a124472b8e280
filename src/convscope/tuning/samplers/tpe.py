"""``strategy: tpe``: Optuna's Tree-structured Parzen Estimator, with constant-liar under parallel workers.

Reproducibility: with one worker a TPE search is reproducible trial by trial (each trial's sampler is
seeded from the search seed and its number, and it sees the same finished trials). With several workers
it is **not**: what trial N samples depends on which trials had finished (and which were running, for
the constant liar) when its worker asked, which depends on timing; two runs of the same search, or a
killed and resumed one, can give trial N other params. ``grid`` and ``random`` depend only on the trial
number, so they are reproducible with any number of workers.
"""

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
