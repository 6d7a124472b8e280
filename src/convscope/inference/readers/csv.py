"""CSV rows of signals, in the ``ecg-csv`` source's layout: a header, optional ``label``/``group``/``id``
columns (ignored, ``id`` names the row) and one column per sample; each row is one single-lead record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from convscope.errors import DataError
from convscope.inference.readers import READERS
from convscope.inference.recipe import Input


@READERS.register("csv", kind="signal", suffixes=(".csv",))
def read_csv(path: Path) -> list[Input]:
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})", hint="one row per record, one column per sample") from None
    ids = table["id"].astype(str).tolist() if "id" in table.columns else [str(i) for i in range(len(table))]
    samples = table.drop(columns=[c for c in ("label", "group", "id") if c in table.columns])
    try:
        x = samples.to_numpy(dtype=np.float64)  # (N, samples)
    except ValueError:
        raise DataError(f"{path}: sample columns must be numeric", hint="only label, group and id may be text") from None
    return [Input(name=f"{path}:{rid}", data=row[None]) for rid, row in zip(ids, x, strict=True)]
