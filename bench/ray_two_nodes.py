"""Two Ray nodes on one machine, a PostgreSQL run store, and a node that dies mid-trial.

Starts a Ray head and a second node with ``ray start`` (distinct ports, 1 CPU each), runs a search with
``--backend ray --address 127.0.0.1:PORT`` against the PostgreSQL store, kills the second node's raylet
(and so its worker) while one of its trials is between epochs, and checks what the issue asks: the
search finishes with every trial exactly once, and the dead node's trial continued on the surviving
node from its last finished epoch. Only the Ray processes this script started are stopped.

    CONVSCOPE_TEST_POSTGRES=postgresql://... python bench/ray_two_nodes.py

Needs a PostgreSQL server (``.ci/postgres.sh`` starts one). Ray's token authentication, when a token
exists in ``~/.ray/auth_token``, needs ``RAY_AUTH_MODE=token`` for every ``ray`` command and driver:
this script sets it when that file exists.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
import yaml

HEAD_PORT = 6390
EPOCHS = 6


def ray_start(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).parent / "ray"), "start", *args, "--disable-usage-stats"], env=env,
                   check=True, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def raylets(temp: Path) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "raylet/raylet" in line and str(temp) in line]


def own_processes(temp: Path) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()
            if str(temp) in line and "ps -eo" not in line]


def children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout
    return {int(p) for p, pp in (line.split() for line in out.splitlines()[1:]) if int(pp) == pid}


def main() -> None:
    base = os.environ.get("CONVSCOPE_TEST_POSTGRES")
    if not base:
        sys.exit("set CONVSCOPE_TEST_POSTGRES to a PostgreSQL URL (.ci/postgres.sh prints one)")
    work = Path(tempfile.mkdtemp(prefix="convscope-ray-"))
    temp = work / "ray"
    schema = f"ray_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src, "CONVSCOPE_STORE": f"{base}?options=-csearch_path%3D{schema}",
           "CONVSCOPE_ARTIFACTS": str(work / "shared"), "CONVSCOPE_HOME": str(work / "home"),
           "CONVSCOPE_HEARTBEAT": "2", "OMP_NUM_THREADS": "1"}
    if (Path.home() / ".ray" / "auth_token").exists():
        env["RAY_AUTH_MODE"] = "token"
    config = {
        "name": "ray-two-nodes", "seed": 0,
        "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
        "params": {"lr": {"loguniform": [1e-3, 1e-2]}, "filters": {"choice": [8, 16]}},
        "model": {"layers": [{"conv": {"filters": "${filters}", "kernel": 3, "padding": "same", "activation": "relu"}},
                             {"conv": {"filters": "${filters}", "kernel": 3, "padding": "same", "activation": "relu"}},
                             {"maxpool": 2}, "flatten", {"dense": 10}]},
        "train": {"epochs": EPOCHS, "batch_size": 64, "optimizer": {"name": "adam", "lr": "${lr}"}},
        "search": {"strategy": "random", "trials": 4, "workers": 2, "threads_per_worker": 1,
                   "objective": {"metric": "val_accuracy"}},
    }
    (work / "search.yaml").write_text(yaml.safe_dump(config))
    t0 = time.monotonic()
    try:
        ray_start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(HEAD_PORT), "--num-cpus", "1",
                   "--include-dashboard", "false", "--temp-dir", str(temp), "--ray-client-server-port", "6399"], env)
        head_raylet = set(raylets(temp))
        ray_start(["--address", f"127.0.0.1:{HEAD_PORT}", "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
                   "--node-manager-port", "6391", "--object-manager-port", "6392", "--min-worker-port", "11000",
                   "--max-worker-port", "11100"], env)
        (node_b,) = set(raylets(temp)) - head_raylet
        print(f"two Ray nodes up in {time.monotonic() - t0:.1f} s; node B's raylet is process {node_b}")
        search = subprocess.Popen([sys.executable, "-m", "convscope.cli", "search", str(work / "search.yaml"),
                                   "--name", "two-nodes", "--backend", "ray", "--address", f"127.0.0.1:{HEAD_PORT}"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sys.path.insert(0, src)
        os.environ.update({k: v for k, v in env.items() if k.startswith("CONVSCOPE_")})
        from convscope.store import Store

        victim = None
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline:
            assert search.poll() is None, search.stderr.read()
            on_b = children(node_b)
            victim = next((r for r in Store().runs(search="two-nodes") if r["pid"] in on_b
                           and r["status"] == "running" and 1 <= r["epochs"] < EPOCHS - 1), None)
            time.sleep(0.1)
        assert victim is not None, "no trial of node B reached an epoch"
        before = Store().epochs(victim["id"])
        doomed = children(node_b)  # its worker processes (once the raylet is gone they belong to init)
        os.kill(node_b, signal.SIGKILL)
        for pid in doomed:
            os.kill(pid, signal.SIGKILL)
        print(f"killed node B during run {victim['id']} (trial {victim['trial']}) after epoch {victim['epochs']}")
        code = search.wait(timeout=600)
        print(f"search exited {code} after {time.monotonic() - t0:.1f} s")
        store = Store()
        runs = store.runs(search="two-nodes")
        row = store.run(victim["id"])
        after = store.epochs(victim["id"])
        kept = all(after[e["epoch"] - 1]["seconds"] == e["seconds"] for e in before)
        report = {"exit": code, "runs": len(runs), "statuses": sorted(r["status"] for r in runs),
                  "trials_in_store": sorted(r["trial"] for r in runs), "victim_status": row["status"],
                  "victim_epochs": [e["epoch"] for e in after], "epochs_before_kill_untouched": kept,
                  "victim_now_trial": row["trial"], "victim_pid_before": victim["pid"], "victim_pid_after": row["pid"]}
        print(json.dumps(report, indent=1))
        ok = (code == 0 and len(runs) == 4 and row["status"] == "completed" and kept
              and [e["epoch"] for e in after] == list(range(1, EPOCHS + 1)))
        print("OK" if ok else "NOT OK")
        if not ok:
            print(search.stderr.read()[-3000:])
    finally:
        for pid in own_processes(temp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
