"""Occlusion and Grad-CAM of beats with packed RR features: they explain the signal (L samples), never the
7 scalars packed after it, and the drawn trace is the signal alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.insight.conftest import BEAT_L
from torch import nn

from convscope.insight import features, filters, occlusion, plots
from convscope.insight.look import look
from convscope.insight.occlusion import grad_cam
from convscope.models.layers.with_scalars import SignalWithScalars

K = 7  # RR features packed after each beat's BEAT_L samples


class ScalarsOnly(nn.Module):
    """Two logits from the packed scalars alone: nothing in the signal can change its prediction."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, L + K) -> (N, 2)
        z = x[:, 0, -K:].sum(dim=1) - 3.0
        return torch.stack([z, -z], dim=1)


def one_position_model(position: int) -> nn.Module:
    """A with_scalars model whose class-0 logit is the signal at ``position`` (a 1x1 conv of weight 1 in the
    block's body, then a dense head reading that one position), so Grad-CAM must light ``position`` only."""
    conv = nn.Conv1d(1, 1, 1, bias=False)
    head = nn.Linear(BEAT_L + K, 2, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        head.weight.zero_()
        head.weight[0, position] = 1.0
    return nn.Sequential(SignalWithScalars(nn.Sequential(conv, nn.Flatten()), K), head)


def _recording(monkeypatch, module, name: str) -> list:
    """Keep what ``module.name`` returns while the pictures call it."""
    kept, real = [], getattr(module, name)

    def wrapper(*args, **kwargs):
        kept.append(real(*args, **kwargs))
        return kept[-1]

    monkeypatch.setattr(module, name, wrapper)
    return kept


def test_the_stored_run_knows_its_scalars_by_name(scalar_run):
    assert scalar_run.info.meta["scalar_inputs"] == K
    assert scalar_run.info.meta["scalar_names"][:2] == ["pre_rr", "post_rr"]


def test_occlusion_slides_over_the_signal_and_leaves_the_scalars_intact(scalar_run, tmp_path, monkeypatch):
    found = _recording(monkeypatch, occlusion, "occlusion_map")
    monkeypatch.setattr(scalar_run, "model", ScalarsOnly())
    look(scalar_run, "occlusion", tmp_path, count=2)
    assert len(found) == 2
    for occ in found:
        assert occ.drop.shape == (BEAT_L,)
        assert np.all(occ.drop == 0)  # zeroing the scalars would have changed this model's output


def test_occlusion_of_the_trained_model_covers_the_signal(scalar_run, tmp_path, monkeypatch):
    found = _recording(monkeypatch, occlusion, "occlusion_map")
    look(scalar_run, "occlusion", tmp_path)
    (occ,) = found
    assert occ.drop.shape == (BEAT_L,) and occ.window == (BEAT_L // 10,)


def test_grad_cam_is_stretched_to_the_signal_not_over_the_scalars():
    x = torch.ones(1, 1, BEAT_L + K)
    cam, layer = grad_cam(one_position_model(50), x, 0, scalars=K)
    assert layer == "0.body.0" and cam.shape == (BEAT_L,)
    assert int(np.argmax(cam)) == 50 and cam[50] == 1.0 and np.count_nonzero(cam) == 1


def test_grad_cam_picture_has_the_signals_length(scalar_run, tmp_path, monkeypatch):
    found = _recording(monkeypatch, occlusion, "grad_cam")
    look(scalar_run, "gradcam", tmp_path, count=2)
    assert [cam.shape for cam, _ in found] == [(BEAT_L,), (BEAT_L,)]


@pytest.mark.parametrize(("what", "module"), [("occlusion", occlusion), ("gradcam", occlusion),
                                              ("features", features), ("top-losses", plots), ("filters", filters)])
def test_pictures_draw_the_signal_without_its_scalars(scalar_run, tmp_path, monkeypatch, what, module):
    traces = []
    real_save = module.save

    def keep_traces(fig, path):  # every drawn trace (lines of more than 2 points: not axvline / axhline)
        traces.extend(line.get_ydata() for ax in fig.axes for line in ax.get_lines() if len(line.get_ydata()) > 2)
        return real_save(fig, path)

    monkeypatch.setattr(module, "save", keep_traces)
    options = {"steps": 2} if what == "filters" else {}
    assert look(scalar_run, what, tmp_path, **options)
    assert traces and {len(t) for t in traces} == {BEAT_L}
