"""The soak at small scale (issue 13, item 7): many runs into one store leak no descriptors or memory,
the database grows by a few kB a run, and SQLite's integrity check passes. `bench/soak.py` has the figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.bench_scripts import load_bench


@pytest.fixture(scope="module")
def soak_module():
    return load_bench("soak")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc/self/fd (Linux)")
def test_thirty_runs_leak_nothing_and_the_store_stays_sound(soak_module, tmp_path):
    samples, check = soak_module.soak(tmp_path / "soak", runs=30, every=10)
    assert check == "ok"
    assert [s.runs for s in samples] == [10, 20, 30]
    first, last = samples[0], samples[-1]
    # no descriptor is left behind run after run: 20 runs may add one or two (a lazily opened cache file
    # of some library in a process that ran other tests first), a leak per run adds 20
    assert last.open_fds <= first.open_fds + 2, [s.open_fds for s in samples]
    # the database grows by a few kB a run (measured 4.6 kB) and its WAL stays within SQLite's autocheckpoint
    per_run = (last.db_bytes - first.db_bytes) / (last.runs - first.runs)
    assert 0 < per_run < 20_000, per_run
    assert last.wal_bytes < 5_000_000, last.wal_bytes
    assert last.rss_mb - first.rss_mb < 80, [s.rss_mb for s in samples]  # no per-run growth of MBs
