"""The Ray backend: the same worker loops as the local backend, run as Ray tasks on a cluster.

Design: one long-lived Ray task per worker, each running :func:`convscope.tuning.worker.work`
(ask → run → tell until the budget is met), rather than Ray Tune or one task per trial.

- One code path: budget, pruning, fault isolation and ``--resume`` behave exactly as with the local
  backend, and a search started on Ray can be resumed locally (and the other way round), because
  the Optuna journal stays the only record of which trials exist.
- Ray Tune would bring a second trial store (its experiment folder), its own checkpoint layout and
  its own restore semantics (a restored Tune trial restarts from Tune's checkpoint, tracked by Tune,
  not from the run store's ``last.safetensors``), i.e. two answers to "what happened to trial 7".
- One task per trial would make the driver the only process that asks and tells, but a trial must
  reach the storage anyway to report each epoch to the pruner; it buys nothing here and costs a task
  start (and a fresh interpreter import of torch) per trial.

Across nodes: with the embedded store (SQLite file + journal) every node must see ``home`` at the
same path, and SQLite's WAL does not work across hosts, so that is one node. With a PostgreSQL store
(``CONVSCOPE_STORE``, forwarded to every task with the other ``CONVSCOPE_*`` settings) runs, epochs
and the Optuna state are in that database and run folders under the artifact root
(``CONVSCOPE_ARTIFACTS``: a shared folder or an object store), so trials run on every node of the
cluster. A task whose node dies is then retried by Ray on another node (``max_retries``); its
worker loop, like every other, finds the dead trial's heartbeat stale and continues that trial's run
from its last finished epoch (``worker.py``). With the embedded store a retry could not adopt the
trial its dead copy left running, so there tasks are not retried and ``--resume`` continues them.
``--address HOST:PORT`` joins a running cluster (``ray start --head`` elsewhere); without it a local
Ray runtime is started for the search and shut down after, with every one of its servers bound to
127.0.0.1 (checked after start; README "Security and limits" says how to secure a real cluster).

Example (not run by the test suite: starting a Ray runtime takes tens of seconds and several processes;
tests/tuning/test_ray.py runs a search on it):
    >>> backend = RayBackend(num_cpus=2)                                                   # doctest: +SKIP
    >>> backend.start([WorkerSpec(name="demo", home="/tmp/runs", config=raw, threads=1)])  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from convscope.errors import ConvscopeError
from convscope.store.engine import database_url
from convscope.tuning.backends import BACKENDS
from convscope.tuning.worker import WorkerSpec, work

# how often Ray reruns a worker loop whose node died (shared store only: see the module's docstring)
NODE_FAILURE_RETRIES = 3


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError:
        raise ConvscopeError("the ray backend needs Ray, which is not installed",
                             hint="pip install 'convscope[ray]' (or use --backend local)") from None
    return ray


def _task(spec: WorkerSpec) -> int:
    return work(spec)


# Ray binds its GCS, raylet, object manager and worker gRPC servers to the node's IP, which on Linux is
# the address that reaches the outside (found by connecting towards 8.8.8.8), so a local runtime listens
# where anyone on the network can submit code to it. Ray's own single-machine mode (the default on macOS
# and Windows) takes 127.0.0.1 as the node IP instead, and then every server binds 127.0.0.1; its public
# switch is the environment variable below, read when `ray` is imported and by every process Ray starts.
_LOCAL_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@contextmanager
def _loopback_only(ray: Any) -> Iterator[None]:
    """Start a local runtime in Ray's single-machine mode: node IP 127.0.0.1, every server on loopback."""
    from ray._private import ray_constants  # private: checked after start by _check_loopback

    saved_env, saved_flag = os.environ.get(_LOCAL_ONLY), getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[_LOCAL_ONLY] = "0"  # the processes ray.init starts (GCS, raylet, agents, workers) inherit it
    ray_constants.ENABLE_RAY_CLUSTER = False  # this process imported ray before: its constant is already read
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop(_LOCAL_ONLY, None)
        else:
            os.environ[_LOCAL_ONLY] = saved_env
        if saved_flag is not None:
            ray_constants.ENABLE_RAY_CLUSTER = saved_flag


def _check_loopback(ray: Any) -> None:
    """The self-check of :func:`_loopback_only`: a Ray whose switch no longer works is shut down, not used."""
    node_ip = ray.util.get_node_ip_address()
    if not ipaddress.ip_address(node_ip).is_loopback:
        ray.shutdown()
        raise ConvscopeError(f"the local Ray runtime would listen on {node_ip}, reachable from the network "
                             f"(this Ray version ignores {_LOCAL_ONLY}=0)",
                             hint="start a secured cluster yourself (ray start --head, see README: Security) and "
                                  "pass --address, or use --backend local")


@BACKENDS.register("ray", takes_address=True)
class RayBackend:
    """Runs worker loops as Ray tasks.

    Args:
        address: a running cluster's ``HOST:PORT`` (or ``auto``); None starts a local Ray runtime
            unless this process already called ``ray.init``.
        num_cpus: CPUs of the local runtime (default: all this machine's cores).

    Example (not run by the test suite: it needs a running cluster at that address):
        >>> backend = RayBackend(address="10.0.0.5:6379")   # doctest: +SKIP
    """

    def __init__(self, *, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._refs: list[Any] = []
        self._owns_runtime = False

    def start(self, specs: Sequence[WorkerSpec]) -> None:
        """Connect to (or start) Ray and submit one task per spec."""
        ray = _ray()
        if not ray.is_initialized():
            options: dict[str, Any] = {"logging_level": logging.WARNING, "include_dashboard": False}
            if self.address:
                ray.init(address=self.address, **options)
            else:
                with _loopback_only(ray):
                    ray.init(num_cpus=self.num_cpus or os.cpu_count(), **options)
                _check_loopback(ray)
            self._owns_runtime = True
        # the user's CONVSCOPE_* settings (data cache ...) follow the trials to whichever node runs them
        env = {k: v for k, v in os.environ.items() if k.startswith("CONVSCOPE_")}
        for spec in specs:
            shared = database_url(spec.home, None).get_backend_name() != "sqlite"
            remote = ray.remote(num_cpus=spec.threads, max_retries=NODE_FAILURE_RETRIES if shared else 0)(_task)
            if env:
                remote = remote.options(runtime_env={"env_vars": env})
            self._refs.append(remote.remote(spec))

    def running(self) -> bool:
        """True while any task is still working."""
        if not self._refs:
            return False
        ray = _ray()
        ready, _ = ray.wait(self._refs, num_returns=len(self._refs), timeout=0)
        return len(ready) < len(self._refs)

    def close(self) -> None:
        """Wait for the tasks (a crashed worker loop raises), then shut down a runtime this backend started."""
        ray = _ray()
        try:
            if self._refs:
                ray.get(self._refs)
        finally:
            self._refs = []
            if self._owns_runtime:
                ray.shutdown()
                self._owns_runtime = False

    def stop(self) -> None:
        """Cancel the tasks (their runs end `interrupted`, resumable) and shut down an owned runtime."""
        ray = _ray()
        for ref in self._refs:
            ray.cancel(ref, force=True)
        self._refs = []
        if self._owns_runtime:
            ray.shutdown()
            self._owns_runtime = False


__all__ = ["RayBackend"]
