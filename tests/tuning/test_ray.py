"""The Ray backend on a real local Ray runtime (GCS, raylet, worker processes): not mocked, not skipped."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess

import psutil
import pytest
import ray

from convscope.store import Store
from convscope.tuning import driver, search
from convscope.tuning.backends import BACKENDS


def test_ray_backend_runs_trials_as_ray_tasks(make_search, home):
    cfg = make_search({"lr": {"loguniform": [1e-3, 3e-2]}, "filters": {"choice": [4, 8]}}, strategy="random",
                      trials=2)
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        result = search(cfg, name="on-ray", backend="ray", workers=2, progress=False)
        task_pids = {r["pid"] for r in Store(home).runs(search="on-ray")}
    finally:
        ray.shutdown()
    assert result.status == "finished" and result.finished == 2
    assert all(t.status == "completed" and t.run_id is not None for t in result.trials)
    assert os.getpid() not in task_pids  # trained in Ray's worker processes, stored in the same run store
    assert result.info.backend == "ray"


def _listening_addresses(pids: set[int]) -> set[str]:
    """The IPs the given processes listen on (TCP), from `ss -ltnp`, the issue's own check."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            host = line.split()[3].rsplit(":", 1)[0].strip("[]")
            found.add(host.removeprefix("::ffff:"))
    return found


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs `ss` (iproute2) to list listening sockets")
def test_a_local_ray_search_listens_on_loopback_only(make_search, home, monkeypatch):
    """Without --address convscope starts Ray itself: its GCS, raylet and workers must not be reachable
    from the network (issue 13, item 1)."""
    cfg = make_search({"lr": {"loguniform": [1e-3, 3e-2]}}, strategy="random", trials=2)
    seen: set[str] = set()
    backend = BACKENDS.entry("ray").obj(num_cpus=2)
    original_running = backend.running

    def running_and_listening() -> bool:  # sampled while the trials run, as the search polls its backend
        ray_pids = {p.pid for p in psutil.Process().children(recursive=True)}
        seen.update(_listening_addresses(ray_pids))
        return original_running()

    backend.running = running_and_listening
    monkeypatch.setattr(driver, "make_backend", lambda kind, address: backend)
    result = search(cfg, name="local-ray", backend="ray", workers=2, progress=False)
    assert result.finished == 2 and not ray.is_initialized()
    assert seen, "no Ray process was seen listening"
    assert all(ipaddress.ip_address(ip).is_loopback for ip in seen), seen
