"""Listing and showing runs: torch-free, --json for scripts, the search objective as a trial's best value."""

from __future__ import annotations

import json
import os
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


# the listing commands a user types most; none of them may pay for importing torch (issue 14)
_PROBE = """
import sys
from convscope.cli import app
sys.argv = ["convscope", *sys.argv[1:]]
try:
    app()
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = [m for m in ("torch", "optuna") if m in sys.modules]
print("HEAVY", heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["runs"], ["runs", "--json"], ["show", "2"], ["show", "2", "--json"], ["--help"],
                                  ["runs", "--help"], ["data", "ls"]])
def test_listing_commands_do_not_import_torch(tmp_path, args):
    _fill(tmp_path / "store", 3)
    home = [] if "--help" in args or args[0] == "data" else ["--home", str(tmp_path / "store")]
    (tmp_path / "cache" / "builtin").mkdir(parents=True)  # data ls lists a cached array without loading torch
    np.savez(tmp_path / "cache" / "builtin" / "digits-0123.npz", x=np.zeros((3, 1, 8, 8)), y=np.zeros(3))
    done = subprocess.run([sys.executable, "-c", _PROBE, *args, *home], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
                               "CONVSCOPE_CACHE": str(tmp_path / "cache")},
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
