"""ecg-wfdb with labels: annotations — records and annotations written here with wfdb.wrsamp / wfdb.wrann,
checked beat by beat; record-level splits; every user mistake one line (exit 2, nothing stored); and two
real MIT-BIH records against their annotation files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb
import yaml
from tests.mitdb import MITDB
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.config import DataConfig
from convscope.data import load_data
from convscope.data.ecg import annotated
from convscope.data.ecg.annotated import AAMI_CLASSES, BEAT_SYMBOLS, rr_features
from convscope.data.ecg.rr_intervals import RR_FEATURES
from convscope.errors import ConfigError, DataError
from convscope.store import Store

FS = 100
SECONDS = 20
# record -> (annotation samples, symbols); '+' and '~' are not beats, '?' is a beat outside AAMI's table,
# r1's first beat (sample 10) is too close to the start for a 0.8 s window.
RECORDS = {
    "r1": ([10, 100, 180, 200, 260, 340, 420, 500, 580, 660, 1950],
           ["N", "N", "+", "A", "N", "V", "~", "N", "F", "N", "N"]),
    "r2": ([60, 150, 240, 330, 420, 510, 600, 690, 780, 870, 960, 1050],
           ["N", "L", "R", "a", "V", "E", "?", "j", "J", "S", "N", "N"]),
    "r3": ([50, 140, 230, 320, 410, 500, 590, 680, 770, 860],
           ["N", "V", "N", "A", "N", "F", "N", "N", "V", "N"]),
    "r4": ([50, 150, 250, 350, 450, 550, 650, 750],
           ["N", "N", "V", "N", "S", "N", "N", "V"]),
}


def _signal(name: str) -> np.ndarray:
    """(samples, 2): lead V5 is noise, lead MLII (the second, as in record 114) holds each annotation's
    index at its sample, so a beat's centre value tells which annotation it was cut around."""
    rng = np.random.default_rng(int(name[1:]))
    sig = rng.normal(0, 0.01, size=(SECONDS * FS, 2))
    for i, pos in enumerate(RECORDS[name][0]):
        sig[pos, 1] = 1.0 + i
    return sig


@pytest.fixture(scope="module")
def mitdb_like(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mitdb")
    for name, (samples, symbols) in RECORDS.items():
        wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=["V5", "MLII"], p_signal=_signal(name),
                    fmt=["16", "16"], adc_gain=[1000, 1000], baseline=[0, 0], write_dir=str(root))
        wfdb.wrann(name, "atr", np.array(samples), symbol=symbols, write_dir=str(root))
    return root


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))


def _cfg(root: Path, **options) -> DataConfig:
    base = {"source": "ecg-wfdb", "path": str(root), "labels": "annotations", "leads": ["mlii"],
            "normalize": "none", "beat_s": 0.8, "split": {"train_records": ["r1", "r2", "r3"], "test_records": ["r4"],
                                                        "val": 0.34}}
    return DataConfig(**{**base, **options})


def _load(cfg: DataConfig):
    return annotated.load_annotated(cfg, Path(cfg.path), annotated.WfdbOptions.model_validate(cfg.options))


def test_every_annotated_beat_is_one_sample_centred_on_its_r_peak(mitdb_like):
    source = _load(_cfg(mitdb_like))
    aami = {s: k for k, symbols in enumerate(AAMI_CLASSES.values()) for s in symbols}
    width, half = round(0.8 * FS), round(0.8 * FS) // 2
    expected_y, expected_centre, expected_ids = [], [], []
    for name, (samples, symbols) in RECORDS.items():
        for i, (pos, sym) in enumerate(zip(samples, symbols, strict=True)):
            inside = pos - half >= 0 and pos - half + width <= SECONDS * FS
            if sym in aami and inside:
                expected_y.append(aami[sym])
                expected_centre.append(1.0 + i)
                expected_ids.append(name)
    assert source.class_names == ["N", "S", "V", "F", "Q"]
    assert source.train.x.shape == (len(expected_y), 1, width)
    np.testing.assert_array_equal(source.train.y, expected_y)
    np.testing.assert_allclose(source.train.x[:, 0, half], expected_centre, atol=1e-3)  # MLII, not V5
    assert source.train.ids.tolist() == expected_ids and source.train.groups.tolist() == expected_ids
    assert "2 non-beat annotations" in source.notes[1] and "1 beats of symbols outside the classes (? x1)" in source.notes[1]
    assert "1 beats too close" in source.notes[1]  # r1's first


def test_rr_features_are_appended_to_lead_zero(mitdb_like):
    source = _load(_cfg(mitdb_like, rr_features=True))
    assert source.meta["scalar_inputs"] == len(RR_FEATURES) == 7
    assert source.meta["scalar_names"] == list(RR_FEATURES)  # what the pictures label them with
    tail = source.train.x[source.train.ids == "r4", 0, -7:]  # r4: beats every 100 samples = 1 s
    np.testing.assert_allclose(tail[:, 0], 1.0)  # pre_rr
    np.testing.assert_allclose(tail[:, 4], 1.0)  # pre_ratio
    r1 = source.train.x[source.train.ids == "r1", 0, -7:]
    samples = np.array(RECORDS["r1"][0])
    beats = samples[np.isin(RECORDS["r1"][1], BEAT_SYMBOLS)] / FS
    kept = rr_features(beats)[1:]  # r1's first beat is too close to the start
    np.testing.assert_allclose(r1, kept, rtol=1e-5)


def test_template_channel_is_the_beat_minus_its_records_median_beat(mitdb_like):
    plain, with_template = _load(_cfg(mitdb_like)), _load(_cfg(mitdb_like, template="add"))
    relative = _load(_cfg(mitdb_like, template="subtract"))
    np.testing.assert_array_equal(relative.train.x[:, 0], with_template.train.x[:, 1])
    assert with_template.train.x.shape[1] == 2
    np.testing.assert_array_equal(with_template.train.x[:, 0], plain.train.x[:, 0])
    for name in RECORDS:
        beats = plain.train.x[plain.train.ids == name, 0]  # (B, L)
        np.testing.assert_allclose(with_template.train.x[with_template.train.ids == name, 1],
                                   beats - np.median(beats, axis=0), atol=1e-6)


def test_rr_features_by_hand():
    feats = rr_features(np.array([0.0, 1.0, 2.0, 2.5, 3.5]))
    np.testing.assert_allclose(feats[:, 0], [1, 1, 1, 0.5, 1])  # pre
    np.testing.assert_allclose(feats[:, 1], [1, 1, 0.5, 1, 1])  # post
    np.testing.assert_allclose(feats[:, 2], [1, 1, 1, 3.5 / 4, 4.5 / 5])  # local: mean pre so far
    np.testing.assert_allclose(feats[:, 3], 4.5 / 5)  # average: every beat within 150 s


def test_resampling_moves_the_beats_with_the_signal(mitdb_like):
    source = _load(_cfg(mitdb_like, resample_hz=200))
    assert source.train.x.shape[-1] == 160 and source.meta["sample_rate"] == 200.0
    assert np.argmax(source.train.x[:3, 0], axis=1).tolist() == [80, 80, 80]


def test_second_load_reads_the_cache_keyed_by_options(mitdb_like, monkeypatch):
    first = _load(_cfg(mitdb_like))

    def no_reading(*args, **kwargs):
        raise AssertionError("read the records again")

    monkeypatch.setattr(annotated, "_beats", no_reading)
    again = _load(_cfg(mitdb_like))
    np.testing.assert_array_equal(first.train.x, again.train.x)
    with pytest.raises(AssertionError, match="read the records again"):
        _load(_cfg(mitdb_like, beat_s=0.6))  # other options: another cache entry


def test_record_split_keeps_records_apart_and_carves_validation_by_patient(mitdb_like):
    data = load_data(_cfg(mitdb_like, patients={"p1": ["r1", "r2"]}), seed=0)
    assert data.assignment["test"] == ["r4"]
    assert sorted(data.assignment["train"] + data.assignment["val"]) == ["r1", "r2", "r3"]
    assert data.assignment["val"] in (["r1", "r2"], ["r3"])  # r1 and r2 are one patient: never apart
    assert set(data.ids["test"].tolist()) == {"r4"} and len(data.y_test) == 8


def test_beat_split_mixes_records_and_warns(mitdb_like):
    with pytest.warns(UserWarning, match="inflated by leakage"):
        data = load_data(_cfg(mitdb_like, split={"train_records": ["r1", "r2", "r3"], "test_records": ["r4"],
                                                 "by": "beat", "val": 0.2, "stratify": False}), seed=0)
    assert len(set(data.ids["test"].tolist())) > 1  # the test beats come from several records
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 37  # 8 + 11 + 10 + 8 beats


@pytest.mark.parametrize(("options", "error", "needles"), [
    ({"annotator": "qrs"}, DataError, ["record r1 has no 'qrs' annotation file", "annotator"]),
    ({"classes": {"N": ["N"], "S": ["A", "X"]}}, ConfigError, ["data.classes.S: 'X' is not a WFDB beat symbol"]),
    ({"leads": ["v1"]}, ConfigError, ["'v1' is not a lead of record r1", "mlii"]),
    ({"beat_s": 30}, DataError, ["record r1: 2000 samples (20 s) is shorter than one beat", "beat_s"]),
    ({"exclude_records": ["r9"]}, DataError, ["data.exclude_records: record r9 is not in"]),
    ({"window_s": 5}, ConfigError, ["data.window_s: does not apply to labels: annotations"]),
    ({"split": {"train_records": ["r1"], "test_records": ["r7"]}}, DataError,
     ["data.split.test_records: record r7 is not in", "exclude_records"]),
    ({"split": {"preset": "mitbih-ds1-ds2"}}, DataError, ["data.split.train_records: record 101 is not in"]),
    ({"split": {"preset": "mitbih-ds1"}}, ConfigError, ["unknown split preset 'mitbih-ds1'"]),
    ({"split": {"train_records": ["r1"], "test_records": ["r1"]}}, ConfigError, ["record r1 is in train_records and"]),
])
def test_bad_input_is_one_line_naming_the_record_and_the_fix(mitdb_like, options, error, needles):
    with pytest.raises(error) as exc:
        load_data(_cfg(mitdb_like, **options), seed=0)
    text = str(exc.value) + " " + (exc.value.hint or "")
    for needle in needles:
        assert needle in text


def test_annotation_options_need_labels_annotations(mitdb_like):
    with pytest.raises(ConfigError, match="data.rr_features: applies to labels: annotations only"):
        load_data(DataConfig(source="ecg-wfdb", path=str(mitdb_like), labels={"a": ["r*"]}, rr_features=True), seed=0)


def test_cli_missing_annotation_file_exits_2_and_stores_nothing(mitdb_like, tmp_path):
    (tmp_path / "copy").mkdir()
    for f in mitdb_like.iterdir():
        if f.name != "r2.atr":
            (tmp_path / "copy" / f.name).write_bytes(f.read_bytes())
    cfg = {"name": "beats", "data": {**_cfg(tmp_path / "copy").model_dump(exclude_none=True)},
           "model": {"layers": ["flatten", {"dense": 5}]}, "train": {"epochs": 1}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "record r2 has no 'atr' annotation file" in result.output and "Traceback" not in result.output
    assert Store().runs() == []


@pytest.mark.parametrize("example", sorted((Path(__file__).parents[3] / "examples").glob("mitbih-*.yaml")),
                         ids=lambda p: p.name)
def test_mitbih_examples_run_one_epoch_on_a_written_tree(example, mitdb_like, tmp_path):
    run = convscope.run(example, home=tmp_path / "runs", overrides=[
        f"data.path={mitdb_like}", "data.exclude_records=[]", "data.patients=null", "train.epochs=1",
        "data.split={train_records: [r1, r2, r3], test_records: [r4], val: 0.34}"])
    assert run.status in ("completed", "early_stopped") and run.test_metrics
    assert run.info.assignment["test"] == ["r4"]


@pytest.mark.skipif(not MITDB.is_dir(), reason=f"{MITDB} (MIT-BIH Arrhythmia Database) is not on this machine")
def test_two_real_mitbih_records_match_their_annotation_files(tmp_path):
    root = tmp_path / "two"
    root.mkdir()
    for name in ("100", "114"):
        for ext in ("hea", "dat", "atr"):
            (root / f"{name}.{ext}").symlink_to(MITDB / f"{name}.{ext}")
    source = _load(_cfg(root, split={"train_records": ["100"], "test_records": ["114"]}))
    half = round(0.8 * 360) // 2
    for name in ("100", "114"):
        ann = wfdb.rdann(str(MITDB / name), "atr")
        length = wfdb.rdheader(str(MITDB / name)).sig_len
        beats = [(s, p) for s, p in zip(ann.symbol, ann.sample, strict=True) if s in BEAT_SYMBOLS]
        aami = [s for s, p in beats if half <= p <= length - half and any(s in v for v in AAMI_CLASSES.values())]
        got = source.train.y[source.train.ids == name]
        assert len(got) == len(aami)
        for k, symbols in enumerate(AAMI_CLASSES.values()):
            assert (got == k).sum() == sum(s in symbols for s in aami)
    assert len(source.train.y[source.train.ids == "100"]) == 2271  # 2239 N + 33 A + 1 V, one N at the edge


def test_augmentation_leaves_the_packed_rr_features_alone(mitdb_like, tmp_path, monkeypatch):
    """A time shift would roll the RR features into the beat and noise would change how early a beat is:
    the run's augmentation transforms the signal and passes the scalars through bit for bit."""
    import convscope.api as api

    made = []

    def spy(spec, **kwargs):
        made.append(api_build(spec, **kwargs))
        return made[-1]

    api_build = api.build_augment
    monkeypatch.setattr(api, "build_augment", spy)
    example = Path(__file__).parents[3] / "examples" / "mitbih-ds1-ds2.yaml"
    run = convscope.run(example, home=tmp_path / "runs", overrides=[
        f"data.path={mitdb_like}", "data.exclude_records=[]", "data.patients=null", "train.epochs=1",
        "data.split={train_records: [r1, r2, r3], test_records: [r4], val: 0.34}",
        "data.augment={time_shift: 0.3, scale: [0.5, 2.0], noise: 0.5, baseline_wander: 0.5}"])
    assert run.status == "completed" and len(made) == 1
    source = _load(_cfg(mitdb_like, rr_features=True))
    x = torch.as_tensor(source.train.x)  # (B, 1, L + 7)
    out = made[0](x, torch.Generator().manual_seed(0))
    assert torch.equal(out[..., -7:], x[..., -7:])  # the 7 RR features, untouched
    assert not torch.allclose(out[..., :-7], x[..., :-7])  # the beats were augmented
