"""Listing and showing runs: torch-free, --json for scripts, the search objective as a trial's best value."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from convscope import listing
from convscope.cli import app
from convscope.store.db import Store

runner = CliRunner()
CONFIG = "name: demo\nmodel: {layers: [flatten, {dense: 2}]}\n"


def _fill(home: Path, count: int, *, search: str | None = None) -> None:
    store = Store(home)
    for i in range(count):
        run_id = store.create_run(name=f"run{i}", config_yaml=CONFIG, seed=0, env={}, monitor="val_loss",
                                  search=search, trial=i if search else None, params={"lr": 0.1} if search else None)
        store.log_epoch(run_id, 1, {"train_loss": 0.7, "val_loss": 0.6, "val_accuracy": 0.75}, 0.1,
                        best_epoch=1, best_value=0.6)
        info = {"objective": {"metric": "val_accuracy", "direction": "maximize", "value": 0.75, "epoch": 1}} \
            if search else {"class_names": ["normal", "mi"], "test_confusion": [[5, 1], [2, 6]],
                            "val_confusion": [[4, 2], [1, 7]]}  # show prints per-class tables from these
        store.finish_run(run_id, status="completed", reason="ran all 1 epochs",
                         test={"test_accuracy": 0.7, "test_loss": 0.5}, info=info)
    store.close()


def test_runs_json_lists_every_field(tmp_path):
    _fill(tmp_path / "store", 3)
    result = runner.invoke(app, ["runs", "--json", "--home", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [3, 2, 1]
    assert rows[0]["best"] == {"metric": "val_loss", "value": 0.6, "epoch": 1}
    assert rows[0]["test"]["test_accuracy"] == 0.7 and rows[0]["status"] == "completed"


def test_show_json_has_history_and_verdicts(tmp_path):
    _fill(tmp_path / "store", 1)
    result = runner.invoke(app, ["show", "1", "--json", "--home", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["history"][0]["val_loss"] == 0.6 and shown["verdicts"] == [] and shown["best_epoch"] == 1


def test_trial_shows_the_search_objective_not_val_loss():
    row = {"id": 1, "name": "x", "created": 0.0, "status": "completed", "epochs": 3, "monitor": "val_loss",
           "best_value": 0.4, "best_epoch": 2, "test": {}, "info": {"objective": {"metric": "val_accuracy",
                                                                                  "value": 0.9, "epoch": 3}}}
    summary = listing.run_summary(row)
    assert listing.best_text(summary) == "val_accuracy 90.0% (epoch 3)" and listing.headline_test(summary) == "-"
    plain = listing.run_summary({**row, "info": {}})
    assert listing.best_text(plain) == "val_loss 0.4000 (epoch 2)"


# the listing commands a user types most, and the modules each must not pay for (issue 14): torch everywhere;
# SQLAlchemy and Alembic wherever a SQLite store is only read (store/fast_read.py); pydantic for --help
# (typer itself imports pydantic to convert a command's arguments, so only --help can do without it)
_PROBE = """
import os, sys
from convscope.cli import app
sys.argv = ["convscope", *sys.argv[1:]]
try:
    app()
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = [m for m in os.environ["ABSENT"].split() if m in sys.modules]
print("HEAVY", heavy, file=sys.stderr)
"""
_NO_TORCH = ["torch", "optuna"]
_READ_ONLY = [*_NO_TORCH, "sqlalchemy", "alembic"]


@pytest.mark.parametrize("args, absent", [
    (["runs"], _READ_ONLY), (["runs", "--json"], _READ_ONLY), (["runs", "--limit", "2"], _READ_ONLY),
    (["show", "2"], _NO_TORCH), (["show", "2", "--json"], _NO_TORCH),
    (["--help"], [*_READ_ONLY, "pydantic"]), (["runs", "--help"], _READ_ONLY), (["data", "ls"], _READ_ONLY)])
def test_listing_commands_do_not_import_what_they_do_not_need(tmp_path, args, absent):
    _fill(tmp_path / "store", 3)
    home = [] if "--help" in args or args[0] == "data" else ["--home", str(tmp_path / "store")]
    (tmp_path / "cache" / "builtin").mkdir(parents=True)  # data ls lists a cached array without loading torch
    np.savez(tmp_path / "cache" / "builtin" / "digits-0123.npz", x=np.zeros((3, 1, 8, 8)), y=np.zeros(3))
    done = subprocess.run([sys.executable, "-c", _PROBE, *args, *home], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
                               "CONVSCOPE_CACHE": str(tmp_path / "cache"), "ABSENT": " ".join(absent)},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr, done.stderr
    if args[0] == "data":
        assert "builtin:digits" in done.stdout, done.stdout


def test_show_draws_a_finished_runs_curves_once(tmp_path):
    _fill(tmp_path / "store", 1)
    home = ["--home", str(tmp_path / "store")]
    assert runner.invoke(app, ["show", "1", *home]).exit_code == 0
    curves = Store(tmp_path / "store").run_dir(1) / "curves.png"
    assert curves.read_bytes().startswith(b"\x89PNG")  # drawn by the first show
    curves.write_bytes(b"kept")  # a finished run's history never changes: the next show keeps the picture
    result = runner.invoke(app, ["show", "1", *home])
    assert result.exit_code == 0 and "learning curves:" in result.output and curves.read_bytes() == b"kept"


# `runs` reads a SQLite store through sqlite3 (store/fast_read.py) and any other through the Store; both must
# print exactly what `runs` printed before the fast path existed (these texts came from that code, 2026-11-26)
_CLI = """
import sys
if sys.argv[1] == "store":  # the way every store was read before store/fast_read.py
    import convscope.store.fast_read
    convscope.store.fast_read.read_runs = lambda *args, **kwargs: None
from convscope.cli import app
app(sys.argv[2:], prog_name="convscope")
"""
_RUNS_TABLE = """\
                               runs in h/runs.db
┏━━━━┳━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ id ┃ name ┃ date         ┃ status    ┃ epochs ┃ best val     ┃ test          ┃
┡━━━━╇━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│  3 │ run0 │ 2026-05-28   │ completed │      1 │ val_loss     │ test_accuracy │
│    │      │ 23:26        │           │        │ 0.6000       │ 70.0%         │
│    │      │              │           │        │ (epoch 1)    │               │
│  2 │ run1 │ 2026-05-28   │ pruned    │      1 │ val_accuracy │ -             │
│    │      │ 22:26        │           │        │ 75.0% (epoch │               │
│    │      │              │           │        │ 1)           │               │
│  1 │ run0 │ 2026-05-28   │ completed │      1 │ val_accuracy │ test_accuracy │
│    │      │ 21:26        │           │        │ 75.0% (epoch │ 70.0%         │
│    │      │              │           │        │ 1)           │               │
└────┴──────┴──────────────┴───────────┴────────┴──────────────┴───────────────┘
"""  # rich pads the title line to the width with spaces: compared without them
_RUNS_JSON = [{"id": 3,
               "name": "run0",
               "created": "2026-05-28T23:26:41+00:00",
               "status": "completed",
               "reason": "ran all 1 epochs",
               "epochs": 1,
               "best": {"metric": "val_loss", "value": 0.6, "epoch": 1},
               "test": {"test_accuracy": 0.7, "test_loss": 0.5},
               "search": None,
               "trial": None,
               "params": {}},
              {"id": 2,
               "name": "run1",
               "created": "2026-05-28T22:26:41+00:00",
               "status": "pruned",
               "reason": "ran all 1 epochs",
               "epochs": 1,
               "best": {"metric": "val_accuracy", "value": 0.75, "epoch": 1},
               "test": {},
               "search": "grid",
               "trial": 1,
               "params": {"lr": 0.1}},
              {"id": 1,
               "name": "run0",
               "created": "2026-05-28T21:26:40+00:00",
               "status": "completed",
               "reason": "ran all 1 epochs",
               "epochs": 1,
               "best": {"metric": "val_accuracy", "value": 0.75, "epoch": 1},
               "test": {"test_accuracy": 0.7, "test_loss": 0.5},
               "search": "grid",
               "trial": 0,
               "params": {"lr": 0.1}}]
# a coloured status is a span on the word, the cell's padding unstyled (a terminal shows no difference, bytes do)
_PRUNED_IN_COLOUR = "│  2 │ run1 │ 2026-05-28   │ \x1b[33mpruned\x1b[0m    │      1 │ val_accuracy │ -             │"


def _pinned_store(home: Path) -> None:
    """Three runs, one a pruned search trial without test metrics, created at fixed times."""
    _fill(home, 2, search="grid")
    _fill(home, 1)
    with sqlite3.connect(home / "runs.db") as conn:
        conn.execute("UPDATE runs SET created = 1780000000 + id * 3600.5")
        conn.execute("UPDATE runs SET test = NULL, status = 'pruned' WHERE id = 2")


def _cli(tmp_path: Path, how: str, *args: str, color: bool = False) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "COLUMNS": "80"}
    env.pop("NO_COLOR" if color else "FORCE_COLOR", None)
    env["FORCE_COLOR" if color else "NO_COLOR"] = "1"
    done = subprocess.run([sys.executable, "-c", _CLI, how, *args, "--home", "h"], capture_output=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


def test_runs_prints_the_same_bytes_through_sqlite3_and_the_store(tmp_path):
    _pinned_store(tmp_path / "h")
    for args in (["runs"], ["runs", "--json"], ["runs", "--limit", "1"]):
        assert _cli(tmp_path, "fast", *args) == _cli(tmp_path, "store", *args), args
    coloured = _cli(tmp_path, "fast", "runs", color=True)
    assert coloured == _cli(tmp_path, "store", "runs", color=True) and _PRUNED_IN_COLOUR in coloured.splitlines()
    assert [line.rstrip() for line in _cli(tmp_path, "fast", "runs").splitlines()] == _RUNS_TABLE.splitlines()
    assert json.loads(_cli(tmp_path, "fast", "runs", "--json")) == _RUNS_JSON
