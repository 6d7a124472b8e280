"""NumPy files: ``.npz`` with ``x`` (N, leads, samples) or images (N, C, H, W) and optional ``fs``,
``lead_names``, ``ids`` (the ``ecg-npz``/``npz`` sources' layout), or one ``.npy`` array."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convscope.errors import DataError
from convscope.inference.readers import READERS
from convscope.inference.recipe import Input


def _load(path: Path) -> dict[str, np.ndarray]:
    from convscope.data.source_helpers import load_npz  # the sources' pickle-free reader

    if path.suffix.lower() == ".npz":
        return load_npz(path)
    try:
        return {"x": np.load(path, allow_pickle=False)}
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})", hint="save it with np.save") from None


def _rows(path: Path) -> list[Input]:
    arrays = _load(path)
    if "x" not in arrays:
        raise DataError(f"{path}: needs an array 'x' (has {', '.join(sorted(arrays)) or 'none'})",
                        hint="np.savez(path, x=samples[, fs=HZ, lead_names=[...], ids=[...]])")
    x = arrays["x"]
    if x.ndim == 1:
        x = x[None]  # one single-lead signal
    fs = float(arrays["fs"]) if "fs" in arrays else None
    leads = [str(n).lower() for n in arrays["lead_names"]] if "lead_names" in arrays else None
    ids = [str(i) for i in arrays["ids"]] if "ids" in arrays else [str(i) for i in range(len(x))]
    if len(ids) != len(x):
        raise DataError(f"{path}: {len(ids)} ids for {len(x)} rows of x", hint="give one id per row")
    return [Input(name=f"{path}:{rid}", data=row, fs=fs, leads=leads) for rid, row in zip(ids, x, strict=True)]


READERS.add("npz", _rows, kind="any", suffixes=(".npz",))
READERS.add("npy", _rows, kind="any", suffixes=(".npy",))
