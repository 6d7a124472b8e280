"""convscope ensemble: runs vote on their common test set."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.ensemble import ensemble
from convscope.errors import ConvscopeError


def test_vote_and_mean_of_three_seeds(digits_cfg):
    runs = []
    digits_cfg["data"]["split"]["seed"] = 0  # members differ by init only: one shared test set
    for seed in range(3):
        digits_cfg["seed"] = seed
        runs.append(convscope.run(digits_cfg))
    vote = ensemble([r.id for r in runs], how="vote")
    mean = ensemble([r.id for r in runs], how="mean")
    members = list(vote.members.values())
    assert members == [pytest.approx(r.test_metrics["test_accuracy"]) for r in runs]
    # a majority of three cannot be worse than the worst member on every sample it gets right
    assert vote.metrics["test_accuracy"] >= min(members) - 1e-9
    assert 0 < mean.metrics["test_accuracy"] <= 1
    result = CliRunner().invoke(app, ["ensemble", *[str(r.id) for r in runs]])
    assert result.exit_code == 0 and "ensemble (vote, 3 runs)" in result.output


def test_runs_on_different_data_are_refused(digits_cfg):
    a = convscope.run(digits_cfg)
    digits_cfg["data"]["split"]["val"] = 0.3
    b = convscope.run(digits_cfg)
    with pytest.raises(ConvscopeError, match="different data"):
        ensemble([a.id, b.id])
    with pytest.raises(ConvscopeError, match="at least two"):
        ensemble([a.id])
    digits_cfg["data"]["split"]["val"] = 0.2
    digits_cfg["seed"] = 5
    c = convscope.run(digits_cfg)
    with pytest.raises(ConvscopeError, match="seed also chose the split"):
        ensemble([a.id, c.id])
    assert np.isfinite(a.test_metrics["test_accuracy"])
