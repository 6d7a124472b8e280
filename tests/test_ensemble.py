"""convscope ensemble: runs vote on their common test set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import convscope
from convscope.api import prepare
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
    # the same vote and mean by hand, from each member's own test probabilities
    data, _ = prepare(runs[0].config)
    with torch.no_grad():
        probs = [torch.softmax(r.model(data.x_test), dim=1).numpy() for r in runs]  # each (N, K)
    y = data.y_test.numpy()
    picks = np.stack([p.argmax(1) for p in probs])  # (3, N)
    counts = np.stack([(picks == k).sum(0) for k in range(probs[0].shape[1])], axis=1)  # (N, K)
    mean_prob = np.mean(probs, axis=0)
    tied = counts == counts.max(1, keepdims=True)
    voted = np.where(tied, mean_prob, -1).argmax(1)  # a tie goes to the higher mean probability
    assert vote.metrics["test_accuracy"] == pytest.approx(np.mean(voted == y))
    assert mean.metrics["test_accuracy"] == pytest.approx(np.mean(mean_prob.argmax(1) == y))
    result = CliRunner().invoke(app, ["ensemble", *[str(r.id) for r in runs]])
    assert result.exit_code == 0 and "ensemble (vote, 3 runs)" in result.output
    # the per-class table (what an ECG benchmark reports: Se and +P per class) is the mean's own
    by_hand = np.zeros((10, 10), dtype=int)
    np.add.at(by_hand, (y, mean_prob.argmax(1)), 1)
    assert mean.table.confusion == by_hand.tolist()
    row = mean.table.rows[3]
    assert row.sensitivity == pytest.approx(by_hand[3, 3] / by_hand[3].sum())
    assert row.ppv == pytest.approx(by_hand[3, 3] / by_hand[:, 3].sum())
    result = CliRunner().invoke(app, ["ensemble", "--how", "mean", *[str(r.id) for r in runs]], terminal_width=200)
    assert result.exit_code == 0 and "per class, ensemble (mean)" in result.output
    assert "+P" in result.output and f"{100 * row.ppv:.1f}%" in result.output


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
