"""RunStatus: one place knows each status's colour, rank and whether it ended."""

from __future__ import annotations

from convscope.store import FINISHED, RunStatus
from convscope.store.status import has_objective, in_flight, status_color, status_rank


def test_statuses_are_their_text():
    assert RunStatus("early_stopped") is RunStatus.EARLY_STOPPED
    assert f"{RunStatus.PRUNED}" == str(RunStatus.PRUNED) == "pruned" and RunStatus.PRUNED == "pruned"
    assert RunStatus.of("no-such") is None


def test_only_runs_that_ran_to_their_end_have_an_objective():
    assert [s.value for s in RunStatus if s.has_objective] == ["completed", "early_stopped"]
    assert has_objective("completed") and not has_objective("pruned") and not has_objective("unknown")


def test_finished_statuses_are_what_the_store_accepts():
    assert set(FINISHED) == {"completed", "early_stopped", "pruned", "diverged", "failed", "interrupted"}
    assert in_flight("running") and in_flight("starting") and not in_flight("failed")


def test_leaderboard_rank_and_colours():
    order = sorted(["failed", "pruned", "running", "completed", "interrupted", "diverged", "mystery"], key=status_rank)
    assert order == ["completed", "running", "interrupted", "pruned", "diverged", "failed", "mystery"]
    assert [status_color(s) for s in ("early_stopped", "starting", "pruned", "diverged", "mystery")] == \
        ["green", "cyan", "yellow", "red", "white"]
