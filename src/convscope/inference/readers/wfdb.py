"""WFDB records: a ``.hea`` header (with the signal file it names) or a folder of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from convscope.errors import DataError
from convscope.inference.readers import READERS
from convscope.inference.recipe import Input


def _has_headers(folder: Path) -> bool:
    return any(folder.rglob("*.hea"))


@READERS.register("wfdb", kind="signal", suffixes=(".hea",), folder=_has_headers)
def read_wfdb(path: Path) -> list[Input]:
    """Each record's signal (leads, samples) in physical units, its rate and lead names."""
    headers = sorted(path.rglob("*.hea")) if path.is_dir() else [path]
    return [_record(h.with_suffix("")) for h in headers]


def _record(stem: Path) -> Input:
    try:
        header = wfdb.rdheader(str(stem))
        record = wfdb.rdrecord(str(stem))
    except (FileNotFoundError, ValueError, OSError, IndexError) as exc:
        raise DataError(f"{stem}.hea: cannot read WFDB record ({exc})",
                        hint="each record needs its .hea header and the signal file it names (.dat or .mat)") from None
    sig = record.p_signal  # (samples, leads)
    if sig is None or (header.sig_len and len(sig) < header.sig_len):
        got = 0 if sig is None else len(sig)
        raise DataError(f"{stem}: truncated record ({got} of the {header.sig_len} samples its header declares)",
                        hint="copy the record's signal file again")
    # wfdb marks missing samples NaN; the training reader zeroes them the same way
    return Input(name=str(stem), data=np.nan_to_num(sig.T), fs=float(record.fs),
                 leads=[n.lower() for n in record.sig_name])
