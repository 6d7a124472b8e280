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
