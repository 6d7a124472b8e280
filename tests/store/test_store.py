"""store/db.py on both backends: schema and migrations, per-epoch transactions, liveness, ownership."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa
import torch

from convscope.errors import StoreError
from convscope.store import Store, load_state, load_weights, save_state, save_weights, schema
from convscope.store.db import SCHEMA_VERSION, RunTakenOver


def _new_run(store: Store, name: str = "a") -> int:
    return store.create_run(name=name, config_yaml=f"name: {name}\n", seed=1, env={"torch": "x"}, monitor="val_loss")


def _sql(store: Store, statement: str, **params) -> None:
    with store._engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_run_lifecycle(tmp_path, store_backend):
    store = Store(tmp_path)
    assert store.is_server == (store_backend is not None)
    run_id = _new_run(store)
    store.log_epoch(run_id, 1, {"train_loss": 1.0, "val_loss": 0.9}, 0.5, best_epoch=1, best_value=0.9)
    store.log_epoch(run_id, 2, {"train_loss": 0.8, "val_loss": float("nan")}, 0.5)
    store.log_epoch(run_id, 2, {"train_loss": 0.7, "val_loss": 0.8}, 0.5)  # an epoch written again replaces it
    store.finish_run(run_id, status="completed", reason="done", test={"test_accuracy": 0.5}, info={"k": 1})
    row = store.run(run_id)
    assert row["status"] == "completed" and row["epochs"] == 2 and row["best_epoch"] == 1
    assert row["test"] == {"test_accuracy": 0.5} and row["info"] == {"k": 1}
    assert [e["train_loss"] for e in store.epochs(run_id)] == [1.0, 0.7]
    assert (store.run_dir(run_id) / "config.yaml").read_text() == "name: a\n"
    assert row["artifacts"] == str(store.run_dir(run_id))  # the row says where its folder is
    store.truncate_epochs(run_id, 1)
    assert [e["epoch"] for e in store.epochs(run_id)] == [1] and store.run(run_id)["epochs"] == 1
    store.create_search("s", config_yaml="x: 1\n", storage="rdb", info={"budget": 2})
    store.set_search_status("s", "finished")
    assert store.search("s")["status"] == "finished" and [s["name"] for s in store.searches()] == ["s"]
    with pytest.raises(StoreError, match="no search named 'nope'"):
        store.search("nope")


def test_dead_process_on_this_host_is_interrupted_at_once(tmp_path, store_backend):
    store = Store(tmp_path)
    run_id = _new_run(store)
    store.close()  # stops its heartbeat thread: only the pid tells
    _sql(store, "UPDATE runs SET pid=:pid WHERE id=:id", pid=2**22 + 12345, id=run_id)  # no such process
    row = Store(tmp_path).run(run_id)
    assert row["status"] == "interrupted" and row["reason"] == "process ended during training"


def test_another_node_is_judged_by_its_heartbeat(tmp_path, store_backend, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_HEARTBEAT", "1")  # stale after 4 s
    store = Store(tmp_path)
    dead, alive = _new_run(store, "dead"), _new_run(store, "alive")
    store.close()
    # rows of processes on another node: their pid means nothing here, only the heartbeat does
    _sql(store, "UPDATE runs SET host='node-b', pid=1, heartbeat=:old WHERE id=:id", old=time.time() - 60, id=dead)
    _sql(store, "UPDATE runs SET host='node-b', pid=1, heartbeat=:now WHERE id=:id", now=time.time(), id=alive)
    again = Store(tmp_path)
    assert again.run(alive)["status"] == "running"
    row = again.run(dead)
    assert row["status"] == "interrupted" and "no heartbeat from node-b" in row["reason"]


def test_a_running_run_beats(tmp_path, store_backend, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_HEARTBEAT", "0.05")
    store = Store(tmp_path)
    run_id = _new_run(store)
    first = store.run(run_id)["heartbeat"]
    time.sleep(0.5)
    assert store.run(run_id)["heartbeat"] > first
    store.finish_run(run_id, status="completed")
    assert not store._beats  # finishing stops the beat


def test_a_run_taken_over_elsewhere_is_not_written_by_its_old_process(tmp_path, store_backend):
    store = Store(tmp_path)
    run_id = _new_run(store)
    store.log_epoch(run_id, 1, {"val_loss": 1.0}, 0.1)
    store.close()
    _sql(store, "UPDATE runs SET host='node-b', pid=7 WHERE id=:id", id=run_id)  # resumed on node-b
    with pytest.raises(RunTakenOver, match="no longer this process's"):
        store.log_epoch(run_id, 2, {"val_loss": 0.5}, 0.1)
    assert [e["epoch"] for e in store.epochs(run_id)] == [1] and store.run(run_id)["epochs"] == 1
    assert not store.finish_run(run_id, status="failed", reason="the old copy's error")
    assert store.run(run_id)["status"] == "running"  # still node-b's to finish
    assert not store.finish_run(run_id, status="failed", reason="the old copy's error")
    assert store.run(run_id)["status"] == "running"  # still node-b's to finish


def test_version_1_store_is_migrated_in_place(tmp_path, store_backend):
    from convscope.store.engine import database_url, engine_for

    engine = engine_for(database_url(tmp_path, None))
    with engine.begin() as conn:  # what convscope 0.1 created, with one finished run in it
        schema.meta.create(conn)
        schema.MIGRATIONS[0](conn)
        conn.execute(schema.meta.insert().values(key="schema", value="1"))
        conn.execute(sa.text("INSERT INTO runs (name, status, config, created, epochs) "
                             "VALUES ('old', 'completed', 'name: old', 1.0, 3)"))
    store = Store(tmp_path)
    (row,) = store.runs()
    assert row["name"] == "old" and row["epochs"] == 3 and row["heartbeat"] is None
    with store._engine.connect() as conn:
        assert schema.version(conn) == SCHEMA_VERSION == 2
    assert _new_run(store) == row["id"] + 1


def test_newer_schema_is_refused_and_nothing_is_written(tmp_path, store_backend):
    store = Store(tmp_path)
    _sql(store, "UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(StoreError, match="newer than this convscope") as err:
        Store(tmp_path)
    assert "upgrade convscope" in err.value.hint
    with store._engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM meta")).scalar() == "99"


def test_unknown_run_is_a_clear_error(tmp_path, store_backend):
    with pytest.raises(StoreError, match="no run 7"):
        Store(tmp_path).run(7)
    with pytest.raises(StoreError, match="not a run id"):
        Store(tmp_path).run("abc")


def test_lock_is_exclusive_across_connections(tmp_path, store_backend):
    import threading

    store, inside, overlaps = Store(tmp_path), [], []

    def hold() -> None:
        with Store(tmp_path).lock("search:x"):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1, 1, 1, 1]
    with store.lock("search:x"):
        pass


@pytest.mark.parametrize("url, words", [
    ("postgresql://convscope:x@127.0.0.1:1/db", "database unreachable"),
    ("mysql://a@b/c", "'mysql' databases are not supported"),
    ("not a url", "is not a database URL"),
])
def test_bad_store_url_is_one_line(tmp_path, url, words):
    with pytest.raises(StoreError, match=words):
        Store(tmp_path, url=url)
    assert not (tmp_path / "runs.db").exists()


def test_wrong_credentials_are_named(tmp_path):
    base = os.environ.get("CONVSCOPE_TEST_POSTGRES")
    if not base:
        pytest.skip("$CONVSCOPE_TEST_POSTGRES is unset (.ci/run starts a PostgreSQL server and sets it)")
    url = sa.engine.make_url(base).set(password="s3cr3t-typo")
    with pytest.raises(StoreError, match="wrong credentials") as err:
        Store(tmp_path, url=url.render_as_string(hide_password=False))
    assert "s3cr3t-typo" not in str(err.value)  # the password itself is never printed


def test_cli_bad_store_exits_2_with_one_line(tmp_path):
    from typer.testing import CliRunner

    from convscope.cli import app

    out = CliRunner().invoke(app, ["--store", "postgresql://u:p@127.0.0.1:1/db", "runs"])
    assert out.exit_code == 2
    assert "error:" in out.output and "database unreachable" in out.output and "Traceback" not in out.output


def test_unwritable_artifact_root_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(StoreError, match="is not writable"):
        Store(tmp_path / "home", artifacts="/proc/convscope-cannot-write-here")
    assert not (tmp_path / "home" / "runs.db").exists()


def test_remote_artifact_root_receives_the_run_folder(tmp_path, store_backend):
    import fsspec

    store = Store(tmp_path, artifacts="memory://convscope-test-artifacts")
    run_id = _new_run(store)
    (store.run_dir(run_id) / "best.safetensors").write_bytes(b"weights")
    store.finish_run(run_id, status="completed")
    where = store.run(run_id)["artifacts"]
    assert where.startswith("memory://") and where.endswith(f"/convscope-test-artifacts/runs/{run_id}")
    fs = fsspec.filesystem("memory")
    assert fs.cat(f"{where}/best.safetensors") == b"weights" and fs.cat(f"{where}/config.yaml") == b"name: a\n"
    # another node (another staging folder) pulls it back when it resumes the run
    elsewhere = Store(tmp_path, artifacts="memory://convscope-test-artifacts")
    elsewhere.artifact_root.staging = tmp_path / "node-b-staging"
    folder = elsewhere.artifact_root.pull(run_id)  # (memory:// is per process: here both "nodes" share it)
    assert folder != store.run_dir(run_id) and (folder / "best.safetensors").read_bytes() == b"weights"


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
