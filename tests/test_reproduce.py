"""bench/reproduce.py: published figures are re-measured, compared, and kept in step with their docs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.bench_scripts import load_bench

from convscope.errors import ConfigError

ROOT = Path(__file__).parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "reproduce"


def _load_reproduce():
    return load_bench("reproduce")


reproduce = _load_reproduce()


def test_every_published_figure_parses_and_is_printed_in_its_doc():
    figures = reproduce.load_figures(ROOT / "docs" / "figures.yaml")
    assert len({f.doc for f in figures}) >= 2 and any(f.cheap for f in figures)
    problems = [p for f in figures for p in reproduce.check(f, ROOT)]
    assert problems == []


def test_tiny_figures_are_remeasured_and_the_moved_one_is_flagged(tmp_path, capsys):
    code = reproduce.main(["--figures", str(FIXTURE / "figures.yaml"), "--home", str(tmp_path / "store")])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("digits-")}
    assert code == 1
    assert "MOVED" not in rows["digits-accuracy"] and "85.52" in rows["digits-accuracy"].split("%", 1)[1]
    assert "MOVED" in rows["digits-accuracy-moved"]
    assert "moved beyond their spread: digits-accuracy-moved" in out
    assert out.count("convscope run digits-1epoch.yaml") == 1  # one run serves both figures


def test_a_number_missing_from_its_doc_fails_the_check(tmp_path, capsys):
    for name in ("figures.yaml", "digits-1epoch.yaml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    (tmp_path / "doc.md").write_text((FIXTURE / "doc.md").read_text().replace("85.52%", "85.5%"))
    code = reproduce.main(["--figures", str(tmp_path / "figures.yaml"), "--check"])
    err = capsys.readouterr().err
    assert code == 2
    assert "(digits-accuracy): published: '85.52%' does not appear in doc.md" in err


def test_a_bad_figures_file_names_the_figure_and_field(tmp_path):
    text = (FIXTURE / "figures.yaml").read_text().replace("published: 50.00%", "published: about half", 1)
    (tmp_path / "figures.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"figures\[1\] \(digits-accuracy-moved\): published: 'about half'"):
        reproduce.load_figures(tmp_path / "figures.yaml")


def test_a_command_whose_config_does_not_load_is_reported(tmp_path):
    (tmp_path / "doc.md").write_text("85.52% `convscope run digits-1epoch.yaml --set train.epoks=1`")
    shutil.copy(FIXTURE / "digits-1epoch.yaml", tmp_path / "digits-1epoch.yaml")
    text = (FIXTURE / "figures.yaml").read_text().replace(
        "command: convscope run digits-1epoch.yaml\n", "command: convscope run digits-1epoch.yaml --set train.epoks=1\n", 1)
    (tmp_path / "figures.yaml").write_text(text)
    figure = reproduce.load_figures(tmp_path / "figures.yaml")[0]
    problems = reproduce.check(figure, tmp_path)
    assert len(problems) == 1 and "command:" in problems[0] and "epoks" in problems[0]


def test_several_seeds_need_a_seed_placeholder_in_a_run_command(tmp_path):
    text = (FIXTURE / "figures.yaml").read_text().replace("seeds: 1", "seeds: 3", 1)
    (tmp_path / "figures.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"\(digits-accuracy\): seeds: 3 seeds, but the command has no"):
        reproduce.load_figures(tmp_path / "figures.yaml")


def _figure_file(tmp_path, command: str, published: str = "85.52%") -> Path:
    (tmp_path / "figures.yaml").write_text(f"""figures:
  - id: one
    doc: doc.md
    command: {command}
    metric: test_accuracy
    published: {published}
    spread: 0.01
    cheap: true
    seeds: 1
    cpu: AMD EPYC
    precision: fp32
    threads: 1
""")
    return tmp_path / "figures.yaml"


def test_a_bench_figure_is_checked_against_its_doc_and_script_but_not_rerun(tmp_path, capsys):
    command = "python bench/tiny.py --epochs 2"
    figures = _figure_file(tmp_path, command, "0.9806")
    (tmp_path / "doc.md").write_text(f"ASHA reached 0.9806 (`{command}`).")
    figure = reproduce.load_figures(figures)[0]
    assert figure.command == reproduce.Command("bench", "bench/tiny.py", ())
    assert reproduce.check(figure, tmp_path) == [f"{figure.line}: command: bench/tiny.py does not exist"]
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "tiny.py").write_text("raise SystemExit('a bench figure is not re-run')\n")
    assert reproduce.check(figure, tmp_path) == []
    assert reproduce.main(["--figures", str(figures), "--only", "one", "--home", str(tmp_path / "store")]) == 0
    assert "0 figures" in capsys.readouterr().out
    (tmp_path / "doc.md").write_text("ASHA reached 0.9806 (`python bench/tiny.py`).")
    assert "command: 'python bench/tiny.py --epochs 2' does not appear" in reproduce.check(figure, tmp_path)[0]


def test_a_run_without_a_config_is_the_builtin_default_experiment(tmp_path):
    (tmp_path / "doc.md").write_text("98.5% (`convscope run --set train.epoks=1`)")
    figure = reproduce.load_figures(_figure_file(tmp_path, "convscope run --set train.epoks=1", "98.5%"))[0]
    assert figure.command == reproduce.Command("run", None, ("train.epoks=1",))
    problems = reproduce.check(figure, tmp_path)  # the default config was loaded: its override is checked
    assert len(problems) == 1 and "epoks" in problems[0]
    assert reproduce.config_path(figure.command, tmp_path).is_file()
