"""Importing convscope and drawing its pictures leaves the user's matplotlib backend alone (notebooks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import matplotlib
matplotlib.use("svg")                       # a user's choice, as Jupyter's inline backend would be
import convscope, convscope.cli, convscope.api
from convscope.insight.curves import plot_curves
plot_curves([{"epoch": 1, "train_loss": 1.0, "val_loss": 0.9}], r"{out}")
import matplotlib.pyplot as plt             # the user's own plotting, after convscope drew
print("BACKEND", matplotlib.get_backend())
"""


def test_import_and_drawing_keep_the_users_backend(tmp_path):
    out = tmp_path / "curves.png"
    done = subprocess.run([sys.executable, "-c", _PROBE.replace("{out}", str(out))], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "BACKEND svg" in done.stdout, done.stdout + done.stderr
    assert out.stat().st_size > 1000
