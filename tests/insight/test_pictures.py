"""Every picture writes a PNG for a 1D and a 2D model, and the numbers behind the pictures are right."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from convscope.cli import app
from convscope.insight import plots
from convscope.insight.correlation import feature_correlation, penultimate_features
from convscope.insight.features import feature_maps
from convscope.insight.filters import maximize_activation
from convscope.insight.kernels import draw_kernels, kernel_grid
from convscope.insight.look import look, pictures
from convscope.insight.occlusion import grad_cam, occlusion_map
from convscope.insight.plots import top_losses
from convscope.insight.run_parts import conv_layers, feature_modules, run_data

SHAPES = {"1d": (1, 64), "2d": (1, 12, 12)}


def test_the_runs_learned(picture_runs):
    # the checks below ask where a model looks; that only means something for a model that learned
    for run in picture_runs.values():
        assert run.test_metrics["test_accuracy"] > 0.9


@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("what", [w for w in pictures() if w not in ("roc", "scalars")])  # scalars: its own tests
def test_each_picture_writes_a_png(picture_runs, tmp_path, kind, what):
    paths = look(picture_runs[kind], what, tmp_path)
    assert paths, what
    for path in paths:
        assert path.parent == tmp_path and path.suffix == ".png"
        with Image.open(path) as img:
            assert img.width > 200 and img.height > 150


def test_roc_is_one_curve_for_binary_and_one_vs_rest_for_multiclass(picture_runs, tmp_path, monkeypatch):
    drawn = {}
    real_save = plots.save

    def keep_lines(fig, path):  # what the figure holds, read before it is written and closed
        drawn[path.parent.name] = [(line.get_label(), len(line.get_xdata())) for line in fig.axes[0].get_lines()]
        return real_save(fig, path)

    monkeypatch.setattr(plots, "save", keep_lines)
    for kind in ("1d", "2d"):
        (path,) = look(picture_runs[kind], "roc", tmp_path / kind)
        assert path.name == "roc.png"
    # 1d has three classes: the chance diagonal and one curve per class, each labelled with its AUC
    labels = [label for label, _ in drawn["1d"]]
    assert labels[0] == "chance" and len(labels) == 1 + 3 and all(re.search(r"\(\d\.\d{3}\)$", t) for t in labels[1:])
    # 2d is binary: the diagonal, one ROC curve (a point per threshold) and the run's operating point
    (chance, _), (curve, points), (operating, one) = drawn["2d"]
    assert curve.startswith("AUC ") and points > 2 and operating.startswith("threshold ") and one == 1


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_kernel_grid_has_symmetric_bounds_shared_by_the_layer(picture_runs, kind):
    model = picture_runs[kind].model
    for name, conv in conv_layers(model):
        g = kernel_grid(conv.weight)
        assert g.vmin == -g.vmax
        assert g.vmax == pytest.approx(float(conv.weight.detach().abs().max()))
        assert g.weights.shape[:2] == (conv.out_channels, conv.in_channels)
        fig = draw_kernels(g, title=name)
        clims = {im.get_clim() for ax in fig.axes for im in ax.get_images()}
        assert clims <= {(g.vmin, g.vmax)}  # every 2D/heat-map panel on the one shared scale
        if kind == "1d" and conv.in_channels == 1:
            panels = [ax for ax in fig.axes if ax.get_lines()]
            assert all(ax.get_ylim()[0] == pytest.approx(-ax.get_ylim()[1]) for ax in panels)


def test_kernel_grid_limits_what_it_draws():
    g = kernel_grid(torch.randn(64, 32, 3, 3), max_out=8, max_in=4)
    assert g.weights.shape == (8, 4, 3, 3) and (g.out_channels, g.in_channels) == (64, 32)


@pytest.mark.parametrize(("weight", "drawn"), [
    ((16, 1, 1), "bars"),  # a 1-tap conv reading one channel: a bar per filter
    ((16, 8, 1), "matrix"),  # a 1-tap conv over 8 channels: one (filter x input channel) matrix
    ((16, 8, 1, 1), "matrix"),  # a 2D 1x1 conv: the same
    ((16, 8, 5), "mosaic"),  # a deeper 1D conv: one mosaic of 1 x 5 strips
])
def test_a_layer_is_one_picture_not_a_panel_per_filter(weight, drawn):
    g = kernel_grid(torch.randn(*weight))
    fig = draw_kernels(g, title="layer")
    plots_ = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(plots_) == 1, len(plots_)  # 16 filters, one axes (was 16 one-dot plots)
    ax = plots_[0]
    if drawn == "bars":
        assert len(ax.patches) == 16 and [p.get_height() for p in ax.patches] == pytest.approx(g.weights[:, 0, 0])
    else:
        image = ax.get_images()[0].get_array()
        taps = weight[2] if len(weight) == 3 else 1
        expected = (16, 8) if drawn == "matrix" else (16 * 2 - 1, 8 * (taps + 1) - 1)  # blank line between kernels
        assert image.shape == expected
        assert image[0, :taps].tolist() == pytest.approx(g.weights[0, 0].reshape(-1).tolist())


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_feature_maps_have_each_conv_layers_shape(picture_runs, kind):
    run = picture_runs[kind]
    x = run_data(run).x_val[:1]
    maps = feature_maps(run.model, x)
    assert list(maps) == [name for name, _ in feature_modules(run.model)] == ["conv1", "conv2"]
    assert maps["conv1"].shape[0] == 8 and maps["conv1"].shape[1:] == SHAPES[kind][1:]
    assert all(m.min() >= 0 for m in maps.values())  # taken after the ReLU


def _first_of_class(run, k: int) -> torch.Tensor:
    data = run_data(run)
    i = int((data.y_val == k).nonzero()[0])
    return data.x_val[i:i + 1]


def test_occluding_the_evidence_drops_the_class_more_than_occluding_nothing_1d(picture_runs, evidence):
    bump = evidence["bump"]
    run = picture_runs["1d"]
    x = _first_of_class(run, 1)
    occ = occlusion_map(run.model, x, 1, window=(8,), stride=(2,))
    assert occ.drop.shape == (64,) and occ.probability > 0.5
    hidden, empty = occ.drop[bump[1]].mean(), occ.drop[bump[2]].mean()
    assert hidden > 0.2 and hidden > 5 * abs(empty)


def test_occluding_the_evidence_drops_the_class_more_than_occluding_nothing_2d(picture_runs, evidence):
    square = evidence["square"]
    run = picture_runs["2d"]
    x = _first_of_class(run, 1)
    baseline = float(run_data(run).x_train.mean())
    occ = occlusion_map(run.model, x, 1, window=(4, 4), stride=(1, 1), baseline=baseline)  # the square's size
    assert occ.drop.shape == (12, 12)
    hidden, empty = occ.drop[square].mean(), occ.drop[7:, 7:].mean()
    assert hidden > 0.1 and hidden > 5 * abs(empty)


def test_grad_cam_is_brightest_on_the_evidence(picture_runs, evidence):
    square, bump = evidence["square"], evidence["bump"]
    run = picture_runs["2d"]
    cam, layer = grad_cam(run.model, _first_of_class(run, 1), 1)
    assert layer == "conv2" and cam.shape == (12, 12) and cam.max() == pytest.approx(1.0)
    assert cam[square].mean() > 2 * cam[7:, 7:].mean()
    run = picture_runs["1d"]
    cam, _ = grad_cam(run.model, _first_of_class(run, 2), 2)
    assert cam.shape == (64,) and cam[bump[2]].mean() > cam[bump[1]].mean()


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_activation_maximization_raises_the_channels_output_and_leaves_the_weights(picture_runs, kind):
    model = picture_runs[kind].model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _, conv = conv_layers(model)[-1]
    start, start_scores = maximize_activation(model, conv, [0, 1, 2], SHAPES[kind], steps=0)
    patterns, scores = maximize_activation(model, conv, [0, 1, 2], SHAPES[kind], steps=64)
    assert patterns.shape == (3, *SHAPES[kind])
    assert (scores > start_scores).all()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())


def test_feature_correlation_clusters_redundant_features_and_bounds_symmetrically():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 500))
    noise = 0.05 * rng.standard_normal((500, 4))
    features = np.stack([a, b, a, rng.standard_normal(500), b, np.zeros(500)], axis=1)  # (N, 6), one dead
    features[:, :4] += noise
    c = feature_correlation(features, layer="dense2")
    assert c.dropped == 1 and c.matrix.shape == (5, 5)
    assert np.allclose(c.matrix, c.matrix.T) and np.allclose(np.diag(c.matrix), 1)
    pos = {int(f): i for i, f in enumerate(c.order)}
    assert abs(pos[0] - pos[2]) == 1 and abs(pos[1] - pos[4]) == 1  # the copies sit next to each other
    off = np.abs(c.matrix[~np.eye(5, dtype=bool)])
    assert 0.9 < c.limit <= off.max()


def test_penultimate_features_are_the_last_dense_layers_input(picture_runs):
    run = picture_runs["2d"]
    features, layer = penultimate_features(run.model, run_data(run).x_val)
    assert layer == "dense2" and features.shape == (len(run_data(run).y_val), 16)


def test_top_losses_are_the_confidently_wrong_ones_first():
    y = np.array([0, 1, 1, 0])
    prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.95, 0.05], [0.3, 0.7]])
    worst = top_losses(y, prob)
    assert [w.index for w in worst] == [2, 3]
    assert worst[0].predicted == 0 and worst[0].confidence == pytest.approx(0.95)


def test_cli_look_writes_into_the_run_folder_and_prints_paths(picture_runs):
    run = picture_runs["2d"]
    result = CliRunner().invoke(app, ["look", str(run.id), "occlusion", "--index", "2", "--home", str(run.home)])
    assert result.exit_code == 0, result.output
    path = run.dir / "occlusion-2.png"
    assert str(path) in result.output.replace("\n", "") and path.exists()
    result = CliRunner().invoke(app, ["look", str(run.id), "kernels", "--layer", "nope", "--home", str(run.home)])
    assert result.exit_code == 2 and "conv1, conv2" in result.output


def test_feature_correlation_survives_columns_constant_up_to_rounding():
    # an untrained net's dead units: float32 columns whose spread is rounding noise made scipy's linkage
    # raise "must contain only finite values" and took the search report down with it (issue 14)
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(size=(64, 3)), np.full((64, 2), 0.1, dtype=np.float32)
                               + rng.normal(scale=1e-12, size=(64, 2))], axis=1).astype(np.float32)
    c = feature_correlation(features, layer="gap")
    assert np.isfinite(c.matrix).all() and c.dropped == 2 and len(c.matrix) == 3
