"""beat_features: QRS-shape features against the record's median beat — on beats made here (Gaussian QRS of
known widths), on records written with wfdb.wrsamp / wfdb.wrann (packed after the RR features, per lead),
and bad names as one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from convscope.config import DataConfig
from convscope.data import load_data
from convscope.data.ecg.beat_shape import BEAT_FEATURES, Shapes, beat_features
from convscope.data.ecg.options import WfdbOptions, parse_options
from convscope.errors import ConfigError

FS = 180.0
T = np.arange(144) / FS - 0.4  # 0.8 s beats, R at sample 72 (MIT-BIH's beats at 180 Hz)


def qrs(width_s: float, height: float = 1.0) -> np.ndarray:
    """A Gaussian QRS whose +-2 sigma span is ``width_s``."""
    return height * np.exp(-0.5 * (T / (width_s / 4)) ** 2)


def test_wider_beats_read_wider_in_proportion():
    beats = np.stack([qrs(0.06), qrs(0.09), qrs(0.12)])  # (3, L)
    shapes = Shapes(beats, qrs(0.06), FS)
    width = BEAT_FEATURES.get("qrs_width")(shapes)
    ratio = BEAT_FEATURES.get("qrs_width_ratio")(shapes)
    assert width[0] < width[1] < width[2] and ratio[0] == 1.0
    assert ratio[2] == pytest.approx(2.0, abs=0.2)  # twice the width reads about twice as wide


def test_amplitude_and_correlation_compare_with_the_template():
    template = qrs(0.08)
    inverted, taller, shifted = -template, 2 * template, np.roll(template, 12)  # 12 samples = 67 ms late
    shapes = Shapes(np.stack([template, inverted, taller, shifted]), template, FS)
    corr = BEAT_FEATURES.get("template_corr")(shapes)
    amplitude = BEAT_FEATURES.get("qrs_amplitude_ratio")(shapes)
    assert corr[0] == pytest.approx(1.0) and corr[1] == pytest.approx(-1.0) and corr[2] == pytest.approx(1.0)
    assert corr[3] < 0.5
    assert amplitude[:3] == pytest.approx([1.0, 1.0, 2.0])


def test_flat_beats_and_templates_give_finite_values():
    flat = np.zeros(144)
    table = beat_features(np.stack([flat, qrs(0.08)])[:, None], flat[None], FS, BEAT_FEATURES.names())
    assert np.isfinite(table).all()


def test_features_are_laid_out_feature_by_feature_lead_after_lead():
    beats = np.stack([np.stack([qrs(0.08), qrs(0.16)])])  # (1 beat, 2 leads, L)
    template = np.stack([qrs(0.08), qrs(0.08)])  # (2 leads, L)
    table = beat_features(beats, template, FS, ["qrs_width_ratio", "template_corr"])
    assert table.shape == (1, 4)
    assert table[0, 0] == 1.0 and table[0, 1] == pytest.approx(1.0)  # lead 0: its template
    assert table[0, 2] > 1.5 and table[0, 3] < 1.0  # lead 1: wider than its template, less alike


@pytest.fixture
def wide_and_narrow(tmp_path, monkeypatch) -> Path:
    """Three 20 s records at 180 Hz: narrow N beats, and V beats twice as wide on both leads."""
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))
    peaks = np.arange(90, 20 * 180 - 90, 150)
    symbols = ["V" if k % 4 == 3 else "N" for k in range(len(peaks))]
    for name, leads in (("w1", ["MLII", "V1"]), ("w2", ["V5", "MLII"]), ("w3", ["MLII", "V5"])):
        sig = np.zeros((20 * 180, 2))  # (samples, leads)
        mlii, other = leads.index("MLII"), 1 - leads.index("MLII")
        for p, s in zip(peaks, symbols, strict=True):
            sig[p - 72:p + 72, mlii] += qrs(0.16 if s == "V" else 0.08)
            sig[p - 72:p + 72, other] -= qrs(0.16 if s == "V" else 0.08, 0.5)
        wfdb.wrsamp(name, fs=180, units=["mV", "mV"], sig_name=leads, p_signal=sig, fmt=["16", "16"],
                    adc_gain=[1000, 1000], baseline=[0, 0], write_dir=str(tmp_path))
        wfdb.wrann(name, "atr", peaks, symbol=symbols, write_dir=str(tmp_path))
    return tmp_path


def test_records_get_their_beat_features_after_the_rr_features(wide_and_narrow):
    cfg = DataConfig(source="ecg-wfdb", path=str(wide_and_narrow), labels="annotations", normalize="none",
                     leads=["mlii", {"any_of": ["v1", "v5"]}], rr_features=["pre_ratio"], template="subtract",
                     beat_features=["qrs_width_ratio", "template_corr"],
                     split={"train_records": ["w1", "w2"], "test_records": ["w3"], "val": 0.5})
    data = load_data(cfg, seed=0)
    assert data.meta["scalar_inputs"] == 5 and data.x_train.shape[1:] == (2, 144 + 5)
    assert "4 beat features (qrs_width_ratio[mlii], template_corr[mlii], qrs_width_ratio[v1|v5], " \
           "template_corr[v1|v5])" in data.notes[0]
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
        tail = x.numpy()[:, 0, -5:]  # (B, 5): pre_ratio, then the 2 features of lead 0, then of lead 1
        assert (x.numpy()[:, 1, -5:] == 0).all()  # the scalars ride on channel 0 only
        v = y.numpy() == 2  # AAMI: N, S, V, F, Q
        assert v.any() and (tail[v][:, [1, 3]] > 1.5).all() and (tail[~v][:, [1, 3]] == 1.0).all()
        assert (tail[v][:, [2, 4]] < 0.99).all() and np.allclose(tail[~v][:, [2, 4]], 1.0)


def test_every_lead_of_the_record_gets_its_features_when_leads_are_not_named(wide_and_narrow):
    cfg = DataConfig(source="ecg-wfdb", path=str(wide_and_narrow), labels="annotations", normalize="none",
                     beat_features=["template_corr"],
                     split={"train_records": ["w1", "w2"], "test_records": ["w3"], "val": 0.5})
    source = load_data(cfg, seed=0)
    assert source.meta["scalar_inputs"] == 2 and source.x_test.shape[1:] == (2, 144 + 2)
    assert "(template_corr[mlii], template_corr[v1])" in source.notes[0]


@pytest.mark.parametrize(("value", "needle"), [
    (["qrs_widht"], "unknown beat feature 'qrs_widht'; did you mean 'qrs_width'?"),
    (["template_corr", "template_corr"], "named twice"),
    ([], "give at least one beat feature"),
])
def test_bad_beat_features_are_one_line_naming_the_field(value, needle):
    with pytest.raises(ConfigError) as exc:
        parse_options(WfdbOptions, DataConfig(source="ecg-wfdb", beat_features=value))
    assert "data.beat_features" in str(exc.value) and needle in str(exc.value)
