"""HTML reports of a run or a search (Jinja2 templates, every picture embedded) and run comparisons.

Importing this package stays free of torch (the pictures import it when a report draws them), so
``convscope show`` can use ``report.clinical``'s tables cheaply.
"""

from convscope.report.compare import Comparison, compare, config_differences
from convscope.report.report import run_report
from convscope.report.search_report import search_report

__all__ = ["Comparison", "compare", "config_differences", "run_report", "search_report"]
