"""HTML reports of a run or a search (Jinja2 templates, every picture embedded) and run comparisons.

The names load on first use (PEP 562): ``convscope show`` uses ``report.clinical``'s tables without
paying for the pictures' imports (torch).
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {"Comparison": "convscope.report.compare", "compare": "convscope.report.compare",
           "config_differences": "convscope.report.compare", "run_report": "convscope.report.report",
           "search_report": "convscope.report.report"}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'convscope.report' has no attribute {name!r}")


__all__ = list(_PUBLIC)
