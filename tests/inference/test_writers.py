"""Prediction rows out: CSV/JSON by suffix, written atomically (a failure leaves nothing behind)."""

from __future__ import annotations

import json

import pytest

from convscope.errors import ConvscopeError
from convscope.inference.writers import write_atomic, write_rows

ROWS = [{"input": "a.hea", "predicted": "mi", "p_control": 0.1, "p_mi": 0.9, "n_beats": 12},
        {"input": "b.hea", "predicted": None, "p_control": None, "p_mi": None, "n_beats": 0}]


def test_csv_and_json(tmp_path):
    csv_text = write_rows(ROWS, tmp_path / "p.csv").read_text().splitlines()
    assert csv_text == ["input,predicted,p_control,p_mi,n_beats", "a.hea,mi,0.1,0.9,12", "b.hea,,,,0"]
    assert json.loads(write_rows(ROWS, tmp_path / "p.json").read_text()) == ROWS


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("old\n")

    def broken(stream):
        stream.write("half a row")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(path, broken)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def test_unknown_suffix(tmp_path):
    with pytest.raises(ConvscopeError, match="unknown output format '.xlsx'"):
        write_rows(ROWS, tmp_path / "p.xlsx")
