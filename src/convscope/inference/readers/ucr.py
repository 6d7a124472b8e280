"""UCR time-series archive files (``NAME_TEST.tsv``, 2018 format): one series per line, the class label in
the first column (ignored here), the values after it; tabs, or commas in the older ``.txt`` files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convscope.errors import DataError
from convscope.inference.readers import READERS
from convscope.inference.recipe import Input


@READERS.register("ucr", kind="signal", suffixes=(".tsv", ".txt"))
def read_ucr(path: Path) -> list[Input]:
    text = path.read_text()
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    try:
        table = np.loadtxt(path, delimiter=delimiter, ndmin=2)  # (N, 1 + samples)
    except ValueError as exc:
        raise DataError(f"{path}: not a UCR file ({exc})",
                        hint="one series per line: label, then the values (tab or comma separated)") from None
    # UCR pads shorter series with NaN; a model takes one length, so those rows fail the shape check
    return [Input(name=f"{path}:{i}", data=row[1:][None], ready=True) for i, row in enumerate(table)]
