"""The reports in a real browser: headless Chromium loads each file, every picture decodes, the key elements
are there, and a screenshot is saved.

Chromium is a Debian package (``apt-get install chromium``; ``.ci/run`` installs it). Without it the test
fails in CI (``CI`` set) and is skipped elsewhere.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from convscope.insight.drawing import MIN_TEXT_PX, TEXT_PX_KEY

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--disable-dev-shm-usage"]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install -y chromium): the browser test must run in CI")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return exe


def _browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    # --virtual-time-budget lets the page's load handler run before the DOM is dumped
    cmd = [_chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args,
           page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _check(page: Path, tmp_path: Path, *, elements: list[str]) -> str:
    result = _browse(page, tmp_path / "profile", "--dump-dom")
    dom = result.stdout
    assert result.returncode == 0 and "</html>" in dom, result.stderr[-2000:]
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    total = re.search(r'data-images-total="(\d+)"', dom)
    assert loaded and total, "the page's load handler did not run"
    assert int(total.group(1)) >= 4 and loaded.group(1) == total.group(1), "a picture failed to load"
    for element in elements:
        assert f'id="{element}"' in dom, element
    shot = tmp_path / f"{page.stem}.png"
    result = _browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 2000)
        assert len(img.convert("L").getcolors(1 << 16) or []) > 50  # rendered content, not a blank page
    return dom


def test_run_report_renders_in_chromium(run_page, tmp_path):
    dom = _check(run_page, tmp_path, elements=["overview", "verdicts", "curves", "health", "model", "learned", "looks",
                                           "errors", "config"])
    assert "&lt;script&gt;alert" in dom  # the hostile run name shows as text


def test_search_report_renders_in_chromium(search_page, tmp_path):
    dom = _check(search_page, tmp_path,
                 elements=["leaderboard-table", "best-run-link", "objective", "params", "curves"])
    assert dom.count("<tr class=") == 4


# Appended to a copy of a report: once the page has loaded, the height it scrolls (sections as they open),
# then, with every <details> opened, the smallest text the HTML draws and each picture's displayed and
# natural width, written onto <body> where --dump-dom shows them.
_MEASURE = """<script>
window.addEventListener("load", function () {
  var body = document.body;
  body.dataset.collapsedHeight = document.documentElement.scrollHeight;
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  var smallest = 1e9;
  var walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    var node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest("script, style") || !el.getClientRects().length) continue;
    smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize));
  }
  body.dataset.smallestTextPx = smallest;
  body.dataset.imageWidths = Array.from(document.images).map(function (img) {
    return img.getBoundingClientRect().width + ":" + img.naturalWidth; }).join(" ");
});
</script>"""


def _measure(page: Path, tmp_path: Path) -> tuple[int, float, list[tuple[float, int]], str]:
    html = page.read_text()
    probe = tmp_path / "measured.html"
    probe.write_text(html.replace("</body>", _MEASURE + "</body>"))
    result = _browse(probe, tmp_path / "profile", "--dump-dom", "--window-size=1280,2000")
    body = re.search(r"<body[^>]*>", result.stdout)
    assert result.returncode == 0 and body, result.stderr[-2000:]
    found = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(0)))
    widths = [tuple(map(float, pair.split(":"))) for pair in found["image-widths"].split()]
    return int(found["collapsed-height"]), float(found["smallest-text-px"]), widths, html


def _smallest_picture_text(html: str, widths: list[tuple[float, float]]) -> tuple[list[float], dict[str, float]]:
    """Each picture's smallest text in px as the reader sees it, and each picture's displayed height by alt."""
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', html)
    assert len(sources) == len(widths) >= 4
    seen, shown_height = [], {}
    for (source, alt), (shown, natural) in zip(sources, widths, strict=True):
        with Image.open(io.BytesIO(base64.b64decode(source))) as png:
            assert png.width == natural
            seen.append(float(png.text[TEXT_PX_KEY]) * shown / natural)
            shown_height[alt] = png.height * shown / natural
    return seen, shown_height


@pytest.mark.parametrize("page", ["run_page", "search_page"])
def test_every_text_of_the_image_and_search_reports_is_at_least_10_px(page, request, tmp_path):
    _, smallest_html, widths, html = _measure(request.getfixturevalue(page), tmp_path)
    seen, _ = _smallest_picture_text(html, widths)
    assert smallest_html >= 10 and min(seen) >= MIN_TEXT_PX, (smallest_html, sorted(seen)[:5])


def test_a_deep_signal_net_report_is_compact_and_readable(deep_signal_page, tmp_path):
    height, smallest_html, widths, html = _measure(deep_signal_page, tmp_path)
    # a few screens, not 18,000 px: the deep net's further layers, long tables and the config are folded
    assert 3000 < height < 10_000, height  # measured 8,499 px at 1280 px wide (2026-11-26)
    assert smallest_html >= 10, smallest_html
    seen, shown_height = _smallest_picture_text(html, widths)
    assert len(seen) >= 10
    assert min(seen) >= MIN_TEXT_PX, sorted(seen)[:5]
    assert shown_height["curves"] > 300, shown_height["curves"]  # five metrics in rows, not a 150 px strip
    assert shown_height["kernels-inception1-b1-conv"] < 400, shown_height  # 1-tap: one bar chart, not 4 x 4 plots
    assert html.count("<details") >= 4  # the health and model tables, the further kernels and feature maps
