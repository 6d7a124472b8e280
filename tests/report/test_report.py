"""Run and search reports: one self-contained HTML file, escaped, with every picture embedded."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convscope.cli import app
from convscope.report import compare, run_report, search_report
from convscope.tuning import load_search, search


def _images(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]*)"', page)


def test_run_report_is_self_contained_and_escaped(reported_run, run_page):
    assert run_page == reported_run.dir / "report.html"
    page = run_page.read_text()
    srcs = _images(page)
    assert len(srcs) >= 10 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in page and "https://" not in page  # works offline: nothing fetched
    assert "<script>alert" not in page and "digits &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    for section in ("overview", "verdicts", "curves", "health", "model", "learned", "looks", "errors", "history",
                    "config"):
        assert f'<section id="{section}">' in page
    for picture in ("kernels-conv1", "filters-conv1", "features-conv1", "occlusion-0", "gradcam-0", "confusion",
                    "top-losses", "correlation"):
        assert f'alt="{picture}"' in page
    assert "Conv2d" in page and "1,234" not in page  # the model summary table is there
    assert 'alt="scalars-0"' not in page  # no packed scalar inputs: no scalar importance


def test_run_report_shows_scalar_importance_beside_occlusion(scalar_run):
    page = run_report(scalar_run).read_text()
    where = [page.index(f'alt="{picture}"') for picture in ("occlusion-0", "scalars-0", "gradcam-0")]
    assert where == sorted(where)
    assert "Scalar importance" in page


def test_run_report_lists_the_verdicts(reported_run, run_page):
    page = run_page.read_text()
    verdicts = reported_run.info.diagnosis
    if verdicts:
        assert all(html.escape(v["text"]).replace("&quot;", "&#34;").replace("&#x27;", "&#39;") in page
                   for v in verdicts)
    else:
        assert "No problems found" in page


def test_search_report_has_leaderboard_charts_and_the_best_runs_report(small_search, search_page, report_home):
    path = search_page
    assert path == report_home / "searches" / f"{small_search}.html"
    page = path.read_text()
    assert len(re.findall(r"<tr class=\"", page)) == 4  # one leaderboard row per trial
    trials = load_search(small_search, home=report_home).trials
    statuses = re.findall(r'<td data-value="([a-z_]+)"><span class="pill', page)  # the status column, by row
    assert sorted(statuses) == sorted(t.status for t in trials)
    assert statuses.count("pruned") >= 1  # the lr=10 trials cannot learn: ASHA prunes at least one
    verdicts = re.findall(r'<td data-value="\d+">(?:<span class="pill (?:error|warning|info)">\w+</span> )?'
                          r'([^<]*)</td>\s*</tr>', page)  # the last cell of each row
    assert len(verdicts) == len(trials) and all(v.strip() for v in verdicts)  # a verdict, "healthy" or "-"
    link = re.search(r'<a href="([^"]+)" id="best-run-link">', page).group(1)
    assert (path.parent / link).resolve().exists()
    srcs = _images(page)
    assert len(srcs) == 4 and all(s.startswith("data:image/png;base64,") for s in srcs)  # objective, parallel,
    assert 'class="sortable"' in page                                                   # importance, curves


def test_cli_report_and_compare(reported_run, small_search, report_home):
    runner = CliRunner()
    result = runner.invoke(app, ["report", small_search, "--home", str(report_home)])
    assert result.exit_code == 0 and f"{small_search}.html" in result.output
    result = runner.invoke(app, ["report", "999", "--home", str(report_home)])
    assert result.exit_code == 2 and "no run 999" in result.output
    other = reported_run.id + 1  # the search's first trial
    result = runner.invoke(app, ["compare", str(reported_run.id), str(other), "--home", str(report_home)],
                           terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "train.optimizer.lr" in result.output and "test_accuracy" in result.output


def test_compare_lists_only_what_differs(reported_run, small_search, report_home):
    runs = [reported_run.id, reported_run.id + 1]
    c = compare(runs, home=report_home)
    keys = dict(c.differences)
    assert {"name", "params.lr", "train.optimizer.lr", "train.epochs"} <= set(keys)
    assert "train.batch_size" not in keys  # equal in both
    assert c.curves.exists() and c.curves.suffix == ".png"
    assert dict(c.metrics)["status"][0] == "completed"


@pytest.mark.parametrize("kind", ["folder", "memory"])
def test_search_report_is_copied_to_the_artifact_root_with_links_that_hold_there(digits_cfg, tmp_path, monkeypatch,
                                                                                 kind):
    root = str(tmp_path / "root") if kind == "folder" else f"memory://convscope-search-report-{tmp_path.name}"
    monkeypatch.setenv("CONVSCOPE_ARTIFACTS", root)
    home = tmp_path / "home"
    cfg = digits_cfg
    cfg["params"]["filters"] = {"grid": [4, 8]}
    cfg["train"]["epochs"] = 1
    cfg["search"] = {"strategy": "grid", "objective": {"metric": "val_accuracy"}, "threads_per_worker": 1}
    best = search(cfg, name="tiny", home=home, progress=False).best
    local = search_report("tiny", home=home)
    assert local == home / "searches" / "tiny.html"
    link = re.search(r'<a href="([^"]+)" id="best-run-link">', local.read_text()).group(1)
    assert (local.parent / link).resolve().exists()  # the home copy links to where the run report is here
    if kind == "folder":
        page = (Path(root) / "searches" / "tiny.html").read_text()
    else:
        import fsspec

        page = fsspec.filesystem("memory").cat_file(f"/{root.split('://')[1]}/searches/tiny.html").decode()
    assert re.search(r'<a href="([^"]+)" id="best-run-link">', page).group(1) == f"../runs/{best.run_id}/report.html"
    assert len(re.findall(r"<tr class=\"", page)) == 2 and "tiny" in page  # the same leaderboard


def test_completed_and_early_stopped_trials_have_their_own_markers(tmp_path):
    import importlib

    module = importlib.import_module("convscope.report.search_report")  # the package's name is the function
    trials = [{"number": i, "status": status, "value": 0.5 + i / 10}
              for i, status in enumerate(["completed", "early_stopped", "completed", "pruned"])]
    drawn = []
    with pytest.MonkeyPatch.context() as patch:  # keep the figure the function saves, to read its markers
        patch.setattr(module, "save", lambda fig, path: drawn.append(fig) or path)
        module._objective_figure(trials, "val_accuracy", True, tmp_path / "objective.png")
    ax = drawn[0].axes[0]
    shapes = {c.get_label(): c.get_paths()[0].vertices.round(3).tobytes() for c in ax.collections}
    assert set(shapes) == {"completed", "early_stopped", "pruned"}
    assert len(set(shapes.values())) == 3  # three statuses, three marker shapes (not told apart by colour alone)
