"""run_parts: one split of a packed sample into its signal and its scalars, and the scalars' names."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from convscope.insight.run_parts import scalar_names, split_scalars


def _run(meta: dict) -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(meta=meta))


def test_split_scalars_takes_the_last_values_of_lead_zero():
    x = torch.arange(2 * 2 * 8.0).reshape(2, 2, 8)  # (N, C, L + K) with L 5, K 3
    signal, scalars = split_scalars(x, 3)
    assert torch.equal(signal, x[..., :5])
    assert torch.equal(scalars, x[:, 0, 5:])
    same, none = split_scalars(x, 0)
    assert same is x and none.shape == (2, 0)


def test_scalar_names_from_the_stored_meta_and_for_older_runs():
    assert scalar_names(_run({"scalar_inputs": 2, "scalar_names": ["pre_rr", "post_rr"]})) == ["pre_rr", "post_rr"]
    assert scalar_names(_run({"scalar_inputs": 3})) == ["scalar 1", "scalar 2", "scalar 3"]  # before names were kept
    assert scalar_names(_run({"sample_rate": 360})) == []
