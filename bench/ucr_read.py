"""Reading a UCR archive file: convscope's pandas path against its careful line-by-line reader and a bare
``pandas.read_csv``, same process, same file (a written StarLightCurves-sized ``.tsv``: 8,236 series x 1,024
values, six decimals, about 80 MB), best of ``--repeats``. Also the per-epoch cost of logging the
per-class metrics (Se, +P, Sp, F1 of every class and macro F1) against accuracy alone.

    python bench/ucr_read.py [--repeats 3] [--series 8236] [--length 1024]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from convscope.data.ucr import read_cases, read_delimited
from convscope.train import metrics as M


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--series", type=int, default=8236)
    parser.add_argument("--length", type=int, default=1024)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "BIG_TEST.tsv"
        x, y = rng.standard_normal((args.series, args.length)), rng.integers(1, 4, args.series)
        with path.open("w") as handle:
            for label, row in zip(y, x, strict=True):
                handle.write(f"{label}\t" + "\t".join(f"{v:.6f}" for v in row) + "\n")
        loop = best(lambda: read_delimited(path), args.repeats)
        ours = best(lambda: read_cases(path), args.repeats)
        bare = best(lambda: pd.read_csv(path, sep="\t", header=None).to_numpy(), args.repeats)
        print(f"{path.stat().st_size / 1e6:.0f} MB, {args.series} x {args.length}: line loop {loop:.2f} s, "
              f"read_cases {ours:.2f} s, bare pandas.read_csv {bare:.2f} s; loop / read_cases {loop / ours:.1f}x")
    labels, prob = rng.integers(0, 5, 10_000), rng.dirichlet(np.ones(5), 10_000)  # (N,), (N, 5)
    names = ["accuracy", "macro_f1", "sensitivity/*", "ppv/*", "specificity/*", "f1/*"]
    alone = best(lambda: M.compute(["accuracy"], labels, prob), 20)
    clinical = best(lambda: M.compute(names, labels, prob, class_names=list("NSVFQ")), 20)
    print(f"metrics on 10,000 samples, 5 classes: accuracy {1e3 * alone:.2f} ms, "
          f"+ macro_f1 and 4 per-class metrics x 5 classes {1e3 * clinical:.1f} ms per evaluation")


if __name__ == "__main__":
    main()
