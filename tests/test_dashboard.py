"""``convscope dashboard``: optuna-dashboard served on 127.0.0.1 for a real search, opened in headless Chromium.

Chromium is a Debian package (``apt-get install chromium``; ``.ci/run`` installs it). Without it the browser
test fails in CI (``CI`` set) and is skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from convscope.cli import app
from convscope.store import Store
from convscope.tuning import search

runner = CliRunner()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install -y chromium): the browser test must run in CI")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """The local addresses listening on ``port``, from the kernel's table (hex IPv4 as /proc writes it)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.fixture
def two_trials(digits_cfg):
    digits_cfg["params"]["filters"] = {"grid": [4, 8]}
    digits_cfg["train"]["epochs"] = 1
    digits_cfg["search"] = {"strategy": "grid", "objective": {"metric": "val_accuracy"}, "threads_per_worker": 1}
    return search(digits_cfg, name="grid", progress=False)


def test_dashboard_lists_trials_with_their_run_ids_in_a_browser(tmp_path, two_trials):
    chromium = _chromium()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from convscope.cli import app; app()", "dashboard", "grid",
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=10) as response:
                    assert b'"study_name": "grid"' in response.read()
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the dashboard did not answer within 90 s"
                time.sleep(0.5)
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only

        page = f"http://127.0.0.1:{port}/dashboard/studies/0/trials?numbers=0,1"
        result = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                                 "--virtual-time-budget=15000", "--dump-dom", page],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", result.stdout,
                                                                   flags=re.S)))
        for trial in two_trials.trials:
            assert f"Trial {trial.number} (trial_id={trial.number})" in text, text[:3000]
            assert f"convscope show {trial.run_id}" in text, text[:3000]
        assert text.count("run_id") == 2 and text.count("status completed") == 2, text[:3000]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/dashboard/" in output


def test_dashboard_names_the_known_searches_for_a_wrong_name():
    Store().create_search("grid", config_yaml="{}", storage="searches/grid.journal")
    result = runner.invoke(app, ["dashboard", "gird"])
    assert result.exit_code == 2
    assert "no search named 'gird'" in result.output and "known searches: grid" in result.output


def test_dashboard_without_a_search_says_how_to_start_one():
    result = runner.invoke(app, ["dashboard"])
    assert result.exit_code == 2 and "no search in" in result.output and "convscope search CONFIG" in result.output


def test_dashboard_without_optuna_dashboard_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # how Python spells "not installed"
    result = runner.invoke(app, ["dashboard"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: convscope dashboard needs the 'optuna-dashboard' package: pip install \"convscope[dashboard]\""]


def test_dashboard_serves_the_storage_the_search_ran_on(store_backend, digits_cfg):
    """A journal beside an embedded store, or Optuna's RDB tables in the PostgreSQL store
    (``CONVSCOPE_STORE``, inherited by the server process): the same trials and run ids either way."""
    digits_cfg["params"]["filters"] = {"grid": [4, 8]}
    digits_cfg["train"]["epochs"] = 1
    digits_cfg["search"] = {"strategy": "grid", "objective": {"metric": "val_accuracy"}, "threads_per_worker": 1}
    result = search(digits_cfg, name="grid-db", progress=False)
    assert (Store().search("grid-db")["storage"] == "rdb") == bool(store_backend)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from convscope.cli import app; app()", "dashboard", "grid-db",
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        studies = json.loads(_get(server, f"http://127.0.0.1:{port}/api/studies"))["study_summaries"]
        (study,) = [s for s in studies if s["study_name"] == "grid-db"]
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        detail = json.loads(_get(server, f"http://127.0.0.1:{port}/api/studies/{study['study_id']}"))
        shown = {int(a["value"]) for t in detail["trials"] for a in t["user_attrs"] if a["key"] == "run_id"}
        assert shown == {t.run_id for t in result.trials} and len(shown) == 2
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _get(server: subprocess.Popen, url: str) -> bytes:
    """``url``'s body once the server answers (90 s at most; the server's output when it died)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.read()
        except OSError:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, f"{url} did not answer within 90 s"
            time.sleep(0.5)
