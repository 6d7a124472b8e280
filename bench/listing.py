"""How long the listing commands take on a store of 1,000 runs, as a user types them (issue 14, item 5).

Builds a SQLite store of ``--runs`` finished runs (each with ``--epochs`` epoch rows, test metrics and the
per-class confusion ``show`` prints), then times each command as a fresh process (``python -m convscope.cli``,
the interpreter start-up and every import included) against ``python -c pass`` in the same run, so the
ratio says what convscope adds to Python's own start-up whatever the machine's load. Prints the median
and the fastest of ``--repeats`` and whether torch was imported (it must not be).

    python bench/listing.py [--runs 1000] [--epochs 3] [--repeats 7]

Then, for ``convscope runs``, where its import time goes: ``python -X importtime``'s self times summed by
top-level package (the standard library as one), the median of ``--repeats`` processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = "name: bench\nmodel: {layers: [flatten, {dense: 2}]}\n"
COMMANDS = [["runs"], ["runs", "--json"], ["show", "1"], ["--help"], ["data", "ls"]]
# prints whether torch came in, after the command ran in this same interpreter
PROBE = ("import sys, runpy; sys.argv = ['convscope', *sys.argv[1:]]\ntry:\n"
         "    runpy.run_module('convscope.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
         "print('TORCH', 'torch' in sys.modules, file=sys.stderr)")


def fill(home: Path, runs: int, epochs: int) -> float:
    """``runs`` finished runs with ``epochs`` epochs each; returns the seconds it took."""
    from convscope.store.db import Store

    start = time.perf_counter()
    store = Store(home)
    for i in range(runs):
        run_id = store.create_run(name=f"run{i % 37}", config_yaml=CONFIG, seed=i, env={}, monitor="val_loss")
        for epoch in range(1, epochs + 1):
            store.log_epoch(run_id, epoch, {"train_loss": 1 / epoch, "val_loss": 1.1 / epoch,
                                            "val_accuracy": 1 - 0.5 / epoch}, 0.1,
                            best_epoch=epoch, best_value=1.1 / epoch)
        store.finish_run(run_id, status="completed", reason=f"ran all {epochs} epochs",
                         test={"test_accuracy": 0.9, "test_loss": 0.3},
                         info={"class_names": ["normal", "mi"], "test_confusion": [[5, 1], [2, 6]],
                               "val_confusion": [[4, 2], [1, 7]]})
    store.close()
    return time.perf_counter() - start


def timed(cmd: list[str], env: dict[str, str], repeats: int) -> tuple[float, float, float, str]:
    """Median and fastest wall seconds of ``repeats`` runs of ``cmd``, its mean CPU seconds (user + system,
    which the machine's load inflates far less than wall time), and the last run's stderr."""
    seconds, err = [], ""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        seconds.append(time.perf_counter() - start)
        if done.returncode:
            raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-500:]}")
        err = done.stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / repeats
    return statistics.median(seconds), min(seconds), cpu, err


def import_breakdown(words: list[str], env: dict[str, str], repeats: int) -> list[tuple[str, float]]:
    """Seconds of ``python -X importtime`` self time by top-level package (``stdlib`` for the standard library)
    while ``convscope WORDS`` runs, the median of ``repeats`` processes, largest first."""
    totals: dict[str, list[float]] = {}
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE, *words], capture_output=True,
                              text=True, env=env, timeout=300)
        seconds: dict[str, float] = {}
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            top = name.split(".")[0]
            stdlib = {top, top.lstrip("_")} & (sys.stdlib_module_names | set(sys.builtin_module_names))
            top = "stdlib" if stdlib else top
            seconds[top] = seconds.get(top, 0.0) + int(self_us) / 1e6
        for top, value in seconds.items():
            totals.setdefault(top, []).append(value)
    return sorted(((top, statistics.median(values + [0.0] * (repeats - len(values))))
                   for top, values in totals.items()), key=lambda item: -item[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "store"
        built = fill(home, args.runs, args.epochs)
        print(f"store: {args.runs} runs x {args.epochs} epochs, built in {built:.1f} s; "
              f"load average {os.getloadavg()[0]:.2f}")
        env = {**os.environ, "CONVSCOPE_HOME": str(home)}
        base, base_min, base_cpu, _ = timed([sys.executable, "-c", "pass"], env, args.repeats)
        print(f"{'python -c pass':<22} median {base:6.3f} s  fastest {base_min:6.3f} s  CPU {base_cpu:6.3f} s")
        for words in COMMANDS:
            median, fastest, cpu, err = timed([sys.executable, "-c", PROBE, *words], env, args.repeats)
            print(f"{'convscope ' + ' '.join(words):<22} median {median:6.3f} s  fastest {fastest:6.3f} s  "
                  f"CPU {cpu:6.3f} s  ({median / base:4.1f}x python's start-up; "
                  f"torch imported: {'TORCH True' in err})")
        parts = import_breakdown(["runs"], env, args.repeats)
        print(f"convscope runs imports {sum(v for _, v in parts):.3f} s (python -X importtime, self times, median): "
              + ", ".join(f"{top} {value * 1e3:.0f} ms" for top, value in parts[:10]))
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
