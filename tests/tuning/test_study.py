"""Budget, objective and the search set-up, checked without training."""

from __future__ import annotations

import optuna
import pytest

from convscope.config import SearchConfig
from convscope.errors import ConfigError
from convscope.tuning.samplers import make_sampler
from convscope.tuning.study import Objective, SearchSetup, budget


def test_budget_grid_subset_is_explained_and_random_needs_trials():
    space = {"a": {"grid": [1, 2, 3]}, "b": {"grid": [1, 2]}}
    assert budget(SearchConfig(strategy="grid"), space) == (6, None)
    n, note = budget(SearchConfig(strategy="grid", trials=4), space)
    assert n == 4 and "6 points" in note
    with pytest.raises(ConfigError, match="search.trials"):
        budget(SearchConfig(strategy="random"), space)
    # random over lists draws without replacement: never more trials than combinations
    n, note = budget(SearchConfig(strategy="random", trials=10), space)
    assert n == 6 and "at most once" in note
    assert isinstance(make_sampler(SearchConfig(strategy="random"), space, seed=0, trial_number=0),
                      optuna.samplers.GridSampler)


def test_setup_checks_objective_and_space(make_search):
    cfg = make_search({"filters": {"grid": [4, 8]}}, strategy="grid")
    setup = SearchSetup.from_raw(cfg)
    assert setup.budget == 2 and setup.objective == Objective("val_accuracy", "maximize")
    assert setup.trial_config({"filters": 8}).model.layers[0]["conv"]["filters"] == 8
    with pytest.raises(ConfigError, match="not logged"):
        SearchSetup.from_raw(make_search({"filters": {"grid": [4, 8]}}, strategy="grid",
                                           objective={"metric": "val_auc"}))
    with pytest.raises(ConfigError, match="nothing to search"):
        SearchSetup.from_raw(make_search({}))
    with pytest.raises(ConfigError, match="every combination"):
        SearchSetup.from_raw(make_search({"lr": {"loguniform": [1e-3, 1e-1]}}, strategy="grid"))
