"""config_errors.explain: one line naming the file and the dotted field, with a did-you-mean."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from convscope.config import Config
from convscope.config_errors import explain


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low_hz: float = Field(0.5, gt=0)


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["window", "record"] = "window"
    filter: Inner = Field(default_factory=Inner)


def _error(validated: type[BaseModel], raw: dict, **kw):
    with pytest.raises(ValidationError) as caught:
        validated.model_validate(raw)
    return explain(caught.value, **kw)


def test_unknown_nested_field_suggests_the_close_name():
    err = _error(Options, {"filter": {"low_h": 1}}, file="ecg.yaml", section="data", schema=Options)
    assert err.message == "ecg.yaml: data.filter.low_h: unknown field"
    assert err.hint == "did you mean 'low_hz'?"


def test_bad_value_names_the_field_and_what_was_given_without_a_file():
    err = _error(Options, {"mode": "beat"}, file=None, section="data")
    assert err.message.startswith("data.mode: Input should be 'window' or 'record'")
    assert err.message.endswith("(got 'beat')")


def test_missing_field_at_the_top_level_of_the_whole_config():
    err = _error(Config, {}, file="exp.yaml", section="", schema=Config)
    assert err.message == "exp.yaml: model: required field is missing"
    assert err.hint == "add 'model:'"


def test_a_data_source_names_its_options():
    err = _error(Options, {"filter": {"low": 1}}, file=None, section="data", schema=Options,
                 unknown="unknown option for source 'ecg-wfdb'", list_known=True)
    assert err.message == "data.filter.low: unknown option for source 'ecg-wfdb'"
    assert err.hint == "did you mean 'low_hz'? options: low_hz"
