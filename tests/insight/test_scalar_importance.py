"""Scalar importance: the drop of the class's probability when one packed scalar alone is set to its
training-set mean finds the scalar a model reads; a run without scalars refuses the picture in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from convscope.cli import app
from convscope.errors import ConvscopeError
from convscope.insight import scalar_importance as si
from convscope.insight.look import look, pictures
from convscope.insight.run_parts import run_data, split_scalars

K = 7


class SecondScalar(nn.Module):
    """Two logits from the second packed scalar (post_rr) alone: class 0 when it is above ``center``."""

    def __init__(self, center: float) -> None:
        super().__init__()
        self.center = center

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, L + K) -> (N, 2)
        z = 4.0 * (x[:, 0, -K + 1] - self.center)
        return torch.stack([z, -z], dim=1)


def _means(run) -> torch.Tensor:
    return split_scalars(run_data(run).x_train, K)[1].mean(dim=0)  # (K,)


def test_scalar_importance_finds_the_one_scalar_the_model_reads(scalar_run):
    means = _means(scalar_run)
    x = run_data(scalar_run).x_val[:1].clone()
    x[0, 0, -K + 1] = means[1] + 0.5  # a longer post_rr than average: evidence for class 0 to this model
    imp = si.scalar_importance(SecondScalar(float(means[1])), x, 0, means)
    assert imp.drop[1] > 0.1
    assert np.all(np.delete(imp.drop, 1) == 0)
    np.testing.assert_allclose(imp.values, x[0, 0, -K:].numpy())
    np.testing.assert_allclose(imp.means, means.numpy())


def test_the_picture_names_each_scalar_with_its_value(scalar_run, tmp_path, monkeypatch):
    drawn = []
    real_save = si.save

    def keep(fig, path):
        drawn.append([[t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes if ax.axison])
        drawn.append([[bar.get_width() for bar in ax.patches] for ax in fig.axes if ax.axison])
        return real_save(fig, path)

    monkeypatch.setattr(si, "save", keep)
    monkeypatch.setattr(scalar_run, "model", SecondScalar(float(_means(scalar_run)[1]) - 0.1))
    (path,) = look(scalar_run, "scalars", tmp_path, count=3)
    assert path == tmp_path / "scalars-0.png"
    labels, widths = drawn
    assert len(labels) == 3
    x = run_data(scalar_run).x_val
    for i in range(3):
        assert [t.split(" = ")[0] for t in labels[i]][:3] == ["pre_rr", "post_rr", "local_rr"]
        assert labels[i][1].startswith(f"post_rr = {float(x[i, 0, -K + 1]):.3g} (mean ")
        assert widths[i][1] != 0 and all(w == 0 for j, w in enumerate(widths[i]) if j != 1)


def test_scalars_is_drawn_only_for_runs_with_scalars(picture_runs, scalar_run, tmp_path):
    assert "scalars" in pictures()
    names = [p.name for p in look(scalar_run, "all", tmp_path / "beats")]
    assert "scalars-0.png" in names
    assert not any(p.name.startswith("scalars") for p in look(picture_runs["1d"], "all", tmp_path / "plain"))
    with pytest.raises(ConvscopeError, match="samples have no packed scalar inputs"):
        look(picture_runs["1d"], "scalars", tmp_path)


def test_cli_look_scalars_on_a_run_without_scalars_is_one_line(picture_runs):
    run = picture_runs["1d"]
    result = CliRunner().invoke(app, ["look", str(run.id), "scalars", "--home", str(run.home)])
    assert result.exit_code == 2
    assert "no packed scalar inputs" in result.output and "Traceback" not in result.output
