"""``convscope predict`` on a run trained on ``source: ucr``: the TEST file, in any of the archive's forms,
predicts exactly as the trainer scored it (same missing-value, length and z-score steps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.errors import DataError
from convscope.train import metrics as M

runner = CliRunner()
LENGTH = 48


def _cases(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels -1/1 and series (n, LENGTH): an upright or inverted bump, a few shorter (NaN-padded) and one
    with a missing value inside, so every option of the source has work to do."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, 1, -1)
    t = np.arange(LENGTH)
    x = 3 + y[:, None] * np.exp(-((t - 20) / 4.0) ** 2) + 0.2 * rng.standard_normal((n, LENGTH))
    x[1, 40:] = np.nan  # 40 samples long
    x[4, 44:] = np.nan
    x[2, 10] = np.nan  # missing inside
    return y, x


def _write(path: Path, y: np.ndarray, x: np.ndarray) -> Path:
    if path.suffix == ".ts":  # sktime's form: values, then ':' and the label; '?' for missing, no padding
        rows = [",".join("?" if np.isnan(v) else repr(float(v)) for v in row[: _length(row)]) + f":{label}"
                for label, row in zip(y, x, strict=True)]
        head = ["@problemName TOY", "@univariate true", "@equalLength false", "@classLabel true -1 1", "@data"]
        path.write_text("\n".join(head + rows) + "\n")
        return path
    sep = "\t" if path.suffix == ".tsv" else ","
    path.write_text("\n".join(sep.join([str(label), *(repr(float(v)) for v in row)])
                              for label, row in zip(y, x, strict=True)) + "\n")
    return path


def _length(row: np.ndarray) -> int:
    return int(np.nonzero(np.isfinite(row))[0][-1]) + 1


@pytest.fixture(scope="module")
def ucr_run(tmp_path_factory) -> tuple[convscope.Run, Path]:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("ucr")
    _write(folder / "TOY_TRAIN.tsv", *_cases(40, seed=0))
    test = _write(folder / "TOY_TEST.tsv", *_cases(24, seed=1))
    cfg = {"name": "ucr-toy", "seed": 0,
           "data": {"source": "ucr", "path": str(folder), "split": {"val": 0.25}, "variable_length": "resample",
                    "missing": "interpolate", "normalize": "zscore"},
           "model": {"layers": [{"conv": {"filters": 4, "kernel": 5, "activation": "relu"}}, "global_avg_pool",
                                {"dense": {"units": 2, "activation": "softmax"}}]},
           "train": {"epochs": 2, "batch_size": 16, "health": False}}
    return convscope.run(cfg, home=tmp_path_factory.mktemp("ucr-home")), test


def _probabilities(rows: list[dict]) -> np.ndarray:
    return np.array([[row["p_-1"], row["p_1"]] for row in rows])  # (cases, 2)


def test_predicting_the_test_file_repeats_the_stored_test_confusion(ucr_run):
    run, test = ucr_run
    rows = run.predict(test)
    assert [row["input"] for row in rows] == [f"{test}:{i}" for i in range(24)]
    labels = (_cases(24, seed=1)[0] == 1).astype(int)
    confusion = M.confusion(labels, _probabilities(rows), threshold=run.info.threshold)
    assert confusion.tolist() == run.info.test_confusion


@pytest.mark.parametrize("name", ["TOY_TEST.ts", "TOY_TEST.txt"])
def test_ts_and_comma_files_predict_like_the_tsv(ucr_run, tmp_path, name):
    run, test = ucr_run
    other = _write(tmp_path / name, *_cases(24, seed=1))
    np.testing.assert_allclose(_probabilities(run.predict(other)), _probabilities(run.predict(test)), atol=1e-6)


def test_without_the_sources_steps_predictions_differ(ucr_run, tmp_path):
    """The replay matters: raw (un-z-scored) values of the same cases give other probabilities."""
    run, test = ucr_run
    y, x = _cases(24, seed=1)
    raw = np.nan_to_num(x)[:, None, :].astype(np.float32)  # (24, 1, LENGTH), no interpolation, no z-score
    np.save(tmp_path / "raw.npy", raw)
    assert not np.allclose(_probabilities(run.predict(tmp_path / "raw.npy")), _probabilities(run.predict(test)),
                           atol=1e-3)


def test_a_short_series_is_stretched_as_in_training_through_the_cli(ucr_run, tmp_path):
    run, _ = ucr_run
    short = tmp_path / "SHORT_TEST.tsv"
    short.write_text("1\t" + "\t".join(["0.5", "1.5"] * 5) + "\n")  # 10 samples; the run resampled to 48
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(run.id), str(short), "--out", str(out), "--home", str(run.home)])
    assert result.exit_code == 0, result.output
    assert out.read_text().count("SHORT_TEST.tsv:0") == 1


@pytest.mark.parametrize(("options", "case", "message"), [
    ({}, [[1.0, 2.0, np.nan]], r"x.tsv:3: a series of 2 samples; the run's model was trained on 4 "
                               r"\(data.variable_length: error\)"),
    ({"variable_length": "pad"}, [[1.0, 2.0, 3.0, 4.0, 5.0]], "padding cannot shorten"),
    ({"variable_length": "pad"}, [[1.0, np.nan, 3.0]], r"x.tsv:3: missing values \(NaN\) inside"),
])
def test_what_training_would_refuse_is_refused_naming_the_case(options, case, message):
    from convscope.data.ucr import replay

    with pytest.raises(DataError, match=message):
        replay(np.array([case]), options, shape=(1, 4), name="x.tsv:3")
