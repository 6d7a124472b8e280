"""The Ray backend on a real local Ray runtime (GCS, raylet, worker processes): not mocked, not skipped."""

from __future__ import annotations

import os

import ray

from convscope.store import Store
from convscope.tuning import search


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
