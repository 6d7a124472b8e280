"""Reading and cutting all 48 MIT-BIH records: first time (empty cache) and from the cache.

    python bench/mitbih_load.py [--mitdb /work/shared/data/mitdb] [--config examples/mitbih-ds1-ds2.yaml] [--set KEY=VALUE]

Loads the config's ``data:`` section (every record, both leads: 102 and 104 have no MLII) twice with a fresh
cache folder: the first load reads the WFDB files, filters, resamples and cuts every beat; the second
reads the one ``.npz`` the first wrote (keyed by the pipeline's options). ``--set`` overrides come after those
two (e.g. ``--set "data.leads=[mlii, {any_of: [v1, v2, v4, v5]}]" --set data.exclude_records=[102,104,107,217]``). Prints both wall times, the
beat count and the load average next to them. Targets (issue 11): <= 15 s first, <= 2 s cached.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from convscope.config import load_config
from convscope.data.base import SOURCES


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mitdb", default="/work/shared/data/mitdb")
    ap.add_argument("--config", default="examples/mitbih-ds1-ds2.yaml")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    if not Path(args.mitdb).is_dir():
        print(f"error: {args.mitdb}: no MIT-BIH folder (PhysioNet mitdb 1.0.0: NNN.hea/.dat/.atr)", file=sys.stderr)
        return 2
    cfg = load_config(args.config, [f"data.path={args.mitdb}", "data.exclude_records=[]", "data.leads=null",
                                    *args.overrides]).data
    load = SOURCES.get(cfg.source)
    with tempfile.TemporaryDirectory(prefix="convscope-mitbih-cache-") as cache:
        os.environ["CONVSCOPE_CACHE"] = cache
        times = []
        for _ in range(2):
            start = time.perf_counter()
            source = load(cfg)
            times.append(time.perf_counter() - start)
    records = len(set(source.train.ids.tolist()))
    print(f"{records} records -> {len(source.train)} beats of shape {tuple(source.train.x.shape[1:])}")
    print(f"first load (read, filter, resample, cut): {times[0]:.2f} s   (target <= 15 s)")
    print(f"cached load:                              {times[1]:.2f} s   (target <= 2 s)")
    print(f"load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
