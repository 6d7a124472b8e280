"""search.strategy → an Optuna sampler per trial; TPE lies about running trials only with parallel workers."""

from __future__ import annotations

import optuna
import pytest

from convscope.config import SearchConfig, load_config
from convscope.errors import ConfigError
from convscope.tuning.samplers import SAMPLERS, make_sampler


def test_strategy_words_and_per_trial_seeds():
    space = {"lr": {"uniform": [0.0, 1.0]}}
    assert isinstance(make_sampler(SearchConfig(strategy="tpe"), space, seed=0, trial_number=0),
                      optuna.samplers.TPESampler)
    grid = make_sampler(SearchConfig(strategy="grid"), {"f": {"grid": [1, 2]}}, seed=0, trial_number=5)
    assert isinstance(grid, optuna.samplers.GridSampler)
    assert isinstance(make_sampler(SearchConfig(strategy="random"), {"f": {"grid": [1, 2]}}, seed=0,
                                   trial_number=0), optuna.samplers.GridSampler)  # lists: without replacement

    def first(number):
        study = optuna.create_study(sampler=make_sampler(SearchConfig(strategy="random"), space, seed=0,
                                                         trial_number=number))
        return study.ask().suggest_float("lr", 0.0, 1.0)

    assert first(3) == first(3) and first(3) != first(4)


def test_tpe_constant_liar_follows_the_number_of_workers():
    space = {"lr": {"uniform": [0.0, 1.0]}}
    one = make_sampler(SearchConfig(strategy="tpe"), space, seed=0, trial_number=0, workers=1)
    two = make_sampler(SearchConfig(strategy="tpe"), space, seed=0, trial_number=0, workers=2)
    assert (one._constant_liar, two._constant_liar) == (False, True)


def test_config_accepts_exactly_the_registered_strategies(digits_cfg):
    assert SAMPLERS.names() == ["grid", "random", "tpe"]
    with pytest.raises(ConfigError, match=r"search.strategy: unknown search strategy 'tpee'; did you mean 'tpe'\?"):
        load_config(digits_cfg, ["search.strategy=tpee"])
