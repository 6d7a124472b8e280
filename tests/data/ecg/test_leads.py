"""leads: [mlii, {any_of: [...]}] — a second channel from whichever listed lead each record has, on records
and annotations written here (wfdb.wrsamp / wfdb.wrann) with MIT-BIH's lead layouts; bad choices are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
import yaml
from typer.testing import CliRunner

from convscope.cli import app
from convscope.config import DataConfig
from convscope.data import load_data
from convscope.data.ecg.leads import AnyOf, lead_label, lead_rows
from convscope.data.ecg.options import SignalOptions, WfdbOptions, parse_options
from convscope.errors import ConfigError
from convscope.store import Store

FS = 100
# record -> its leads, in file order: like MIT-BIH's 101 (MLII, V1), 114 (V5, MLII) and 103 (MLII, V2)
LAYOUTS = {"m1": ["MLII", "V1"], "m2": ["V5", "MLII"], "m3": ["MLII", "V2"], "m4": ["MLII", "V1"]}
CODE = {"mlii": 0, "v1": 100, "v2": 200, "v5": 500}  # a beat's centre value on a lead: CODE + beat index
PEAKS = [100, 200, 300, 400, 500, 600, 700, 800, 900]
SYMBOLS = ["N", "N", "V", "N", "N", "A", "N", "V", "N"]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("leads")
    for name, leads in LAYOUTS.items():
        sig = np.zeros((1000, 2))  # (samples, leads)
        for j, lead in enumerate(leads):
            sig[PEAKS, j] = CODE[lead.lower()] + np.arange(1, len(PEAKS) + 1)
        wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=leads, p_signal=sig, fmt=["16", "16"],
                    adc_gain=[10, 10], baseline=[0, 0], write_dir=str(root))
        wfdb.wrann(name, "atr", np.array(PEAKS), symbol=SYMBOLS, write_dir=str(root))
    return root


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVSCOPE_HOME", str(tmp_path / "home"))


def _cfg(root: Path, leads: list) -> DataConfig:
    return DataConfig(source="ecg-wfdb", path=str(root), labels="annotations", leads=leads, normalize="none",
                      beat_s=0.8, split={"train_records": ["m1", "m2", "m3"], "test_records": ["m4"], "val": 0.34})


def test_a_choice_takes_the_first_listed_lead_each_record_has(layouts):
    data = load_data(_cfg(layouts, ["mlii", {"any_of": ["v1", "v2", "v5"]}]), seed=0)
    centre = round(0.8 * FS) // 2
    for x, ids in ((data.x_train, data.ids["train"]), (data.x_val, data.ids["val"]), (data.x_test, data.ids["test"])):
        for beat, record in zip(x.numpy(), ids.tolist(), strict=True):  # beat: (2 channels, L)
            index = beat[0, centre]  # channel 0 is MLII in every record, wherever the file holds it
            second = {"m1": "v1", "m2": "v5", "m3": "v2", "m4": "v1"}[record]
            assert 1 <= index <= len(PEAKS) and beat[1, centre] == CODE[second] + index
    assert data.meta["leads"] == ["mlii", "v1|v2|v5"]


def test_a_choice_follows_its_order_of_preference(layouts):
    data = load_data(_cfg(layouts, [{"any_of": ["v5", "mlii"]}]), seed=0)  # m2 has V5: it wins over MLII
    centre = round(0.8 * FS) // 2
    values = data.x_train.numpy()[:, 0, centre]  # (B,)
    on_m2 = data.ids["train"] == "m2"
    assert (values[on_m2] > CODE["v5"]).all() and (values[~on_m2] < 100).all()


def test_a_record_lacking_every_listed_lead_exits_2_naming_it_and_stores_nothing(layouts, tmp_path):
    cfg = {"name": "two-leads", "data": _cfg(layouts, ["mlii", {"any_of": ["v1", "v2"]}]).model_dump(exclude_none=True),
           "model": {"layers": ["flatten", {"dense": 4}]}, "train": {"epochs": 1}}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "data.leads[1]: record m2 has none of v1, v2 (it has: v5, mlii)" in result.output
    assert "exclude_records: [m2]" in result.output and "Traceback" not in result.output
    assert Store().runs() == []


@pytest.mark.parametrize(("leads", "needle"), [
    ([{"any_of": ["v1"]}], "give two or more lead names"),
    ([{"any_of": ["v1", "V1"]}], "a lead is named twice"),
    ([{"one_of": ["v1", "v2"]}], "data.leads"),
    ([], "give at least one lead"),
])
def test_a_malformed_choice_is_one_line_naming_data_leads(leads, needle):
    with pytest.raises(ConfigError) as exc:
        parse_options(WfdbOptions, DataConfig(source="ecg-wfdb", leads=leads))
    assert "data.leads" in str(exc.value) and needle in str(exc.value) + (exc.value.hint or "")


def test_labels_name_each_channel_and_resolve_back():
    opts = SignalOptions.model_validate({"leads": ["MLII", {"any_of": ["V1", "V5"]}]})
    assert opts.leads == ["mlii", AnyOf(any_of=("v1", "v5"))]
    assert opts.lead_labels == ["mlii", "v1|v5"] == [lead_label(s) for s in opts.leads]
    assert lead_rows(["V5", "MLII"], opts.lead_labels, record="r") == [1, 0]  # a stored label is a choice again
    with pytest.raises(ConfigError, match="'v2' is not a lead of record r"):
        lead_rows(["MLII", "V1"], ["v2"], record="r")
