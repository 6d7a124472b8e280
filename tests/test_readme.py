"""The README's examples are real: its config validates and every block example builds in 1D and 2D."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
import torch
import yaml

from convscope.config import is_range, load_config
from convscope.models import build_model
from convscope.tuning.study import SearchSetup

README = (Path(__file__).parents[1] / "README.md").read_text()
YAML_BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", README, flags=re.S)]


def test_readme_config_validates():
    configs = [b for b in YAML_BLOCKS if isinstance(b, dict) and "model" in b]
    assert configs
    for block in configs:
        ranged = any(is_range(v) for v in (block.get("params") or {}).values())
        cfg = SearchSetup.from_raw(block).cfg if ranged else load_config(block)
        assert cfg.name == block.get("name", "experiment")


@pytest.mark.parametrize("shape", [(3, 64), (3, 32, 32)])
def test_readme_block_examples_build(shape):
    lists = [b for b in YAML_BLOCKS if isinstance(b, list)]
    assert lists
    for layers in lists:
        for layer in layers:
            model = build_model([layer], shape).eval()
            with torch.no_grad():
                out = model(torch.zeros(2, *shape))  # (N, *output_shape)
            assert tuple(out.shape) == (2, *model.output_shape), layer


# -- the README's shell commands, verbatim -------------------------------------------------------

ROOT = Path(__file__).parents[1]
# Commands that would take minutes in CI (MNIST, 15 epochs, a 6-trial ECG grid) run verbatim with these
# arguments appended; every one is a `--set` override of the kind the README itself shows
# (`convscope run exp.yaml --set train.epochs=5 --set params.lr=0.01`).
DIGITS = ["--set", "data.source=builtin:digits"]
TOO_LONG_FOR_CI = {
    "convscope run": [*DIGITS, "--set", "train.epochs=1"],
    "convscope run exp.yaml --set train.epochs=5 --set params.lr=0.01": [*DIGITS, "--set", "train.epochs=1"],
    "convscope summary exp.yaml": DIGITS,
    "convscope run exp.yaml --log tensorboard": [*DIGITS, "--set", "train.epochs=1"],
    "convscope search examples/search-inception-grid.yaml": [
        "--set", "train.epochs=1", "--set", "data.patients=12", "--set", "data.records_per_patient=2",
        "--set", "params.blocks={grid: [1]}", "--set", "search.workers=1"],
}
NOT_RUN = {
    "pip install torch==2.13.0 -e .": "installs packages (.ci/run does it in a fresh environment)",
    'pip install torch==2.13.0 -e ".[test,ray,postgres]"': "installs packages (.ci/run does it in a fresh environment)",
    'pip install -e ".[ray,postgres]"': "installs packages",
    "export CONVSCOPE_STORE=postgresql://USER:PASSWORD@db-host:5432/convscope": "the reader's server "
                                                                                "(tests/store run PostgreSQL in CI)",
    "export CONVSCOPE_ARTIFACTS=/mnt/shared/convscope": "the reader's shared folder",
    "ray start --head --port 6379": "starts a Ray cluster (tests/tuning/test_ray.py runs Ray locally)",
    "ray start --address HEAD:6379": "joins the reader's Ray cluster",
    "python bench/reproduce.py": "a benchmark (minutes); bench/ is linted by the ruff command",
    "python -m pytest -q": "the test suite itself",
    "convscope search CONFIG --backend ray [--address HOST:PORT]": "a template; tests/tuning/test_ray.py runs Ray",
    "convscope predict 9 ECG200_TEST.tsv": "illustrative: the reader's run and UCR file (tests/inference run predict)",
    "convscope search exp.yaml --backend ray --address HEAD:6379": "the reader's Ray cluster; tests/tuning/test_ray.py "
                                                                     "runs the ray backend",
    "python bench/overhead.py": "a benchmark (minutes); bench/ is linted by the ruff command above",
    "bash bench/gpu_check.sh gpu-check": "needs a CUDA GPU (the tests it runs are marked cuda and skip without one)",
    'pip install "convscope[tensorboard]"': "installs packages",
    "tensorboard --logdir convscope-runs/tensorboard": "starts a server (tests/train/test_loggers_tensorboard.py reads its files)",
    "convscope predict 12 /data/new-ecgs/": "illustrative: the reader's run and records (tests/inference run predict)",
    "convscope predict 12 rec1.hea rec2.hea --out preds.csv": "illustrative: the reader's run and records",
    "convscope predict 7 digit.png photos/": "illustrative: the reader's run and images",
    "convscope export 12 --format onnx --out mi.onnx": "illustrative: the reader's run (tests/inference run export)",
}


def readme_commands() -> list[str]:
    """Every command of the README's ```bash blocks, in order, comments dropped, `a && b` as two."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def test_every_readme_command_is_run_or_says_why_not():
    unknown = [c for c in readme_commands() if c not in NOT_RUN and not c.startswith(("convscope", "ruff "))]
    assert not unknown, f"README commands this test does not know how to run: {unknown}"


def test_readme_commands_run_verbatim(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from convscope.cli import app

    config = next(b for b in re.findall(r"```yaml\n(.*?)```", README, flags=re.S) if b.startswith("name:"))
    (tmp_path / "exp.yaml").write_text(config)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    ran, failures = [], []
    started = time.perf_counter()
    for command in readme_commands():
        if command in NOT_RUN or not command.startswith(("convscope", "ruff ")):
            continue  # test_every_readme_command_is_run_or_says_why_not fails for an unclassified one
        if command.startswith("ruff "):
            done = subprocess.run([sys.executable, "-m", *shlex.split(command)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=300)
            code, output = done.returncode, done.stdout + done.stderr
        else:
            args = shlex.split(command)[1:] + TOO_LONG_FOR_CI.get(command, [])
            result = CliRunner().invoke(app, args)
            code, output = result.exit_code, result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                output += "".join(traceback.format_exception(result.exception))
        ran.append(f"{time.perf_counter() - started:6.1f} s  {command}")
        started = time.perf_counter()
        if code != 0:
            failures.append(f"$ {command}\n  exit {code}: {output[-600:]}")
    print("\n".join(ran))  # each command's wall time, shown with -s
    assert not failures, "\n".join(failures)
    assert any(r.endswith("convscope report ecg-inception-grid") for r in ran)
    assert any(r.endswith("convscope compare 3 4") for r in ran)
