"""Replaying a run's pipeline on a record file gives exactly the samples training saw, and every way a
record can fail to fit the model is one clear error."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.errors import DataError
from convscope.inference.readers import read_inputs
from convscope.inference.recipe import Recipe
from convscope.insight.run_parts import run_data


def _replayed(run, path) -> np.ndarray:
    recipe = Recipe.for_run(run)
    return np.concatenate([recipe.samples(item) for _, item in read_inputs([path], recipe)])


@pytest.mark.parametrize("which", ["ecg_run", "beat_run"])
def test_replay_equals_the_training_samples(which, ecg_records, request):
    run = request.getfixturevalue(which)
    data = run_data(run)
    ids = data.ids["test"]
    for record in sorted(set(ids))[:3]:
        got = _replayed(run, ecg_records / f"{record}.hea")  # (n, 2, L): leads ii, v1 picked by name
        expected = data.x_test[ids == record].numpy()
        assert got.shape == expected.shape and len(got) > 0
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_recipe_reads_the_pipeline_back(ecg_run, beat_run, digits_run):
    recipe = Recipe.for_run(ecg_run)
    assert (recipe.kind, recipe.unit, recipe.sample_rate, recipe.leads) == ("signal", "windows", 250.0, ["ii", "v1"])
    described = Recipe.for_run(beat_run).describe()
    assert described["beats"] is True and described["beat_s"] == 0.6 and described["filter_hz"] == [0.5, 40]
    assert Recipe.for_run(digits_run).describe()["size_hw"] == [8, 8]


def test_a_record_at_another_rate_is_resampled_from_its_own_rate(ecg_run, make_record, tmp_path):
    path = make_record(tmp_path, "fast_rate", fs=1000)
    x = _replayed(ecg_run, path)
    assert x.shape == (7, 2, 500)  # 8 s at 250 Hz in 2 s windows every 1 s


def test_a_rate_below_the_models_is_refused(ecg_run, make_record, tmp_path):
    path = make_record(tmp_path, "slow_rate", fs=100)
    with pytest.raises(DataError, match="100 Hz, below the 250 Hz"):
        _replayed(ecg_run, path)


def test_a_missing_lead_is_named(ecg_run, make_record, tmp_path):
    path = make_record(tmp_path, "no_v1", leads=["ii", "avr"])
    with pytest.raises(DataError, match="lacks lead v1") as info:
        _replayed(ecg_run, path)
    assert "no_v1" in info.value.message and "ii, v1" in info.value.hint


def test_a_record_shorter_than_a_window_is_refused(ecg_run, make_record, tmp_path):
    path = make_record(tmp_path, "short", keep=slice(0, 600))
    with pytest.raises(DataError, match="longer than record"):
        _replayed(ecg_run, path)


def test_a_truncated_signal_file_is_refused(ecg_run, ecg_records, tmp_path):
    for suffix in (".hea", ".dat"):
        (tmp_path / f"slow_00{suffix}").write_bytes((ecg_records / f"slow_00{suffix}").read_bytes())
    dat = tmp_path / "slow_00.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(DataError, match="slow_00"):
        _replayed(ecg_run, tmp_path / "slow_00.hea")


def test_an_image_is_not_an_ecg(ecg_run, tmp_path):
    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "x.png")
    with pytest.raises(DataError, match="is an image .* trained on signals"):
        _replayed(ecg_run, tmp_path / "x.png")


def test_unnamed_leads_must_match_the_models_count(ecg_run, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("label," + ",".join(f"s{i}" for i in range(4000)) + "\n0," + ",".join(["0.1"] * 4000) + "\n")
    with pytest.raises(DataError, match="has 1 leads without names; run .* takes 2 \\(ii, v1\\)"):
        _replayed(ecg_run, path)
