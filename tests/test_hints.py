"""The small things a new user reads: every example a message suggests exists, and --help shows no `<bool>`."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from convscope.cli import app

ROOT = Path(__file__).parents[1]


def test_every_example_a_message_names_exists():
    named = {m for path in (ROOT / "src").rglob("*.py")
             for m in re.findall(r"examples/[\w.-]+\.yaml", path.read_text())}
    assert named, "no example named in the source (the pattern is stale)"
    missing = sorted(m for m in named if not (ROOT / m).exists())
    assert not missing, f"messages suggest examples that do not exist: {missing}"


def test_help_shows_flags_without_a_bool_placeholder():
    for command in (["--help"], ["run", "--help"], ["search", "--help"], ["runs", "--help"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.output, result.output
    assert "--report / --no-report" in CliRunner().invoke(app, ["run", "--help"]).output


def test_a_missing_config_hint_names_only_files_that_exist_where_the_user_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a pip-installed user: no examples/ folder here
    result = CliRunner().invoke(app, ["run", "exp.yaml"])
    assert result.exit_code == 2 and "exp.yaml: no such config file" in result.output
    assert "examples/" not in result.output and "convscope run` with no config" in result.output
    (tmp_path / "exp.yaml").write_text("name: x\n")
    result = CliRunner().invoke(app, ["summary", "epx.yml"])
    assert result.exit_code == 2 and "did you mean exp.yaml?" in result.output
    monkeypatch.chdir(ROOT)  # a clone: a near name in examples/
    result = CliRunner().invoke(app, ["search", "search-digit.yaml"])
    suggested = re.search(r"did you mean (\S+)\?", result.output)
    assert result.exit_code == 2 and suggested and (ROOT / suggested.group(1)).is_file(), result.output
