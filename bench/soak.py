"""Soak: many short runs and one long search into one store; does anything grow that should not?

Trains ``--runs`` tiny runs (a dense layer on ``builtin:digits``, one epoch) in this process with
``convscope.run``, then a ``--trials`` random search, all into one fresh store, and every ``--every`` runs
samples: the database's size (``runs.db`` after a passive checkpoint) and its WAL's, the time of ``Store.runs(limit=50)`` (what
``convscope runs`` reads) and of listing every run, this process's open file descriptors and resident
memory. At the end: SQLite's ``PRAGMA integrity_check``.

Expected: size and full-listing time grow linearly with the runs; the 50-row listing stays flat; file
descriptors and memory stay flat after the first runs (imports, caches); integrity ``ok``.

    python bench/soak.py                      # 500 runs + a 50-trial search (the issue's figures)
    python bench/soak.py --runs 30 --trials 0 # what tests/test_soak.py runs
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

TINY = {"name": "soak", "seed": 0, "data": {"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}},
        "model": {"layers": ["flatten", {"dense": {"units": 10, "activation": "softmax"}}]},
        "train": {"epochs": 1, "batch_size": 256, "threads": 1}}


@dataclass
class Sample:
    runs: int  # runs stored so far
    db_bytes: int  # runs.db after a passive checkpoint (the WAL's pages copied in)
    wal_bytes: int  # runs.db-wal: bounded by SQLite's autocheckpoint (1000 pages), reused, not grown
    list_50_ms: float  # Store.runs(limit=50): what `convscope runs` reads
    list_all_ms: float  # Store.runs(): every row
    open_fds: int  # this process's open file descriptors
    rss_mb: float  # resident memory


def _fds() -> int:
    return len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else -1


def _rss_mb() -> float:
    statm = Path("/proc/self/statm")
    if statm.is_file():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample(home: Path, runs: int) -> Sample:
    from convscope.store import Store

    store = Store(home)
    try:
        started = time.perf_counter()
        store.runs(limit=50)
        list_50 = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        store.runs()
        list_all = (time.perf_counter() - started) * 1e3
    finally:
        store.close()
    with sqlite3.connect(home / "runs.db") as db:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    wal = home / "runs.db-wal"
    return Sample(runs, (home / "runs.db").stat().st_size, wal.stat().st_size if wal.exists() else 0,
                  round(list_50, 2), round(list_all, 2), _fds(), round(_rss_mb(), 1))


def integrity(home: Path) -> str:
    with sqlite3.connect(home / "runs.db") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def soak(home: Path, *, runs: int, every: int, trials: int = 0, on_sample=None) -> tuple[list[Sample], str]:
    """Train ``runs`` tiny runs (then a ``trials`` search) into ``home``; the samples and the integrity check."""
    import convscope
    from convscope.tuning import search

    samples = [sample(home, 0)] if (home / "runs.db").exists() else []
    for i in range(1, runs + 1):
        convscope.run(TINY, home=home)
        if i % every == 0 or i == runs:
            samples.append(sample(home, i))
            if on_sample:
                on_sample(samples[-1])
    if trials:
        space = {**TINY, "params": {"lr": {"loguniform": [1e-3, 1e-1]}},
                 "search": {"strategy": "random", "trials": trials, "threads_per_worker": 1}}
        space["train"] = {**TINY["train"], "optimizer": {"name": "adam", "lr": "${lr}"}}
        search(space, name="soak-search", home=home, progress=False)
        samples.append(sample(home, runs + trials))
        if on_sample:
            on_sample(samples[-1])
    return samples, integrity(home)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--home", type=Path, default=None, help="store folder (default: a fresh temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the samples here")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="convscope-soak-"))
    print(f"store {home}; cpu {_cpu()}; load {os.getloadavg()[0]:.1f}")
    print(f"{'runs':>6} {'db kB':>8} {'wal kB':>7} {'runs(50) ms':>12} {'runs(all) ms':>13} {'fds':>5} {'rss MB':>8}")

    def show(s: Sample) -> None:
        print(f"{s.runs:>6} {s.db_bytes / 1e3:>8.0f} {s.wal_bytes / 1e3:>7.0f} {s.list_50_ms:>12.2f} {s.list_all_ms:>13.2f} "
              f"{s.open_fds:>5} {s.rss_mb:>8.1f}", flush=True)

    started = time.perf_counter()
    samples, check = soak(home, runs=args.runs, every=args.every, trials=args.trials, on_sample=show)
    print(f"integrity_check: {check}; {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"samples": [asdict(s) for s in samples], "integrity": check}, indent=1))


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
