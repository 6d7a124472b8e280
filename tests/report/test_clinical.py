"""The per-class table at the end of `convscope run`, in `convscope show` and in the HTML report."""

from __future__ import annotations

import re

import yaml
from typer.testing import CliRunner

from convscope.api import load_run
from convscope.cli import app
from convscope.report import run_report
from convscope.report.clinical import percent
from convscope.train.metrics import class_table

runner = CliRunner()


def test_run_show_and_report_print_the_per_class_table(tmp_path, digits_cfg):
    digits_cfg["data"]["limit"] = 400
    digits_cfg["train"].update(epochs=2, metrics=["accuracy", "macro_f1"])
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(digits_cfg))
    ran = runner.invoke(app, ["run", str(path)])
    assert ran.exit_code == 0, ran.output
    run = load_run(1)
    table = class_table(run.info.test_confusion, run.info.class_names)
    assert "per class, test set" in ran.output
    macro = "│ macro +│ +" + " │ +".join(re.escape(v) for v in (
        str(table.total), *(percent(getattr(table.macro, f)) for f in ("sensitivity", "ppv", "specificity", "f1")))) + " │"
    assert re.search(macro, ran.output), ran.output
    for row in table.rows:  # one line per class: name, count, Se
        assert re.search(rf"│ {row.name} +│ +{row.count} │ +{re.escape(percent(row.sensitivity))} │", ran.output)
    assert "confusion, test set" in ran.output
    for name, counts in zip(run.info.class_names, table.confusion, strict=True):  # rows: true classes
        assert re.search(rf"│ {name} +│ +" + r" │ +".join(map(str, counts)) + " │", ran.output), ran.output

    shown = runner.invoke(app, ["show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "per class, test set" in shown.output and "per class, validation set" in shown.output
    assert re.search(macro, shown.output)

    html = run_report(run).read_text()
    test_table = html[html.index('data-split="test"'):]
    test_table = test_table[:test_table.index("</table>")]
    assert test_table.count("<tr>") == 1 + len(table.rows)  # the heading row, then one per class
    assert f"<b>{percent(table.macro.f1)}</b>" in test_table and f"<b>{percent(table.accuracy)}</b>" in test_table
    assert 'data-split="val"' in html and 'href="#classes"' in html
    confusion = html[html.index('<table class="confusion" data-split="test"'):]
    confusion = confusion[:confusion.index("</table>")]
    first = "".join(f"<td class=\"num\">{f'<b>{c}</b>' if j == 0 else c}</td>" for j, c in enumerate(table.confusion[0]))
    assert confusion.count("<tr>") == 1 + len(table.rows) and first in confusion


def test_a_run_with_many_classes_points_at_show_instead(tmp_path):
    from rich.console import Console

    from convscope.report.clinical import print_run_tables
    from convscope.store.run_info import RunInfo

    class Stub:
        id = 7
        info = RunInfo(class_names=[f"c{i}" for i in range(25)],
                       test_confusion=[[1 if i == j else 0 for j in range(25)] for i in range(25)])

    console = Console(record=True, width=100)
    print_run_tables(console, Stub(), splits=("test",))
    assert "per-class table (25 classes): convscope show 7" in console.export_text()
    print_run_tables(console, Stub(), splits=("test",), max_classes=None)
    assert "c24" in console.export_text()
