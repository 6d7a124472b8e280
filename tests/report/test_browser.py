"""The reports in a real browser: headless Chromium loads each file, every picture decodes, the key elements
are there, and a screenshot is saved.

Chromium is a Debian package (``apt-get install chromium``; ``.ci/run`` installs it). Without it the test
fails in CI (``CI`` set) and is skipped elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

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
