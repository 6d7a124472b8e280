"""``Run.predict`` and ``convscope predict``: files in, one row per record out, scored as the run was."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from convscope.api import load_run
from convscope.cli import app
from convscope.errors import ConvscopeError
from convscope.inference import infer_run
from convscope.insight.run_parts import run_data
from convscope.train import metrics as M

runner = CliRunner()


def _test_records(run) -> list[str]:
    return sorted(set(run_data(run).ids["test"]))


def test_predicting_the_test_records_repeats_the_stored_test_confusion(ecg_run, ecg_records):
    names = _test_records(ecg_run)
    rows = ecg_run.predict([ecg_records / f"{n}.hea" for n in names], per="sample")
    prob = np.array([[row["p_slow"], row["p_fast"]] for row in rows])  # (windows, 2)
    labels = np.array([0 if "slow" in row["input"] else 1 for row in rows])
    confusion = M.confusion(labels, prob, threshold=ecg_run.info.threshold)
    assert confusion.tolist() == ecg_run.info.test_confusion


def test_record_rows_average_their_windows(ecg_run, ecg_records):
    path = ecg_records / f"{_test_records(ecg_run)[0]}.hea"
    record = ecg_run.predict(path)
    samples = ecg_run.predict(path, per="sample")
    assert len(record) == 1 and record[0]["n_windows"] == len(samples) == 7
    for k in ("p_slow", "p_fast"):
        assert record[0][k] == pytest.approx(np.mean([s[k] for s in samples]), abs=1e-6)
    threshold = ecg_run.info.threshold
    assert record[0]["predicted"] == ("fast" if record[0]["p_fast"] >= threshold else "slow")
    assert list(pd.DataFrame(record).columns) == ["input", "predicted", "p_slow", "p_fast", "n_windows"]


def test_beats_are_counted_per_record(beat_run, ecg_records):
    rows = beat_run.predict(ecg_records)  # a folder of records
    assert len(rows) == 24 and all(row["n_beats"] >= 4 for row in rows)


def test_npz_rows_with_lead_names_predict_like_the_record(ecg_run, ecg_records, tmp_path):
    import wfdb

    name = _test_records(ecg_run)[0]
    rec = wfdb.rdrecord(str(ecg_records / name))
    np.savez(tmp_path / "rows.npz", x=rec.p_signal.T[None], fs=rec.fs, lead_names=np.array(rec.sig_name),
             ids=np.array([name]))
    from_npz = ecg_run.predict(tmp_path / "rows.npz")[0]
    from_wfdb = ecg_run.predict(ecg_records / f"{name}.hea")[0]
    assert from_npz["p_fast"] == pytest.approx(from_wfdb["p_fast"], abs=1e-5)


def test_images_predict_as_the_test_samples_were_scored(digits_run, tmp_path):
    data = run_data(digits_run)
    x = data.x_test[:4].numpy()  # (4, 1, 8, 8) in [0, 1]
    for i, sample in enumerate(x):
        Image.fromarray(np.round(sample[0] * 255).astype(np.uint8)).save(tmp_path / f"{i}.png")
    rows = digits_run.predict(tmp_path)  # a folder of images
    got = np.array([[row[f"p_{c}"] for c in data.class_names] for row in rows])
    _, expected = infer_run(digits_run, np.round(x * 255) / 255)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_cli_writes_csv_and_json(ecg_run, ecg_records, tmp_path):
    home = str(ecg_run.home)
    out = tmp_path / "preds.csv"
    result = runner.invoke(app, ["predict", str(ecg_run.id), str(ecg_records), "--out", str(out), "--home", home])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 24 and set(table["predicted"]) <= {"slow", "fast"}
    result = runner.invoke(app, ["predict", str(ecg_run.id), str(ecg_records / "slow_00.hea"), "--per", "sample",
                                 "--out", str(tmp_path / "preds.json"), "--home", home])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "preds.json").read_text())
    assert [r["sample"] for r in rows] == list(range(7))
    result = runner.invoke(app, ["predict", str(ecg_run.id), str(ecg_records / "slow_00.hea"), "--home", home])
    assert result.exit_code == 0 and "p_fast" in result.output


def _fails(args: list[str], *, home: str, out) -> str:
    result = runner.invoke(app, [*args, "--out", str(out), "--home", home])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "error:" in result.output
    assert not out.exists() and not list(out.parent.glob(f".{out.name}*"))
    return result.output


def test_cli_bad_inputs_exit_2_and_write_nothing(ecg_run, ecg_records, make_record, tmp_path):
    home, run = str(ecg_run.home), str(ecg_run.id)
    out = tmp_path / "out" / "preds.csv"
    Image.new("L", (8, 8)).save(tmp_path / "photo.png")
    assert "photo.png: is an image" in _fails(["predict", run, str(tmp_path / "photo.png")], home=home, out=out)
    assert "no such file" in _fails(["predict", run, str(tmp_path / "nope.hea")], home=home, out=out)
    lacking = make_record(tmp_path, "lacking", leads=["ii"])
    assert "lacks lead v1" in _fails(["predict", run, str(ecg_records), str(lacking)], home=home, out=out)
    assert "unknown output format" in _fails(["predict", run, str(ecg_records)], home=home, out=tmp_path / "p.xlsx")


def test_a_run_without_weights_cannot_predict(ecg_run, ecg_records, tmp_path):
    home = tmp_path / "copy"
    shutil.copytree(ecg_run.home, home)
    (home / "runs" / str(ecg_run.id) / "best.safetensors").unlink()
    with pytest.raises(ConvscopeError, match="has no stored weights"):
        load_run(ecg_run.id, home=home).predict(ecg_records)
    out = tmp_path / "preds.csv"
    assert "no stored weights" in _fails(["predict", str(ecg_run.id), str(ecg_records)], home=str(home), out=out)
