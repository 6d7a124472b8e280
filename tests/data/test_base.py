"""The data-source registry: every source module registers itself, found without an import list."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convscope.config import DataConfig
from convscope.data import find_source
from convscope.data.base import SOURCES
from convscope.errors import ConfigError


def test_sources_are_discovered_from_the_package_in_a_fresh_process():
    # only base is imported: the first lookup must import every source module of convscope.data itself
    code = "from convscope.data.base import SOURCES; print(' '.join(SOURCES.names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    for name in ("mnist", "fashion-mnist", "cifar10", "npz", "folder", "builtin:digits", "builtin:mnist1d",
                 "builtin:ecg-synth", "ecg-wfdb", "ecg-beats", "ecg-npz", "ecg-csv"):
        assert name in out


def test_unknown_source_names_the_field_and_suggests():
    with pytest.raises(ConfigError, match="data.source: unknown data source 'ecg-wfbd'") as exc:
        find_source(DataConfig(source="ecg-wfbd").source)
    assert "did you mean 'ecg-wfdb'" in exc.value.hint


def test_registry_kind_and_field():
    assert SOURCES.kind == "data source" and SOURCES.field == "data.source"
