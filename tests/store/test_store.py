"""store/: schema, per-epoch transactions, interrupted detection, safetensors checkpoints."""

from __future__ import annotations

import sqlite3

import pytest
import torch

from convscope.errors import StoreError
from convscope.store import Store, load_state, load_weights, save_state, save_weights
from convscope.store.db import SCHEMA_VERSION


def test_run_lifecycle(tmp_path):
    store = Store(tmp_path)
    run_id = store.create_run(name="a", config_yaml="name: a\n", seed=1, env={"torch": "x"}, monitor="val_loss")
    store.log_epoch(run_id, 1, {"train_loss": 1.0, "val_loss": 0.9}, 0.5, best_epoch=1, best_value=0.9)
    store.log_epoch(run_id, 2, {"train_loss": 0.8, "val_loss": float("nan")}, 0.5)
    store.finish_run(run_id, status="completed", reason="done", test={"test_accuracy": 0.5})
    row = store.run(run_id)
    assert row["status"] == "completed" and row["epochs"] == 2 and row["best_epoch"] == 1
    assert row["test"] == {"test_accuracy": 0.5}
    assert [e["epoch"] for e in store.epochs(run_id)] == [1, 2]
    assert (store.run_dir(run_id) / "config.yaml").read_text() == "name: a\n"


def test_dead_running_row_becomes_interrupted(tmp_path):
    store = Store(tmp_path)
    run_id = store.create_run(name="a", config_yaml="x", seed=0, env={})
    store._conn.execute("UPDATE runs SET pid=? WHERE id=?", (2**22 + 12345, run_id))  # no such process
    store.close()
    assert Store(tmp_path).run(run_id)["status"] == "interrupted"


def test_schema_version_and_newer_store_refused(tmp_path):
    store = Store(tmp_path)
    assert store._conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == str(SCHEMA_VERSION)
    store.close()
    with sqlite3.connect(tmp_path / "runs.db") as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(StoreError, match="newer than this convscope"):
        Store(tmp_path)


def test_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no run 7"):
        Store(tmp_path).run(7)
    with pytest.raises(StoreError, match="not a run id"):
        Store(tmp_path).run("abc")


def test_weights_and_state_round_trip(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model(torch.randn(8, 4)).sum().backward()
    opt.step()
    sched.step()
    save_weights(model, tmp_path / "w.safetensors")
    rng = torch.get_rng_state()  # (5056,) uint8; building the clone below draws from the generator
    save_state(tmp_path / "s.safetensors", model=model, optimizer=opt, scheduler=sched, epoch=3,
               extra={"history": [{"epoch": 1, "val_loss": 0.5}], "rng": rng})
    clone = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))
    load_weights(clone, tmp_path / "w.safetensors")
    for a, b in zip(model.state_dict().values(), clone.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    opt2 = torch.optim.Adam(clone.parameters(), lr=0.01)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    epoch, extra = load_state(tmp_path / "s.safetensors", model=clone, optimizer=opt2, scheduler=sched2)
    assert epoch == 3 and extra["history"] == [{"epoch": 1, "val_loss": 0.5}]
    assert extra["rng"].dtype == torch.uint8 and torch.equal(extra["rng"], rng)
    assert not torch.equal(rng, torch.get_rng_state())  # so the equality above is the stored state's
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.005)
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"]) for k in s1)
