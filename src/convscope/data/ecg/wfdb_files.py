"""Reading WFDB files: a record's signal with the chosen leads, and the record names of a folder.

Example:
    >>> import tempfile, pathlib, numpy as np, wfdb
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> wfdb.wrsamp("r1", fs=100, units=["mV", "mV"], sig_name=["V5", "MLII"], p_signal=np.zeros((50, 2)),
    ...             fmt=["212", "212"], write_dir=str(folder))
    >>> record_names(folder, "*.hea")
    ['r1']
    >>> sig, fs, leads = read_signal(folder, "r1", SignalOptions(leads=["mlii"]))
    >>> sig.shape, fs, leads
    ((1, 50), 100.0, ['mlii'])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from convscope.data.ecg.options import SignalOptions
from convscope.data.ecg.pipeline import select_leads
from convscope.errors import DataError


def read_signal(root: Path, name: str, opts: SignalOptions) -> tuple[np.ndarray, float, list[str]]:
    """A WFDB record's signal (leads, samples) in physical units with the chosen leads, its rate and the
    leads' names (a choice's label, ``v1|v5``, names the lead it picked)."""
    try:
        rec = wfdb.rdrecord(str(root / name))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"{root / name}: cannot read WFDB record ({exc})",
                        hint="each record needs its .hea header and the signal file it names (.dat or .mat)") from None
    sig = np.nan_to_num(rec.p_signal.T)  # (leads, samples); wfdb marks missing samples NaN
    leads = opts.lead_labels or [n.lower() for n in rec.sig_name]
    return select_leads(sig, rec.sig_name, opts.leads, record=name), float(rec.fs), leads


def record_names(root: Path, pattern: str) -> list[str]:
    """Record names from the ``RECORDS`` file (PhysioNet's index) if present, else every header found."""
    index = root / "RECORDS"
    if index.is_file():
        return [line.strip() for line in index.read_text().splitlines() if line.strip()]
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.glob(pattern))
