"""Ensembles of stored runs: several networks vote (or average) on the same test set.

Nielsen's last rung is five copies of one network, trained with different seeds, voting: 99.67%
against 99.60% for one. Any runs trained on the same data (same ``data:`` section) can be combined.

Example:
    >>> import convscope
    >>> config = {"data": {"source": "builtin:digits", "split": {"seed": 0}}, "train": {"epochs": 1},
    ...           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}}
    >>> runs = [convscope.run(config, overrides=[f"seed={seed}"]) for seed in (0, 1, 2)]  # one split, 3 inits
    >>> result = ensemble([run.id for run in runs], how="vote")
    >>> sorted(result.members), 0.0 <= result.metrics["test_accuracy"] <= 1.0   # members: run id -> its accuracy
    ([1, 2, 3], True)
    >>> row = result.table.rows[3]   # the ensemble's per-class table (Se, +P, Sp, F1), as `convscope show` prints
    >>> row.name, row.count == sum(result.table.confusion[3])
    ('3', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from convscope.api import load_run, prepare
from convscope.errors import ConvscopeError
from convscope.inference.engine import infer_run
from convscope.train import metrics as M


@dataclass
class EnsembleResult:
    how: str
    run_ids: list[int]
    metrics: dict[str, float]  # the ensemble's test metrics
    members: dict[int, float] = field(default_factory=dict)  # run id -> its own test accuracy
    table: M.ClassTable | None = None  # the ensemble's per-class Se, +P, Sp, F1 and confusion on the test set


def ensemble(run_ids: list[int | str], *, how: Literal["vote", "mean"] = "vote",
             home: str | Path | None = None) -> EnsembleResult:
    """Combine stored runs on their common test set.

    Args:
        run_ids: two or more runs trained on the same data.
        how: ``vote`` — each network's predicted class is one vote, ties go to the class with the
            higher mean probability (Nielsen's rule); ``mean`` — average the class probabilities.
        home: the run store.
    """
    if len(run_ids) < 2:
        raise ConvscopeError("an ensemble needs at least two runs", hint="e.g. convscope ensemble 3 4 5 6 7")
    runs = [load_run(r, home=home) for r in run_ids]
    data_cfg = runs[0].config.data.model_dump()
    for run in runs[1:]:
        if run.config.data.model_dump() != data_cfg:
            raise ConvscopeError(f"run {run.id} was trained on different data than run {runs[0].id}",
                                 hint="ensemble runs of the same data: section (only seeds/models may differ)")
    data, _ = prepare(runs[0].config)
    if data.x_test is None:
        raise ConvscopeError(f"run {runs[0].id}'s data has no test set", hint="set data.split.test")
    for run in runs[1:]:
        if run.config.seed != runs[0].config.seed and run.config.data.split.seed is None:
            other, _ = prepare(run.config)
            if other.x_test is None or not torch.equal(other.x_test, data.x_test):
                raise ConvscopeError(
                    f"run {run.id}'s test set differs from run {runs[0].id}'s: the seed also chose the split",
                    hint="train the members with a fixed data.split.seed (or on a source with its own test set)")
    y = data.y_test.numpy()
    probs = [infer_run(run, data.x_test)[1] for run in runs]  # each (N, K), as each run's own test was scored
    members = {run.id: float(np.mean(p.argmax(1) == y)) for run, p in zip(runs, probs, strict=True)}
    mean = np.mean(probs, axis=0)
    if how == "vote":
        k = mean.shape[1]
        votes = sum(np.eye(k)[p.argmax(1)] for p in probs)  # (N, K) vote counts
        combined = votes + 1e-6 * mean  # ties broken by the mean probability
        combined = combined / combined.sum(axis=1, keepdims=True)
    else:
        combined = mean
    names = runs[0].config.train.metrics
    scores = M.compute(names, y, combined, class_names=data.class_names)
    table = M.class_table(M.confusion(y, combined), data.class_names)
    return EnsembleResult(how=how, run_ids=[r.id for r in runs], members=members,
                          metrics={f"test_{k}": v for k, v in scores.items()}, table=table)
