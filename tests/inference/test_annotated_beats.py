"""predict on a run trained with ecg-wfdb labels: annotations (beats at R peaks + RR features + template):
records and annotation files written here (NeuroKit2's ECGSYN signal, wfdb.wrsamp + wfdb.wrann), a run
trained one epoch on them, then the test record predicted at its annotated beats (must repeat the stored
test confusion exactly) and at detected R peaks (the beat count must be close to the annotated one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb
from tests.inference.conftest import ecg
from tests.mitdb import MITDB
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.train import metrics as M

FS = 250
RECORDS = ["a1", "a2", "a3", "a4"]
runner = CliRunner()


@pytest.fixture(scope="module")
def annotated_records(tmp_path_factory) -> Path:
    """Four 30 s records; the 'annotations' are ECGSYN's R peaks, every third beat labelled V, the rest N."""
    import neurokit2 as nk

    root = tmp_path_factory.mktemp("annotated")
    for i, name in enumerate(RECORDS):
        sig = ecg(30, FS, 70 + 5 * i, 200 + i)[:, 1:2]  # (samples, 1) lead ii
        _, info = nk.ecg_peaks(sig[:, 0], sampling_rate=FS)
        peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        symbols = ["V" if j % 3 == 2 else "N" for j in range(len(peaks))]
        wfdb.wrsamp(name, fs=FS, units=["mV"], sig_name=["MLII"], p_signal=sig, fmt=["16"], write_dir=str(root))
        wfdb.wrann(name, "atr", peaks, symbol=symbols, write_dir=str(root))
    return root


@pytest.fixture(scope="module")
def annotated_run(annotated_records, tmp_path_factory) -> convscope.Run:
    torch.set_num_threads(1)
    data = {"source": "ecg-wfdb", "path": str(annotated_records), "labels": "annotations", "leads": ["mlii"],
            "beat_s": 0.6, "filter": [0.5, 40], "rr_features": True, "template": "add",
            "classes": {"N": ["N"], "V": ["V"]},
            "split": {"train_records": ["a1", "a2", "a3"], "test_records": ["a4"], "val": 0.34}}
    return _train_beats("beats-annotated", data, scalars=7, home=tmp_path_factory.mktemp("annotated-home"))


def _train_beats(name: str, data: dict, *, scalars: int, home) -> convscope.Run:
    """One epoch of a tiny conv net on the beats, its ``scalars`` RR/beat features joined before the dense head."""
    model = {"layers": [{"with_scalars": {"scalars": scalars, "layers": [
        {"conv": {"filters": 4, "kernel": 7, "activation": "relu"}}, "global_avg_pool"]}},
        {"dense": {"units": 2, "activation": "softmax"}}]}
    cfg = {"name": name, "seed": 0, "data": data, "model": model,
           "train": {"epochs": 1, "batch_size": 32, "health": False}}
    return convscope.run(cfg, home=home)


def test_annotated_beats_repeat_the_stored_test_confusion(annotated_run, annotated_records):
    rows = annotated_run.predict(annotated_records / "a4.hea", per="sample", annotations="atr")
    ann = wfdb.rdann(str(annotated_records / "a4"), "atr")
    kept = [r["r_peak"] for r in rows]
    assert set(kept) <= set(ann.sample.tolist()) and len(kept) >= len(ann.sample) - 2  # edge beats dropped
    assert [r["time_s"] for r in rows[:2]] == [round(k / FS, 4) for k in kept[:2]]
    prob = np.array([[r["p_N"], r["p_V"]] for r in rows])  # (beats, 2)
    labels = np.array([0 if r["reference"] == "N" else 1 for r in rows])
    confusion = M.confusion(labels, prob, threshold=annotated_run.info.threshold)
    assert confusion.tolist() == annotated_run.info.test_confusion


def test_annotated_beats_are_the_training_test_samples_bit_for_bit(annotated_run, annotated_records):
    """Beats, template channels and packed RR features of the test record equal what training fed the model."""
    from convscope.inference.annotated_beats import annotated_beats
    from convscope.inference.readers.wfdb import read_wfdb
    from convscope.inference.recipe import Recipe
    from convscope.insight.run_parts import run_data

    beats = annotated_beats(Recipe.for_run(annotated_run), read_wfdb(annotated_records / "a4.hea")[0],
                            annotations="atr")
    x_test = run_data(annotated_run).x_test.numpy()  # (B, 2 channels, L + 7)
    assert beats.x.shape == x_test.shape and np.array_equal(beats.x, x_test)
    assert np.any(beats.x[:, 0, -7:] != 0) and np.any(beats.x[:, 1] != 0)  # RR features and template are there


def test_detected_r_peaks_give_about_the_annotated_beats(annotated_run, annotated_records):
    [row] = annotated_run.predict(annotated_records / "a4.hea")
    ann = wfdb.rdann(str(annotated_records / "a4"), "atr")
    assert abs(row["n_beats"] - len(ann.sample)) <= 2
    assert row["n_N"] + row["n_V"] == row["n_beats"]
    assert row["predicted"] in ("N", "V")


def test_cli_per_beat_csv_and_annotations_on_a_plain_run_is_one_line(annotated_run, annotated_records, tmp_path):
    home, run_id = str(annotated_run.home), str(annotated_run.id)
    out = tmp_path / "beats.json"
    result = runner.invoke(app, ["predict", run_id, str(annotated_records / "a4.hea"), "--annotations", "atr",
                                 "--per", "sample", "--out", str(out), "--home", home])
    assert result.exit_code == 0, result.output
    beats = json.loads(out.read_text())
    assert {"r_peak", "time_s", "predicted", "p_N", "p_V", "reference"} <= set(beats[0])
    result = runner.invoke(app, ["predict", run_id, str(annotated_records / "a4.hea"), "--annotations", "qrs",
                                 "--home", home])
    assert result.exit_code == 2 and "a4.qrs: record has no 'qrs' annotation file" in result.output


def test_export_takes_the_beats_with_their_rr_features_as_one_tensor(annotated_run, annotated_records, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from convscope.inference.export import export_run

    result = export_run(annotated_run, fmt="onnx", out=tmp_path / "beats.onnx")
    path = result.path
    rows = annotated_run.predict(annotated_records / "a4.hea", per="sample", annotations="atr")
    from convscope.inference.annotated_beats import annotated_beats
    from convscope.inference.readers.wfdb import read_wfdb
    from convscope.inference.recipe import Recipe

    recipe = Recipe.for_run(annotated_run)
    x = annotated_beats(recipe, read_wfdb(annotated_records / "a4.hea")[0], annotations="atr").x  # (B, 2, L + 7)
    session = ort.InferenceSession(str(path))
    [inp] = session.get_inputs()
    out = session.run(None, {inp.name: x})[0]
    sidecar = json.loads(result.sidecar.read_text())
    # the exported graph is fp32; the run evaluates in its training precision (bf16 where the CPU has it)
    gap = 1e-4 if sidecar["trained_precision"] == "fp32" else 1e-2
    assert np.allclose(torch.softmax(torch.from_numpy(out), 1).numpy()[:, 1], [r["p_V"] for r in rows], atol=gap)
    assert sidecar["preprocessing"]["rr_features"][0] == "pre_rr"


@pytest.fixture(scope="module")
def rhythm_run(annotated_records, tmp_path_factory) -> convscope.Run:
    """The run above with named RR features, the rhythm's among them, and the template subtracted."""
    torch.set_num_threads(1)
    data = {"source": "ecg-wfdb", "path": str(annotated_records), "labels": "annotations", "leads": ["mlii"],
            "beat_s": 0.6, "filter": [0.5, 40], "rr_features": ["pre_ratio", "rr_spread", "pre_z"],
            "template": "subtract", "classes": {"N": ["N"], "V": ["V"]},
            "split": {"train_records": ["a1", "a2", "a3"], "test_records": ["a4"], "val": 0.34}}
    model = {"layers": [{"with_scalars": {"scalars": 3, "layers": [
        {"conv": {"filters": 4, "kernel": 7, "activation": "relu"}}, "global_avg_pool"]}},
        {"dense": {"units": 2, "activation": "softmax"}}]}
    cfg = {"name": "beats-rhythm", "seed": 0, "data": data, "model": model,
           "train": {"epochs": 1, "batch_size": 32, "health": False, "class_weight": {"balanced": 0.5}}}
    return convscope.run(cfg, home=tmp_path_factory.mktemp("rhythm-home"))


def test_named_rr_features_are_replayed_bit_for_bit(rhythm_run, annotated_records):
    from convscope.inference.annotated_beats import annotated_beats
    from convscope.inference.readers.wfdb import read_wfdb
    from convscope.inference.recipe import Recipe
    from convscope.insight.run_parts import run_data

    recipe = Recipe.for_run(rhythm_run)
    beats = annotated_beats(recipe, read_wfdb(annotated_records / "a4.hea")[0], annotations="atr")
    x_test = run_data(rhythm_run).x_test.numpy()  # (B, 1, L + 3)
    assert beats.x.shape == x_test.shape and np.array_equal(beats.x, x_test)
    assert np.any(beats.x[:, 0, -1] != 0)  # pre_z: every third beat is labelled V, not every third early
    assert recipe.describe()["rr_features"] == ["pre_ratio", "rr_spread", "pre_z"]
    assert "(N, C, L + 3)" in recipe.describe()["rr_layout"]
    rows = rhythm_run.predict(annotated_records / "a4.hea", per="sample", annotations="atr")
    prob = np.array([[r["p_N"], r["p_V"]] for r in rows])  # (beats, 2)
    labels = np.array([0 if r["reference"] == "N" else 1 for r in rows])
    assert M.confusion(labels, prob, threshold=rhythm_run.info.threshold).tolist() == rhythm_run.info.test_confusion
    [row] = rhythm_run.predict(annotated_records / "a4.hea")  # detected R peaks
    assert row["n_N"] + row["n_V"] == row["n_beats"] > 0


@pytest.mark.skipif(not MITDB.is_dir(), reason=f"{MITDB} (MIT-BIH Arrhythmia Database) is not on this machine")
def test_real_mitbih_records_predict_at_annotated_and_detected_beats(tmp_path):
    """examples/mitbih-ds1-ds2.yaml for one epoch on 3 + 2 real records (linked into a folder)."""
    root = tmp_path / "mitdb"
    root.mkdir()
    for record in ("100", "101", "106", "119", "200"):
        for ext in ("atr", "dat", "hea"):
            (root / f"{record}.{ext}").symlink_to(MITDB / f"{record}.{ext}")
    example = Path(__file__).parents[2] / "examples" / "mitbih-ds1-ds2.yaml"
    run = convscope.run(example, home=tmp_path / "runs", overrides=[
        f"data.path={root}", "data.exclude_records=[]", "data.patients=null", "train.epochs=1",
        "data.split={train_records: [101, 106, 119], test_records: [100, 200], val: 0.34}"])
    tests = [root / "100.hea", root / "200.hea"]
    rows = run.predict(tests, per="sample", annotations="atr")
    names = run.info.class_names
    labels = np.array([names.index(r["reference"]) for r in rows])
    prob = np.array([[r[f"p_{c}"] for c in names] for r in rows])  # (beats, 4)
    assert M.confusion(labels, prob, threshold=run.info.threshold).tolist() == run.info.test_confusion
    for row in run.predict(tests):  # NeuroKit2's R peaks: 2270 of 2273 and 2596 of 2601 beats when measured
        ann = wfdb.rdann(row["input"], "atr")
        assert abs(row["n_beats"] - int(np.isin(ann.symbol, list("NLRejAaJSVEF")).sum())) <= 0.01 * row["n_beats"]


@pytest.fixture(scope="module")
def two_lead_records(tmp_path_factory) -> Path:
    """Four 30 s two-lead records whose second lead is V1, V5 or V2 (and MLII second in b2, as in MIT-BIH's
    114); the 'annotations' are ECGSYN's R peaks, every third beat labelled V."""
    import neurokit2 as nk

    root = tmp_path_factory.mktemp("two-leads")
    layouts = {"b1": ["MLII", "V1"], "b2": ["V5", "MLII"], "b3": ["MLII", "V2"], "b4": ["MLII", "V5"]}
    for i, (name, leads) in enumerate(layouts.items()):
        v1, ii, _ = ecg(30, FS, 70 + 5 * i, 300 + i).T
        sig = np.stack([ii, v1] if leads[0] == "MLII" else [v1, ii], axis=1)  # (samples, 2)
        _, info = nk.ecg_peaks(ii, sampling_rate=FS)
        peaks = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        symbols = ["V" if j % 3 == 2 else "N" for j in range(len(peaks))]
        wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=leads, p_signal=sig, fmt=["16", "16"],
                    write_dir=str(root))
        wfdb.wrann(name, "atr", peaks, symbol=symbols, write_dir=str(root))
    wfdb.wrsamp("b5", fs=FS, units=["mV", "mV"], sig_name=["MLII", "V3"], p_signal=np.zeros((FS * 10, 2)),
                fmt=["16", "16"], write_dir=str(root))  # a record with none of the second channel's leads
    return root


@pytest.fixture(scope="module")
def two_lead_run(two_lead_records, tmp_path_factory) -> convscope.Run:
    """Two channels (MLII, and V1 or V5 or V2), each minus its record's median beat, 7 RR features and the
    QRS-shape features of both leads: 7 + 2 x 2 scalars."""
    torch.set_num_threads(1)
    data = {"source": "ecg-wfdb", "path": str(two_lead_records), "labels": "annotations",
            "leads": ["mlii", {"any_of": ["v1", "v2", "v5"]}], "beat_s": 0.6, "filter": [0.5, 40],
            "normalize": "record", "rr_features": True, "template": "subtract",
            "beat_features": ["qrs_width_ratio", "template_corr"], "classes": {"N": ["N"], "V": ["V"]},
            "exclude_records": ["b5"], "split": {"train_records": ["b1", "b2", "b3"], "test_records": ["b4"], "val": 0.34}}
    return _train_beats("beats-two-leads", data, scalars=11, home=tmp_path_factory.mktemp("two-lead-home"))


def test_a_two_lead_run_with_beat_features_predicts_its_test_beats_bit_for_bit(two_lead_run, two_lead_records):
    from convscope.inference.annotated_beats import annotated_beats
    from convscope.inference.readers.wfdb import read_wfdb
    from convscope.inference.recipe import Recipe
    from convscope.insight.run_parts import run_data

    recipe = Recipe.for_run(two_lead_run)
    assert recipe.leads == ["mlii", "v1|v2|v5"] and recipe.input_shape == (2, 150 + 11)
    beats = annotated_beats(recipe, read_wfdb(two_lead_records / "b4.hea")[0], annotations="atr")
    x_test = run_data(two_lead_run).x_test.numpy()  # (B, 2, L + 11): b4's second channel is its V5
    assert beats.x.shape == x_test.shape and np.array_equal(beats.x, x_test)
    assert np.any(beats.x[:, 1, :150] != 0) and np.any(beats.x[:, 0, -4:] != 0)  # lead 2 and beat features
    described = recipe.describe()
    assert described["beat_features"] == ["qrs_width_ratio[mlii]", "template_corr[mlii]",
                                          "qrs_width_ratio[v1|v2|v5]", "template_corr[v1|v2|v5]"]
    assert "(N, C, L + 11)" in described["rr_layout"]
    rows = two_lead_run.predict(two_lead_records / "b4.hea", per="sample", annotations="atr")
    prob = np.array([[r["p_N"], r["p_V"]] for r in rows])  # (beats, 2)
    labels = np.array([0 if r["reference"] == "N" else 1 for r in rows])
    assert M.confusion(labels, prob, threshold=two_lead_run.info.threshold).tolist() == two_lead_run.info.test_confusion
    [row] = two_lead_run.predict(two_lead_records / "b2.hea")  # detected R peaks; MLII is b2's second signal
    assert row["n_N"] + row["n_V"] == row["n_beats"] > 0


def test_predicting_a_record_lacking_every_listed_lead_is_one_line(two_lead_run, two_lead_records):
    result = runner.invoke(app, ["predict", str(two_lead_run.id), str(two_lead_records / "b5.hea"),
                                 "--home", str(two_lead_run.home)])
    assert result.exit_code == 2, result.output
    assert "b5: lacks lead v1|v2|v5" in result.output and "(it has: mlii, v3)" in result.output
    assert "Traceback" not in result.output
