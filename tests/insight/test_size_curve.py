"""size-curve: a search over data.train_size drawn as metric against size, one line per other parameter,
train dashed and validation solid -- by `convscope look SEARCH size-curve` and in the search report."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_hex
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.errors import ConvscopeError
from convscope.insight.look import look, look_search, pictures
from convscope.insight.size_curve import (
    SizePoint,
    draw_size_curve,
    size_lines,
    size_points,
    varies_train_size,
)
from convscope.report import search_report
from convscope.store import Store

SIZES = [120, 480]
DECAYS = [0.0, 0.01]


def size_search_config(sizes=SIZES, decays=DECAYS) -> dict:
    """A tiny digits CNN, one epoch, over train_size x weight decay (a grid of len(sizes) * len(decays))."""
    return {
        "name": "digits-sizes", "seed": 0,
        "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}, "train_size": "${n}"},
        "params": {"n": {"grid": sizes}, "wd": {"grid": decays}},
        "model": {"layers": [{"conv": {"filters": 8, "kernel": 3, "padding": "same", "activation": "relu"}},
                             {"maxpool": 2}, "flatten", {"dense": {"units": 10, "activation": "softmax"}}]},
        "train": {"epochs": 1, "batch_size": 64, "optimizer": {"name": "adam", "lr": 0.01, "weight_decay": "${wd}"}},
        "search": {"strategy": "grid", "objective": {"metric": "val_accuracy"}, "threads_per_worker": 1},
    }


@pytest.fixture(scope="module")
def size_search(tmp_path_factory):
    """(home, name): a finished 2 sizes x 2 weight decays search, shared by this module's tests."""
    home = tmp_path_factory.mktemp("size-search")
    convscope.search(size_search_config(), name="sizes", home=home, progress=False)
    return home, "sizes"


def test_points_are_each_runs_best_epoch_at_its_size_grouped_by_the_other_parameter(size_search):
    home, name = size_search
    search = convscope.load_search(name, home=home)
    points, metric = size_points(search)
    assert metric == "accuracy"
    assert sorted((p.size, p.group) for p in points) == [(n, f"wd={d}") for n in SIZES for d in DECAYS]
    store = Store(home)
    for t in search.trials:
        row = store.run(t.run_id)
        best = next(h for h in store.epochs(t.run_id) if h["epoch"] == row["best_epoch"])
        point = next(p for p in points if p.size == t.params["n"] and p.group == f"wd={t.params['wd']}")
        assert (point.train, point.val) == (best["train_accuracy"], best["val_accuracy"])
        assert row["info"]["meta"]["train_samples"] == t.params["n"]


def test_the_validation_set_is_the_same_for_every_size(size_search):
    home, name = size_search
    store = Store(home)
    val_counts = {sum(map(sum, store.run(t.run_id)["info"]["val_confusion"]))
                  for t in convscope.load_search(name, home=home).trials}
    assert len(val_counts) == 1


def test_look_draws_the_png_and_the_cli_prints_its_path(size_search, tmp_path):
    home, name = size_search
    assert pictures("search") == ["size-curve"] and "size-curve" not in pictures()
    [path] = look_search(name, "size-curve", tmp_path, home=home)
    assert path == tmp_path / "size-curve.png" and path.stat().st_size > 10_000
    result = CliRunner().invoke(app, ["look", name, "size-curve", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert (home / "searches" / f"{name}-figures" / "size-curve.png").exists()
    assert "size-curve.png" in result.output


def test_the_search_report_shows_the_size_curve(size_search):
    home, name = size_search
    html = search_report(name, home=home, best_run_report=False).read_text()
    assert "Against training-set size." in html


def test_a_search_over_one_size_has_no_size_curve(tmp_path):
    convscope.search(size_search_config(sizes=[200], decays=[0.0]), name="one-size", home=tmp_path, progress=False)
    assert look_search("one-size", "size-curve", tmp_path / "out", home=tmp_path) == []
    assert "Against training-set size." not in search_report("one-size", home=tmp_path,
                                                             best_run_report=False).read_text()


def test_lines_are_train_dashed_and_validation_solid_one_color_per_group():
    points = [SizePoint(n, f"wd={wd}", 1.0 - wd, 0.5 + n / 1000 - wd) for wd in (0.1, 0.0) for n in (400, 100)]
    fig = draw_size_curve(size_lines(points), metric="accuracy", title="t")
    drawn = [line for line in fig.axes[0].lines if len(line.get_xdata())]
    assert [(list(line.get_xdata()), line.get_linestyle()) for line in drawn] == [
        ([100, 400], "-"), ([100, 400], "--"), ([100, 400], "-"), ([100, 400], "--")]
    assert [line.get_label() for line in drawn[::2]] == ["wd=0.0", "wd=0.1"]  # sorted by value
    colors = [to_hex(line.get_color()) for line in drawn]
    assert colors[0] == colors[1] != colors[2] == colors[3]
    assert list(drawn[0].get_ydata()) == pytest.approx([0.6, 0.9])


def test_repeats_of_a_size_are_averaged_with_their_spread():
    points = [SizePoint(100, "", 0.9, 0.6), SizePoint(100, "", 0.8, 0.7), SizePoint(300, "", 1.0, 0.8)]
    [line] = size_lines(points)
    assert line.sizes == [100, 300] and line.runs == [2, 1]
    assert line.val == pytest.approx([0.65, 0.8]) and line.train == pytest.approx([0.85, 1.0])
    assert (line.val_low, line.val_high) == ([0.6, 0.8], [0.7, 0.8])
    assert varies_train_size(points) and not varies_train_size(points[:2])


def test_a_search_picture_asked_of_a_run_says_to_name_the_search(tmp_path):
    with pytest.raises(ConvscopeError, match="'size-curve' is a picture of a search") as err:
        look(None, "size-curve", tmp_path)
    assert err.value.hint == "name the search: convscope look SEARCH size-curve"
    with pytest.raises(ConvscopeError, match="'kernels' is not a picture of a search"):
        look_search("any", "kernels", tmp_path)
