"""params ranges → Optuna distributions, the grid, and the errors a user sees."""

from __future__ import annotations

import optuna
import pytest

from convscope.errors import ConfigError
from convscope.tuning.space import distributions, grid_size, grid_values, suggest


def test_each_range_word_maps_to_its_distribution():
    dists = distributions({
        "blocks": {"grid": [1, 2, 4]},
        "dropout": {"choice": [0.01, 0.33, 0.67]},
        "lr": {"loguniform": [1.0e-4, 1.0e-1]},
        "momentum": {"uniform": [0.0, 0.9]},
        "batch_size": {"int": [32, 256], "log": True},
    })
    assert dists["blocks"].choices == (1, 2, 4)
    assert dists["dropout"].choices == (0.01, 0.33, 0.67)
    assert dists["lr"].log and dists["lr"].low == 1e-4
    assert not dists["momentum"].log
    assert isinstance(dists["batch_size"], optuna.distributions.IntDistribution) and dists["batch_size"].log


def test_grid_is_the_full_product_of_lists():
    space = {"blocks": {"grid": [1, 2, 4]}, "filters": {"grid": [15, 30]}, "dropout": {"choice": [0.0, 0.5]}}
    assert grid_values(space)["filters"] == [15, 30]
    assert grid_size(space) == 12


def test_grid_with_a_continuous_range_says_why_and_how_to_fix():
    with pytest.raises(ConfigError) as err:
        grid_values({"blocks": {"grid": [1, 2]}, "lr": {"loguniform": [1.0e-4, 1.0e-2]}})
    assert "params.lr" in err.value.message and "every combination" in err.value.message
    assert "grid: [" in err.value.hint and "strategy: random" in err.value.hint


@pytest.mark.parametrize("spec, words", [
    ({"uniform": [1.0]}, "[low, high]"),
    ({"loguniform": [0.0, 1.0]}, "low > 0"),
    ({"uniform": [2.0, 1.0]}, "low < high"),
    ({"grid": []}, "non-empty list"),
    ({"choice": [[3, 3], [5, 5]]}, "numbers, strings or booleans"),
    ({"grid": [1, 2], "uniform": [0, 1]}, "exactly one"),
    ({"int": [1.5, 4]}, "whole numbers"),
])
def test_malformed_ranges_name_the_param(spec, words):
    with pytest.raises(ConfigError) as err:
        distributions({"x": spec})
    assert "params.x" in err.value.message and words in err.value.message


def test_suggest_draws_every_range_and_is_seeded():
    space = {"filters": {"choice": [15, 30]}, "lr": {"loguniform": [1e-4, 1e-1]}, "bs": {"int": [32, 256]}}

    def draws(seed):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        return [suggest(study.ask(), space) for _ in range(3)]

    first = draws(0)
    assert first == draws(0) and first != draws(1)
    assert all(1e-4 <= d["lr"] <= 1e-1 and d["filters"] in (15, 30) and 32 <= d["bs"] <= 256 for d in first)
