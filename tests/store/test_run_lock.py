"""One writer per run: resuming a run that is still training is refused (issue 13, item 2)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.errors import BusyError
from convscope.store import Store
from convscope.store.run_lock import RunLock

TINY = {"name": "tiny", "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
        "model": {"layers": ["flatten", {"dense": 10}]}, "train": {"epochs": 1, "batch_size": 256}}


def _row(store: Store, run_id: int) -> tuple:
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT status, pid, reason, epochs FROM runs WHERE id=?", (run_id,)).fetchone()


@pytest.fixture
def interrupted() -> tuple[Store, int]:
    run = convscope.run(TINY)
    store = Store()
    store.reopen_run(run.id)
    store.finish_run(run.id, status="interrupted", reason="process ended during training")
    return store, run.id


def test_resume_of_a_run_whose_process_is_alive_is_refused_with_exit_4(interrupted):
    store, run_id = interrupted
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # the row says another live process on this machine is training it
        with sqlite3.connect(store.path) as db:
            db.execute("UPDATE runs SET status='running', pid=? WHERE id=?", (trainer.pid, run_id))
        before = _row(store, run_id)
        result = CliRunner().invoke(app, ["run", "--resume", str(run_id), "--no-report"])
        assert result.exit_code == 4, result.output
        assert f"run {run_id} is still training in process {trainer.pid}" in result.output
        assert _row(Store(), run_id) == before
    finally:
        trainer.kill()
        trainer.wait()


def test_resume_of_a_run_whose_lock_is_held_is_refused(interrupted):
    store, run_id = interrupted
    before = _row(store, run_id)
    with RunLock(store.run_dir(run_id), run_id=run_id), pytest.raises(BusyError, match="still training"):
        convscope.run(resume=run_id)
    assert _row(store, run_id) == before


def test_the_lock_is_released_when_the_run_ends_and_a_resume_goes_on(interrupted):
    store, run_id = interrupted
    assert convscope.run(resume=run_id).status == "completed"
    RunLock(store.run_dir(run_id), run_id=run_id).acquire().release()  # free again


def test_a_killed_holder_leaves_no_lock(tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path[:0] = {sys.path!r}
from convscope.store.run_lock import RunLock
RunLock(__import__('pathlib').Path({str(folder)!r}), run_id=1).acquire()
print('locked', flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(BusyError):
        RunLock(folder, run_id=1).acquire()
    holder.kill()
    holder.wait()
    RunLock(folder, run_id=1).acquire().release()
