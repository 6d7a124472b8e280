"""search.pruner → an Optuna pruner, from the registry; rungs are named only for successive halving."""

from __future__ import annotations

import optuna
import pytest

from convscope.config import SearchConfig, load_config
from convscope.errors import ConfigError
from convscope.tuning.pruners import PRUNERS, make_pruner, rung


def test_pruner_words():
    assert isinstance(make_pruner(SearchConfig(pruner="none"), epochs=9), optuna.pruners.NopPruner)
    assert isinstance(make_pruner(SearchConfig(pruner="median"), epochs=9), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner(SearchConfig(pruner="asha"), epochs=9), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(make_pruner(SearchConfig(pruner="hyperband"), epochs=9), optuna.pruners.HyperbandPruner)
    assert [rung(e, 1) for e in (1, 2, 3, 9)] == [0, None, 1, 2]
    assert [n for n in PRUNERS.names() if PRUNERS.traits(n)["rungs"]] == ["asha", "hyperband"]


def test_config_accepts_exactly_the_registered_pruners(digits_cfg):
    for name in PRUNERS.names():
        assert load_config(digits_cfg, [f"search.pruner={name}"]).search.pruner == name
    with pytest.raises(ConfigError, match=r"search.pruner: unknown pruner 'asah'; did you mean 'asha'\?"):
        load_config(digits_cfg, ["search.pruner=asah"])


def test_a_registered_pruner_is_usable_by_name(digits_cfg):
    @PRUNERS.register("test-threshold", rungs=False)
    def threshold(search, epochs):
        return optuna.pruners.ThresholdPruner(lower=0.5)

    try:
        cfg = load_config(digits_cfg, ["search.pruner=test-threshold"])
        assert isinstance(make_pruner(cfg.search, epochs=3), optuna.pruners.ThresholdPruner)
    finally:
        PRUNERS._entries.pop("test-threshold")
