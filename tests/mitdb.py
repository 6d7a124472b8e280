"""Where the tests find the real MIT-BIH Arrhythmia Database (never downloaded; tests skip, naming it, when absent).

``$CONVSCOPE_MITDB`` first, then ``shared/data/mitdb`` beside the checkout (the developers' and CI's layout).
"""

from __future__ import annotations

import os
from pathlib import Path

_BESIDE = Path(__file__).resolve().parents[2] / "shared" / "data" / "mitdb"
MITDB = Path(os.environ.get("CONVSCOPE_MITDB") or (_BESIDE if _BESIDE.is_dir() else "/work/shared/data/mitdb"))
