"""Searches end to end on builtin:digits with a tiny CNN: strategies, pruning, workers, failures, leaderboard."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from convscope.cli import app
from convscope.errors import ConfigError
from convscope.store import Store
from convscope.tuning import load_search, search


def _params(result):
    return [t.params for t in sorted(result.trials, key=lambda t: t.number)]


def test_grid_runs_every_point_exactly_once(make_search, home):
    cfg = make_search({"filters": {"grid": [4, 8, 16]}, "lr": {"grid": [0.01, 0.03]}}, strategy="grid")
    result = search(cfg, name="grid", progress=False)
    assert len(result.trials) == 6 and result.status == "finished"
    combos = {(t.params["filters"], t.params["lr"]) for t in result.trials}
    assert combos == {(f, lr) for f in (4, 8, 16) for lr in (0.01, 0.03)}
    runs = Store(home).runs(search="grid")
    assert sorted(r["trial"] for r in runs) == list(range(6))
    assert all(r["status"] == "completed" and r["params"] == next(
        t.params for t in result.trials if t.number == r["trial"]) for r in runs)
    best = max(result.trials, key=lambda t: t.value)
    assert result.best_run_id == best.run_id and result.best_value == best.value
    with pytest.raises(ConfigError) as err:  # a name is one search: a second start is refused, not merged
        search(cfg, name="grid", progress=False)
    assert "already exists" in err.value.message and "--resume grid" in err.value.hint


def test_tpe_respects_trials_and_reproduces(make_search):
    # (random's trial count is checked by the two-worker and the resume tests)
    space = {"lr": {"loguniform": [1e-3, 3e-2]}, "filters": {"choice": [4, 8]}}
    tpe = search(make_search(space, strategy="tpe", trials=3), name="tpe-a", progress=False)
    again = search(make_search(space, strategy="tpe", trials=3), name="tpe-b", progress=False)
    assert len(tpe.trials) == 3 and tpe.finished == 3
    assert _params(tpe) == _params(again)  # same config + seed → same sampled params


def test_asha_prunes_configs_that_cannot_learn(make_search):
    # lr=10 makes Adam blow the weights up: accuracy stays at chance (finite loss, so pruned, not diverged)
    cfg = make_search({"lr": {"grid": [10.0, 0.01]}, "filters": {"grid": [4, 8, 16]}}, epochs=3,
                      strategy="grid", pruner="asha")
    result = search(cfg, name="asha", progress=False)
    assert result.finished == 6
    hopeless = [t for t in result.trials if t.params["lr"] == 10.0]
    pruned = [t for t in hopeless if t.status == "pruned"]
    # ASHA promotes the first trial to reach a rung whatever its score; every later hopeless one is pruned
    assert len(pruned) >= len(hopeless) - 1 and all(t.epochs == 1 for t in pruned)
    assert all("pruned at epoch 1 (rung 0) by asha" in t.reason for t in pruned)
    assert result.best.params["lr"] == 0.01 and result.best.epochs == 3
    assert result.epochs < 6 * 3


@pytest.mark.cuda
def test_two_workers_train_their_trials_on_one_gpu(make_search, home):
    cfg = make_search({"lr": {"loguniform": [1e-3, 3e-2]}, "filters": {"choice": [4, 8]}}, epochs=2,
                      strategy="tpe", trials=4)
    cfg["train"] = {**cfg["train"], "device": "cuda", "precision": "bf16"}
    result = search(cfg, name="on-gpu", workers=2, progress=False)  # spawned workers: each opens its own CUDA context
    assert result.finished == 4
    runs = Store(home).runs(search="on-gpu")
    assert len({r["pid"] for r in runs}) == 2
    for r in runs:
        env = r["info"]["env"]  # as the trial's trainer resolved it
        assert r["status"] == "completed" and env["device"].startswith("cuda") and env["precision"] == "bf16"
    assert result.best_value > 0.5  # 2 epochs on digits: far above chance (0.1)


def test_two_workers_share_the_budget(make_search, home, store_backend):
    cfg = make_search({"lr": {"loguniform": [1e-3, 3e-2]}, "filters": {"choice": [4, 8]}}, epochs=2,
                      strategy="random", trials=4)
    result = search(cfg, name="pair", workers=2, progress=False)
    assert result.finished == 4 and len(result.trials) == 4
    store = Store(home)
    runs = store.runs(search="pair")
    assert len({r["id"] for r in runs}) == len(runs) == 4
    assert sorted(r["trial"] for r in runs) == [0, 1, 2, 3]
    assert len({r["pid"] for r in runs}) == 2  # both workers trained
    for r in runs:
        assert r["status"] == "completed" and r["epochs"] == 2
        assert [e["epoch"] for e in store.epochs(r["id"])] == [1, 2]
        assert r["info"]["objective"]["metric"] == "val_accuracy"
    assert store.search("pair")["status"] == "finished"
    # the search state is where the store is: Optuna's tables in PostgreSQL, else a journal file next to runs.db
    assert store.search("pair")["storage"] == ("rdb" if store_backend else str(home.resolve() / "searches" / "pair.journal"))


def test_a_failing_trial_does_not_stop_the_search(make_search, home, tmp_path, store_backend):
    cfg = make_search({"blocks": {"grid": [1, 5]}}, strategy="grid")
    # five 2x2 poolings do not fit an 8x8 digit: that trial fails at build time, the other one trains
    cfg["model"]["layers"] = [
        {"repeat": "${blocks}", "layers": [{"conv": {"filters": 4, "kernel": 3, "padding": "same"}}, {"maxpool": 2}]},
        "flatten", {"dense": 10}]
    path = tmp_path / "blocks.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = CliRunner().invoke(app, ["search", str(path), "--name", "blocks"])
    assert out.exit_code == 0, out.output
    assert "best trial" in out.output
    result = load_search("blocks")
    by_blocks = {t.params["blocks"]: t for t in result.trials}
    assert by_blocks[1].status == "completed" and by_blocks[5].status == "failed"
    assert "smaller than the pool window" in by_blocks[5].reason
    assert Store(home).run(by_blocks[5].run_id)["status"] == "failed"

    board = CliRunner().invoke(app, ["runs", "--search", "blocks"], terminal_width=200)
    assert board.exit_code == 0, board.output
    lines = board.output.splitlines()
    completed = next(i for i, line in enumerate(lines) if "completed" in line)
    failed = next(i for i, line in enumerate(lines) if "failed" in line)
    assert completed < failed and "model" in lines[failed], board.output  # the reason starts on its row


def test_resume_may_raise_trials_but_not_change_the_space(make_search):
    cfg = make_search({"lr": {"loguniform": [1e-3, 3e-2]}}, strategy="random", trials=2)
    first = search(cfg, name="grow", progress=False)
    with pytest.raises(ConfigError) as err:
        search(resume="grow", overrides=["params.lr={loguniform: [1.0e-4, 1.0e-2]}"], progress=False)
    assert "params.lr" in err.value.message and "search.trials" in err.value.hint
    grown = search(resume="grow", overrides=["search.trials=3"], workers=2, progress=False)
    assert grown.finished == 3 and grown.status == "finished"
    assert [t.params for t in grown.trials][:2] == [t.params for t in first.trials]
    assert [t.run_id for t in grown.trials][:2] == [t.run_id for t in first.trials]  # kept, not rerun


def test_a_trials_checkpoint_is_the_epoch_its_objective_ranks(make_search, home):
    # issue 14: val_accuracy ranked epoch 11 while the checkpoint and test metrics came from val_loss's epoch 10
    cfg = make_search({"lr": {"grid": [0.03]}}, strategy="grid", epochs=4)
    result = search(cfg, name="monitor", progress=False)
    row = Store(home).run(result.best_run_id)
    objective = row["info"]["objective"]
    history = Store(home).epochs(row["id"])
    best = max(history, key=lambda h: h["val_accuracy"])
    assert row["monitor"] == "val_accuracy"
    assert objective["epoch"] == row["best_epoch"] == best["epoch"] and objective["value"] == best["val_accuracy"]
