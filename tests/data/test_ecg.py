"""ECG sources on generated PTB-like / PTB-XL-like trees (written with wfdb.wrsamp) and beat CSVs,
every pipeline step on signals with known answers, the error messages, and the no-leak split."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from scipy.signal import welch

from convscope.config import DataConfig
from convscope.data import load_data
from convscope.data.ecg import (
    LEAD_NAMES,
    LEAKAGE_WARNING,
    bandpass,
    cut_beats,
    load_beats,
    load_ecg_csv,
    load_ecg_npz,
    load_wfdb,
    r_peaks,
    remove_baseline,
    resample,
    sliding_windows,
    zscore,
)
from convscope.errors import ConfigError, DataError

# patient -> (reason for admission, records); 7 MI, 5 controls, 2 others, several records each
PTB_PATIENTS = {f"patient{i:03d}": ("Myocardial infarction", 2 + i % 2) for i in range(1, 8)}
PTB_PATIENTS |= {f"patient{i:03d}": ("Healthy control", 2 + i % 2) for i in range(8, 13)}
PTB_PATIENTS |= {"patient013": ("Cardiomyopathy", 2), "patient014": ("Bundle branch block", 1)}
PTB_SECONDS, PTB_FS = 6, 1000  # long enough for the example's 5 s windows


def lead_signal(k: int, t: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """Lead k: a 2 Hz sine of amplitude 0.1 (k + 1) mV, so a lead is recognisable by its size."""
    return (k + 1) * 0.1 * np.sin(2 * np.pi * 2 * t) + offset


@pytest.fixture(scope="module")
def ptb_tree(tmp_path_factory):
    """A PTB Diagnostic-like tree: patientNNN/sNNNNlre.hea/.dat, 15 leads at 1000 Hz, RECORDS."""
    root = tmp_path_factory.mktemp("ptb-diagnostic-ecg-database-1.0.0")
    t = np.arange(PTB_SECONDS * PTB_FS) / PTB_FS
    names, number = [], 0
    for patient, (reason, n_records) in PTB_PATIENTS.items():
        (root / patient).mkdir()
        for _ in range(n_records):
            number += 1
            name = f"s{number:04d}_re"
            sig = np.stack([lead_signal(k, t, offset=0.01 * number) for k in range(15)], axis=1)  # (samples, 15)
            wfdb.wrsamp(name, fs=PTB_FS, units=["mV"] * 15, sig_name=list(LEAD_NAMES), p_signal=sig,
                        fmt=["16"] * 15, write_dir=str(root / patient),
                        comments=["age: 60", "sex: male", "ECG date: 01/01/1990", f"Reason for admission: {reason}"])
            names.append(f"{patient}/{name}")
    (root / "RECORDS").write_text("\n".join(names) + "\n")
    return root


PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
# ecg_id -> (patient_id, scp_codes as PTB-XL writes them, strat_fold)
PTBXL_ROWS = {
    1: (15709.0, "{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}", 3),
    2: (13243.0, "{'NORM': 80.0, 'SBRAD': 0.0}", 2),
    3: (20372.0, "{'IMI': 100.0, 'ABQRS': 0.0, 'SR': 0.0}", 9),
    4: (17014.0, "{'ASMI': 50.0, 'NDT': 100.0, 'SR': 0.0}", 10),
    5: (17448.0, "{'LVH': 100.0, 'SR': 0.0}", 1),
    6: (19005.0, "{'CLBBB': 100.0}", 5),
    7: (15709.0, "{'NORM': 100.0, 'SR': 0.0}", 3),  # the same patient as record 1, the same fold
    8: (11111.0, "{'IMI': 100.0, 'NORM': 100.0}", 8),  # a tie: MI wins over NORM
    9: (22222.0, "{'SR': 0.0}", 10),  # no diagnostic statement: dropped
    10: (33333.0, "{'NORM': 100.0}", 10),
    11: (44444.0, "{'AMI': 100.0}", 4),
    12: (55555.0, "{'NORM': 100.0, 'SR': 0.0}", 9),
}
SCP = pd.DataFrame(
    {"description": ["normal ECG", "inferior MI", "anteroseptal MI", "anterior MI", "non-diagnostic T",
                     "left ventricular hypertrophy", "complete LBBB", "low QRS voltage", "sinus rhythm",
                     "sinus bradycardia", "abnormal QRS"],
     "diagnostic": [1, 1, 1, 1, 1, 1, 1, None, None, None, None],
     "diagnostic_class": ["NORM", "MI", "MI", "MI", "STTC", "HYP", "CD", None, None, None, None]},
    index=["NORM", "IMI", "ASMI", "AMI", "NDT", "LVH", "CLBBB", "LVOLT", "SR", "SBRAD", "ABQRS"])


@pytest.fixture(scope="module")
def ptbxl_tree(tmp_path_factory):
    """A PTB-XL-like tree: ptbxl_database.csv, scp_statements.csv, records100/00000/NNNNN_lr."""
    root = tmp_path_factory.mktemp("ptb-xl-1.0.3")
    (root / "records100" / "00000").mkdir(parents=True)
    t = np.arange(1000) / 100
    rows = []
    for ecg_id, (patient, codes, fold) in PTBXL_ROWS.items():
        sig = np.stack([lead_signal(k, t) for k in range(12)], axis=1)  # (1000, 12)
        wfdb.wrsamp(f"{ecg_id:05d}_lr", fs=100, units=["mV"] * 12, sig_name=PTBXL_LEADS, p_signal=sig,
                    fmt=["16"] * 12, write_dir=str(root / "records100" / "00000"))
        rows.append({"ecg_id": ecg_id, "patient_id": patient, "age": 50, "scp_codes": codes, "strat_fold": fold,
                     "filename_lr": f"records100/00000/{ecg_id:05d}_lr",
                     "filename_hr": f"records500/00000/{ecg_id:05d}_hr"})
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    SCP.to_csv(root / "scp_statements.csv")
    return root


def ptb_cfg(root, **options) -> DataConfig:
    options.setdefault("split", {"group_by": "patient"})
    return DataConfig(source="ecg-wfdb", path=str(root), **options)


# ---------------------------------------------------------------------------------------------
# Pipeline steps


def test_resample_1000_to_250_keeps_length_amplitude_and_frequency():
    fs, seconds = 1000, 4
    t = np.arange(fs * seconds) / fs
    sig = 1.3 * np.sin(2 * np.pi * 5 * t)[None]  # (1, 4000)
    out = resample(sig, fs, 250)
    assert out.shape == (1, 1000)
    middle = out[0, 100:-100]  # away from the filter's edge transients
    assert abs(np.abs(middle).max() - 1.3) < 0.01
    freqs, power = welch(out[0], fs=250, nperseg=1000)
    assert freqs[np.argmax(power)] == pytest.approx(5.0)
    for target, length in ((125, 500), (100, 400)):
        assert resample(sig, fs, target).shape == (1, length)


def test_resample_is_anti_aliased():
    fs = 1000
    t = np.arange(4 * fs) / fs
    sig = np.sin(2 * np.pi * 200 * t)[None]  # above 250 Hz's Nyquist (125 Hz): must vanish, not alias to 50 Hz
    out = resample(sig, fs, 250)
    assert np.abs(out[0, 100:-100]).max() < 0.01
    assert np.abs(sig[0, ::4]).max() > 0.5  # what naive decimation would have kept


def test_bandpass_removes_drift_and_mains_and_keeps_the_band():
    fs = 500
    t = np.arange(60 * fs) / fs
    band = np.sin(2 * np.pi * 10 * t)
    drift, mains = 2.0 * np.sin(2 * np.pi * 0.1 * t), 0.5 * np.sin(2 * np.pi * 60 * t)
    out = bandpass((band + drift + mains)[None], fs, 0.5, 40)[0]
    freqs, power = welch(out, fs=fs, nperseg=20 * fs)
    _, before = welch(band + drift + mains, fs=fs, nperseg=20 * fs)

    def at(f):
        return int(np.argmin(np.abs(freqs - f)))

    assert power[at(0.1)] < 0.01 * before[at(0.1)]
    assert power[at(60)] < 0.01 * before[at(60)]
    assert power[at(10)] == pytest.approx(before[at(10)], rel=0.05)
    core = slice(5 * fs, -5 * fs)
    assert np.abs(out[core] - band[core]).max() < 0.05  # zero-phase: no shift of the kept wave


def test_bandpass_high_cut_above_nyquist_is_a_config_error():
    with pytest.raises(ConfigError, match="Nyquist frequency 50 Hz"):
        bandpass(np.zeros((1, 1000)), 100, 0.5, 60)


def test_baseline_removal_takes_out_wander_but_keeps_the_beats():
    import neurokit2 as nk

    fs = 250
    ecg = nk.ecg_simulate(duration=20, sampling_rate=fs, heart_rate=70, noise=0, random_state=3)
    t = np.arange(len(ecg)) / fs
    wander = 0.8 * np.sin(2 * np.pi * 0.2 * t)
    out = remove_baseline((ecg + wander)[None], fs)[0]
    clean = remove_baseline(ecg[None], fs)[0]
    residual = out - clean
    assert np.sqrt(np.mean(residual**2)) < 0.15 * np.sqrt(np.mean(wander**2))  # >85% of the wander is gone
    assert np.ptp(out) > 0.9 * np.ptp(ecg)  # QRS amplitude kept


@pytest.mark.parametrize(("length", "window", "stride"), [(750, 250, 125), (750, 250, 250), (1000, 300, 70),
                                                          (250, 250, 50)])
def test_window_count_and_content(length, window, stride):
    fs = 250
    sig = np.arange(2 * length, dtype=float).reshape(2, length)  # (leads, samples)
    windows, starts = sliding_windows(sig, fs, window / fs, stride / fs)
    assert windows.shape == ((length - window) // stride + 1, 2, window)
    for w, s in zip(windows, starts, strict=True):
        np.testing.assert_array_equal(w, sig[:, s:s + window])


def test_window_longer_than_record_names_the_numbers():
    with pytest.raises(DataError, match=r"window_s: 5 s \(1250 samples at 250 Hz\) is longer than r1 "
                                        r"\(750 samples = 3 s\)") as err:
        sliding_windows(np.zeros((1, 750)), 250, 5, record="r1")
    assert "window_s <= 3" in err.value.hint


def test_zscore_per_lead():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(4, 2, 500)) * np.array([1.0, 10.0])[:, None]  # (windows, leads, samples)
    z = zscore(x)
    np.testing.assert_allclose(z.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=-1), 1, atol=1e-12)
    assert np.all(zscore(np.ones((1, 1, 10))) == 0)  # a flat lead stays finite


def test_beats_are_centred_on_r_peaks():
    import neurokit2 as nk

    fs = 250
    ecg = nk.ecg_simulate(duration=10, sampling_rate=fs, heart_rate=70, noise=0.01, random_state=1)
    peaks = r_peaks(ecg, fs)
    assert 10 <= len(peaks) <= 13  # ~70 bpm for 10 s
    for p in peaks[1:-1]:
        around = ecg[p - 12:p + 13]  # +-50 ms
        assert ecg[p] == around.max()  # the R peak is the local maximum
    beats = cut_beats(ecg[None, None], np.array([0]), peaks, 200)  # (B, 1, 200)
    inside = peaks[(peaks >= 100) & (peaks + 100 <= len(ecg))]
    assert beats.shape == (len(inside), 1, 200)
    np.testing.assert_array_equal(beats[:, 0, 100], ecg[inside])  # sample beat_len // 2 is R


# ---------------------------------------------------------------------------------------------
# ecg-wfdb, layout ptb


def test_ptb_labels_groups_and_ids(ptb_tree):
    src = load_wfdb(ptb_cfg(ptb_tree, leads=["II"], normalize="none"))
    assert src.meta["layout"] == "ptb" and src.class_names == ["control", "mi"]
    n_mi = sum(n for reason, n in PTB_PATIENTS.values() if reason == "Myocardial infarction")
    n_control = sum(n for reason, n in PTB_PATIENTS.values() if reason == "Healthy control")
    assert src.train.x.shape == (n_mi + n_control, 1, PTB_SECONDS * PTB_FS)
    assert src.train.x.dtype == np.float32
    assert (src.train.y == 1).sum() == n_mi
    for y, group, rid in zip(src.train.y, src.train.groups, src.train.ids, strict=True):
        assert rid.startswith(group + "/s")  # patient from the folder, id = record path
        assert (PTB_PATIENTS[group][0] == "Myocardial infarction") == (y == 1)
    assert "patient013" not in set(src.train.groups)  # other diagnoses dropped by default
    assert any("3 records dropped" in n and "Cardiomyopathy x2" in n for n in src.notes)
    assert src.val is None and src.test is None  # PTB has no official split: splits.py carves by patient


def test_ptb_other_diagnoses_and_custom_labels(ptb_tree):
    src = load_wfdb(ptb_cfg(ptb_tree, layout="ptb", diagnoses="other", leads=["ii"]))
    assert src.class_names == ["control", "mi", "other"]
    assert set(src.train.groups[src.train.y == 2]) == {"patient013", "patient014"}
    src = load_wfdb(ptb_cfg(ptb_tree, labels={"mi": ["myocardial infarction"], "conduction": ["Bundle branch block"]},
                            leads=["ii"]))
    assert src.class_names == ["mi", "conduction"]
    assert set(src.train.groups[src.train.y == 1]) == {"patient014"}


def test_ptb_leads_become_channels_in_the_asked_order(ptb_tree):
    src = load_wfdb(ptb_cfg(ptb_tree, leads=["v1", "II", "vz"], normalize="none"))
    amplitude = src.train.x[0].max(axis=-1) - src.train.x[0].min(axis=-1)
    expected = np.array([LEAD_NAMES.index(n) + 1 for n in ("v1", "ii", "vz")]) * 0.2  # peak-to-peak of (k+1)*0.1
    np.testing.assert_allclose(amplitude, expected, rtol=1e-3)
    assert src.meta["leads"] == ["v1", "ii", "vz"]


def test_ptb_pipeline_resample_window_normalize(ptb_tree):
    src = load_wfdb(ptb_cfg(ptb_tree, leads=["ii"], resample_hz=250, filter=[0.5, 40], window_s=1, stride_s=0.5))
    per_record = (PTB_SECONDS * 250 - 250) // 125 + 1
    n_records = len(set(src.train.ids))
    assert src.train.x.shape == (n_records * per_record, 1, 250)
    assert src.meta["sample_rate"] == 250 and src.meta["aggregate"] == "mean"
    np.testing.assert_allclose(src.train.x.mean(axis=-1), 0, atol=1e-5)
    np.testing.assert_allclose(src.train.x.std(axis=-1), 1, atol=1e-3)
    for rid in set(src.train.ids):  # windows inherit the record's label and patient
        rows = src.train.ids == rid
        assert rows.sum() == per_record
        assert len(set(src.train.y[rows])) == 1 and len(set(src.train.groups[rows])) == 1


def test_ptb_record_normalization_uses_the_record_statistics(ptb_tree):
    src = load_wfdb(ptb_cfg(ptb_tree, leads=["ii"], window_s=0.25, normalize="record", aggregate="none"))
    one = src.train.x[src.train.ids == src.train.ids[0]]  # (windows, 1, 250): a 2 Hz sine cut in quarters
    assert not np.allclose(one.mean(axis=-1), 0, atol=0.1)  # windows are not each centred ...
    whole = np.concatenate(list(one), axis=-1)
    assert abs(whole.mean()) < 1e-3 and whole.std() == pytest.approx(1, rel=1e-3)  # ... the record is
    assert src.meta["aggregate"] == "none"


def test_ptb_beats_option_cuts_centred_beats(tmp_path):
    import neurokit2 as nk

    patient = tmp_path / "patient001"
    patient.mkdir()
    for i, reason in enumerate(["Myocardial infarction", "Healthy control"]):
        ecg = nk.ecg_simulate(duration=8, sampling_rate=500, heart_rate=75, noise=0.01, random_state=i)
        wfdb.wrsamp(f"s000{i}_re", fs=500, units=["mV"], sig_name=["ii"], p_signal=ecg[:, None], fmt=["16"],
                    write_dir=str(patient), comments=[f"Reason for admission: {reason}"])
    src = load_wfdb(ptb_cfg(tmp_path, layout="ptb", beats=True, beat_s=0.6, resample_hz=250))
    assert src.train.x.shape[1:] == (1, 150)
    assert 12 <= len(src.train) <= 20  # ~10 beats per 8 s record, the first and last may not fit
    assert np.all(src.train.x[:, 0, 75] >= src.train.x[:, 0, 70:81].max(axis=-1) - 1e-6)  # R at the centre
    assert src.meta["aggregate"] == "mean"


def test_ptb_unknown_lead_lists_the_record_leads(ptb_tree):
    with pytest.raises(ConfigError, match="'v7' is not a lead of record patient001/s0001_re") as err:
        load_wfdb(ptb_cfg(ptb_tree, leads=["v7"]))
    assert "i, ii, iii, avr, avl, avf, v1" in str(err.value) and "vz" in str(err.value)


def test_ptb_window_longer_than_record(ptb_tree):
    with pytest.raises(DataError, match=r"window_s: 10 s \(10000 samples at 1000 Hz\) is longer than record "
                                        r"patient001/s0001_re \(6000 samples = 6 s\)"):
        load_wfdb(ptb_cfg(ptb_tree, leads=["ii"], window_s=10))


def test_ptb_missing_folder_and_files(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_wfdb(ptb_cfg(tmp_path / "nope", layout="ptb"))
    with pytest.raises(DataError, match="expected RECORDS and patientNNN/sNNNNxxx.hea") as err:
        load_wfdb(ptb_cfg(tmp_path, layout="ptb"))
    assert "ptb-diagnostic-ecg-database-1.0.0" in err.value.hint
    (tmp_path / "RECORDS").write_text("patient001/s0001_re\n")
    with pytest.raises(DataError, match=r"patient001/s0001_re.hea: missing \(listed in RECORDS\)"):
        load_wfdb(ptb_cfg(tmp_path, layout="ptb"))
    with pytest.raises(ConfigError, match="data.path: source 'ecg-wfdb' needs a path"):
        load_wfdb(DataConfig(source="ecg-wfdb"))


def test_unknown_and_misplaced_options_are_config_errors(ptb_tree):
    with pytest.raises(ConfigError, match="data.resample: unknown option for source 'ecg-wfdb'") as err:
        load_wfdb(ptb_cfg(ptb_tree, resample=250))
    assert "did you mean 'resample_hz'" in err.value.hint
    with pytest.raises(ConfigError, match="data.task: applies to layout ptbxl only"):
        load_wfdb(ptb_cfg(ptb_tree, task="superclass"))
    with pytest.raises(ConfigError, match="data.normalize"):
        load_wfdb(ptb_cfg(ptb_tree, normalize="global"))
    with pytest.raises(ConfigError, match="low cut 40.0 Hz must be below high cut 0.5 Hz"):
        load_wfdb(ptb_cfg(ptb_tree, filter=[40, 0.5]))


def test_records_of_different_lengths_need_window_s(tmp_path):
    for i, seconds in enumerate([2, 3]):
        sig = np.sin(np.arange(seconds * 100) / 10)[:, None]
        wfdb.wrsamp(f"rec{i}", fs=100, units=["mV"], sig_name=["ii"], p_signal=sig, fmt=["16"], write_dir=str(tmp_path))
    config = {"labels": {"a": ["rec0"], "b": ["rec1"]}, "split": {"group_by": "patient"}}
    with pytest.raises(DataError, match="different shapes") as err:
        load_wfdb(DataConfig(source="ecg-wfdb", path=str(tmp_path), **config))
    assert "window_s" in err.value.hint
    src = load_wfdb(DataConfig(source="ecg-wfdb", path=str(tmp_path), window_s=1, **config))
    assert src.meta["layout"] == "flat" and src.train.x.shape == (5, 1, 100) and src.meta["leads"] == ["ii"]


def test_grouped_records_without_group_by_warn_about_leakage(ptb_tree):
    with pytest.warns(UserWarning, match="group_by is not set"):
        src = load_wfdb(DataConfig(source="ecg-wfdb", path=str(ptb_tree), leads=["ii"], window_s=1))
    assert any("leakage" in note for note in src.notes)


# ---------------------------------------------------------------------------------------------
# ecg-wfdb, layout ptbxl


def test_ptbxl_folds_labels_and_patients(ptbxl_tree):
    src = load_wfdb(DataConfig(source="ecg-wfdb", path=str(ptbxl_tree), leads=["ii", "v2"]))
    assert src.meta["layout"] == "ptbxl" and src.class_names == ["NORM", "MI", "STTC", "CD", "HYP"]
    by_id = {}
    for part_name in ("train", "val", "test"):
        part = getattr(src, part_name)
        for rid, y, g in zip(part.ids, part.y, part.groups, strict=True):
            by_id[int(rid.split("/")[-1][:5])] = (part_name, src.class_names[y], g)
    assert by_id[1] == ("train", "NORM", "15709") and by_id[7] == ("train", "NORM", "15709")
    assert by_id[3] == ("val", "MI", "20372")  # fold 9
    assert by_id[4][:2] == ("test", "STTC")  # fold 10; NDT (100) beats ASMI (50)
    assert by_id[5][1] == "HYP" and by_id[6][1] == "CD" and by_id[8][1] == "MI"  # the tie goes to MI
    assert 9 not in by_id  # no diagnostic statement
    assert src.train.x.shape[1:] == (2, 1000) and src.meta["sample_rate"] == 100
    assert any("1 records dropped" in n for n in src.notes)


def test_ptbxl_mi_vs_norm_and_subsets(ptbxl_tree):
    src = load_wfdb(DataConfig(source="ecg-wfdb", path=str(ptbxl_tree), task="mi-vs-norm"))
    assert src.class_names == ["NORM", "MI"] and src.train.x.shape[1] == 12
    assert src.meta["leads"] == [n.lower() for n in PTBXL_LEADS]  # every lead when leads is not given
    ids = {int(i.split("/")[-1][:5]): y for part in (src.train, src.val, src.test) for i, y in zip(part.ids, part.y,
                                                                                                 strict=True)}
    assert ids == {1: 0, 2: 0, 3: 1, 4: 1, 7: 0, 10: 0, 11: 1, 12: 0}  # 8 has NORM and MI: ambiguous, dropped
    src = load_wfdb(DataConfig(source="ecg-wfdb", path=str(ptbxl_tree), labels=["NORM", "MI"], folds=None,
                               leads=["ii"], split={"group_by": "patient"}))
    assert src.val is None and src.test is None and len(src.train) == 8  # NORM: 1, 2, 7, 10, 12; MI: 3, 8, 11
    assert src.class_names == ["NORM", "MI"]


def test_ptbxl_missing_files(tmp_path, ptbxl_tree):
    (tmp_path / "ptbxl_database.csv").write_text("ecg_id\n")
    with pytest.raises(DataError, match="missing scp_statements.csv") as err:
        load_wfdb(DataConfig(source="ecg-wfdb", path=str(tmp_path)))
    assert "ptb-xl-1.0.3" in err.value.hint
    with pytest.raises(DataError, match=r"missing records500/ \(sampling: 500\)"):
        load_wfdb(DataConfig(source="ecg-wfdb", path=str(ptbxl_tree), sampling=500))
    with pytest.raises(ConfigError, match="BAD is not a PTB-XL superclass"):
        load_wfdb(DataConfig(source="ecg-wfdb", path=str(ptbxl_tree), labels=["NORM", "BAD"]))


# ---------------------------------------------------------------------------------------------
# ecg-beats, ecg-npz, ecg-csv


def write_beats(folder, n=20):
    rng = np.random.default_rng(0)
    for name, label in (("ptbdb_normal.csv", 0), ("ptbdb_abnormal.csv", 1)):
        table = np.column_stack([rng.uniform(0, 1, size=(n, 187)), np.full(n, float(label))])
        np.savetxt(folder / name, table, delimiter=",", fmt="%.6e")


def test_beats_csvs_load_and_warn_about_leakage(tmp_path):
    write_beats(tmp_path)
    with pytest.warns(UserWarning, match="accuracy is inflated by leakage"):
        src = load_beats(DataConfig(source="ecg-beats", path=str(tmp_path)))
    assert src.train.x.shape == (40, 1, 187) and src.class_names == ["normal", "abnormal"]
    assert np.bincount(src.train.y).tolist() == [20, 20]
    assert LEAKAGE_WARNING in src.notes and src.meta["leakage"] and src.train.groups is None
    with pytest.warns(UserWarning):
        one = load_beats(DataConfig(source="ecg-beats", path=str(tmp_path / "ptbdb_abnormal.csv"), resample_hz=250))
    assert one.train.x.shape == (20, 1, 374) and one.class_names == ["0", "1"]


def test_beats_leakage_note_reaches_load_data(tmp_path):
    write_beats(tmp_path)
    with pytest.warns(UserWarning):
        data = load_data(DataConfig(source="ecg-beats", path=str(tmp_path), split={"val": 0.2, "test": 0.2}), seed=0)
    assert LEAKAGE_WARNING in data.notes


def test_beats_missing_files(tmp_path):
    with pytest.raises(DataError, match="expected ptbdb_normal.csv \\+ ptbdb_abnormal.csv or mitbih_train.csv"):
        load_beats(DataConfig(source="ecg-beats", path=str(tmp_path)))


def test_ecg_npz_with_groups_and_pipeline(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 2, 1000)).astype(np.float32)  # (N, leads, samples) at 500 Hz
    np.savez(tmp_path / "d.npz", x=x, y=np.array(["mi", "norm"] * 3), groups=np.array(["a", "a", "b", "b", "c", "c"]),
             fs=500.0, lead_names=np.array(["I", "II"]))
    src = load_ecg_npz(DataConfig(source="ecg-npz", path=str(tmp_path / "d.npz"), leads=["ii"], resample_hz=250,
                                  window_s=1, split={"group_by": "patient"}))
    assert src.train.x.shape == (12, 1, 250) and src.class_names == ["mi", "norm"]
    assert src.train.groups.tolist() == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    assert src.train.ids.tolist()[:3] == ["0", "0", "1"]
    np.savez(tmp_path / "two.npz", x=x[:, 0], y=np.arange(6) % 2)
    src = load_ecg_npz(DataConfig(source="ecg-npz", path=str(tmp_path / "two.npz"), normalize="none"))
    np.testing.assert_array_equal(src.train.x[:, 0], x[:, 0])
    with pytest.raises(ConfigError, match="data.sample_rate"):
        load_ecg_npz(DataConfig(source="ecg-npz", path=str(tmp_path / "two.npz"), window_s=1))
    np.savez(tmp_path / "bad.npz", signals=x)
    with pytest.raises(DataError, match="needs arrays 'x' and 'y' \\(has signals\\)"):
        load_ecg_npz(DataConfig(source="ecg-npz", path=str(tmp_path / "bad.npz")))


def test_ecg_csv_with_group_column(tmp_path):
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(4, 300)), columns=[f"s{i}" for i in range(300)])
    table.insert(0, "label", ["mi", "control", "mi", "control"])
    table.insert(1, "group", ["p1", "p2", "p1", "p2"])
    table.to_csv(tmp_path / "ecg.csv", index=False)
    src = load_ecg_csv(DataConfig(source="ecg-csv", path=str(tmp_path / "ecg.csv"), sample_rate=100, window_s=1,
                                  split={"group_by": "patient"}))
    assert src.train.x.shape == (12, 1, 100) and src.class_names == ["control", "mi"]
    assert src.train.groups.tolist() == ["p1"] * 3 + ["p2"] * 3 + ["p1"] * 3 + ["p2"] * 3
    table.drop(columns="label").to_csv(tmp_path / "nolabel.csv", index=False)
    with pytest.raises(DataError, match="no 'label' column"):
        load_ecg_csv(DataConfig(source="ecg-csv", path=str(tmp_path / "nolabel.csv")))


# ---------------------------------------------------------------------------------------------
# Through load_data: sources are registered, and patient-wise splits do not leak


def test_no_patient_in_two_splits(ptb_tree):
    config = DataConfig(source="ecg-wfdb", path=str(ptb_tree), leads=["ii"], resample_hz=250, window_s=1,
                        split={"val": 0.25, "test": 0.25, "group_by": "patient"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # grouped: no leakage warning
        data = load_data(config, seed=0)
    train, val, test = (set(data.groups[k].tolist()) for k in ("train", "val", "test"))
    assert train and val and test
    assert not (train & val) and not (train & test) and not (val & test)
    assert train | val | test == {p for p, (reason, _) in PTB_PATIENTS.items()
                                  if reason in ("Myocardial infarction", "Healthy control")}
    assert data.assignment["test"] == sorted(test)  # the run stores which patients went where
    assert data.meta["aggregate"] == "mean"


def test_ptbxl_folds_through_load_data(ptbxl_tree):
    data = load_data(DataConfig(source="ecg-wfdb", path=str(ptbxl_tree), leads=["ii"]), seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (7, 2, 2)
    assert tuple(data.x_train.shape[1:]) == (1, 1000)


# ---------------------------------------------------------------------------------------------
# The example configs run end to end on the generated trees (one epoch)


EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(("example", "tree"), [("ecg-ptb-inception.yaml", "ptb_tree"),
                                               ("ecg-ptbxl-superclass.yaml", "ptbxl_tree")])
def test_example_runs_on_a_generated_tree(example, tree, request):
    import convscope

    root = request.getfixturevalue(tree)
    run = convscope.run(EXAMPLES / example, overrides=[f"data.path={root}", "train.epochs=1"])
    assert run.status in ("completed", "early_stopped")
    assert "test_accuracy" in run.test_metrics
