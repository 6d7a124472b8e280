"""Faults and hostile input end in one line, a documented exit code, and an unchanged store (issue 13, item 5)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.store import Store

runner = CliRunner()
TINY = {"name": "tiny", "seed": 0, "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
        "model": {"layers": ["flatten", {"dense": {"units": 10, "activation": "softmax"}}]},
        "train": {"epochs": 1, "batch_size": 256}}


def _one_line(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "error: " in result.output, result.output
    assert len(result.output[result.output.index("error: "):].strip().splitlines()) <= 2, result.output  # + hint
    for needle in needles:
        assert needle in result.output, result.output


def _rows(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "runs.db") as db:
        return db.execute("SELECT id, status, reason, epochs FROM runs ORDER BY id").fetchall()


@pytest.fixture
def trained(tmp_path) -> convscope.Run:
    return convscope.run(TINY)


def _corrupt(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def test_a_truncated_checkpoint_is_one_line_in_look_report_and_predict(trained, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), dtype=np.float32))
    _corrupt(trained.dir / "best.safetensors")
    for command in (["look", str(trained.id), "kernels"], ["report", str(trained.id)],
                    ["predict", str(trained.id), str(tmp_path / "x.npy")]):
        _one_line(runner.invoke(app, command), 3, "best.safetensors: not a readable checkpoint", "retrain")


def test_resume_from_a_corrupt_checkpoint_is_refused_and_leaves_the_row(trained):
    store = Store()
    store.reopen_run(trained.id)
    store.finish_run(trained.id, status="interrupted", reason="process ended during training")
    before = _rows(store.home)
    (trained.dir / "last.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1}")
    _one_line(runner.invoke(app, ["run", "--resume", str(trained.id), "--no-report"]), 3,
              "last.safetensors: not a readable checkpoint")
    assert _rows(store.home) == before


def test_an_object_array_input_is_one_line(trained, tmp_path):
    path = tmp_path / "sample.npy"
    np.save(path, np.array([1, "a", None], dtype=object), allow_pickle=True)
    _one_line(runner.invoke(app, ["look", str(trained.id), "features", "--input", str(path)]), 2,
              "sample.npy: not a plain numeric .npy array")


def test_a_binary_config_is_one_line(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01binary")
    _one_line(runner.invoke(app, ["run", str(path)]), 2, "model.yaml: not a text file")


def test_single_class_data_is_one_line_and_leaves_no_row(tmp_path):
    np.savez(tmp_path / "one.npz", x=np.random.default_rng(0).random((60, 1, 8, 8), dtype=np.float32),
             y=np.zeros(60, dtype=np.int64))
    cfg = {**TINY, "data": {"source": "npz", "path": str(tmp_path / "one.npz")}}
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["run", str(tmp_path / "one.yaml")])
    _one_line(result, 2, "one class only")
    assert "units: 1, activation: softmax" not in result.output  # the old, contradictory advice
    assert Store().runs() == []


def test_an_npz_path_that_is_a_folder_says_so(tmp_path):
    (tmp_path / "data.npz").mkdir()
    cfg = {**TINY, "data": {"source": "npz", "path": str(tmp_path / "data.npz")}}
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(cfg))
    _one_line(runner.invoke(app, ["run", str(tmp_path / "f.yaml")]), 2, "data.npz is a folder, not an .npz file")


# -- faults that need a filesystem of their own: a private mount namespace (root), else chmod (non-root) --


def _can_mount() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


needs_mounts = pytest.mark.skipif(not _can_mount(), reason="needs root and `unshare -m` (a private mount namespace)")


def _cli_in_namespace(setup: str, args: list[str], env_home: Path) -> subprocess.CompletedProcess:
    """``convscope ARGS`` in a private mount namespace after the ``setup`` shell lines (mounts vanish with it)."""
    cli = f"{sys.executable} -m convscope.cli {' '.join(args)}"
    env = {**os.environ, "CONVSCOPE_HOME": str(env_home), "COLUMNS": "200"}
    return subprocess.run(["unshare", "-m", "sh", "-c", f"{setup} && {cli}"], capture_output=True, text=True,
                          env=env, timeout=300)


@needs_mounts
def test_a_read_only_store_still_lists_and_shows_and_refuses_a_run_in_one_line(trained, tmp_path):
    home = trained.home
    before = _rows(home)
    ro = f"mount --bind -r {home} {home}"
    listing = _cli_in_namespace(ro, ["runs"], home)
    assert listing.returncode == 0 and "tiny" in listing.stdout, listing.stderr
    show = _cli_in_namespace(ro, ["show", str(trained.id)], home)
    assert show.returncode == 0 and "per-epoch history" in show.stdout, show.stderr
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(TINY))
    refused = _cli_in_namespace(ro, ["run", str(tmp_path / "t.yaml"), "--no-report"], home)
    assert refused.returncode == 3 and "the run store is read-only" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 2
    assert _rows(home) == before


@needs_mounts
def test_a_full_disk_is_one_line_and_the_run_is_stored_failed(tmp_path):
    home = tmp_path / "small"
    home.mkdir()
    cfg = {**TINY, "model": {"layers": ["flatten", {"dense": 4096}, {"dense": 4096}, {"dense": 10}]}}  # 70 MB weights
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(cfg))
    # a 2 MB tmpfs holds the store but not the checkpoint; the database is written first, so it fits
    rows = f"{sys.executable} -c \"import sqlite3; print(sqlite3.connect('{home}/runs.db').execute('SELECT status FROM runs').fetchall())\""
    result = _cli_in_namespace(f"mount -t tmpfs -o size=2m tmpfs {home}",
                               ["run", str(tmp_path / "t.yaml"), "--no-report", "--home", str(home),
                                "; echo exit=$?;", rows], home)
    assert "exit=3" in result.stdout, result.stdout + result.stderr
    assert "the disk is full" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2, result.stderr
    assert "[('failed',)]" in result.stdout  # the run's row says why it stopped
