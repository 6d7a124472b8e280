"""HTML reports of a run or a search (Jinja2 templates, every picture embedded) and run comparisons.

``run_report`` and ``search_report`` load on first use (PEP 562): ``convscope show`` uses
``report.clinical``'s tables without paying for the pictures' imports (torch).
"""

from __future__ import annotations

import importlib
from typing import Any

from convscope.report.compare import Comparison, compare, config_differences

_REPORTS = {"run_report": "convscope.report.report", "search_report": "convscope.report.search_report"}


def __getattr__(name: str) -> Any:
    if name in _REPORTS:
        return getattr(importlib.import_module(_REPORTS[name]), name)
    raise AttributeError(f"module 'convscope.report' has no attribute {name!r}")


__all__ = ["Comparison", "compare", "config_differences", *_REPORTS]
