"""How numbers look wherever convscope shows them: the terminal, the live search table, the HTML report.

One place decides: a missing value is ``-``, a non-finite one reads ``nan``/``inf``, an accuracy-like
metric is a percentage and a loss a plain number.

Example:
    >>> number(0.123456), number(0.123456, style="general"), number(1.5e-5, style="short")
    ('0.1235', '0.1235', '1.50e-05')
    >>> percent(0.98765), percent(0.98765, decimals=2), percent(None)
    ('98.8%', '98.77%', '-')
    >>> metric("test_loss", 0.25), metric("test_accuracy", 0.25)
    ('0.2500', '25.0%')
    >>> params({"lr": 0.00123, "filters": 8}), seconds(75.0)
    ('lr=0.00123 filters=8', '1m15s')
"""

from __future__ import annotations

import math
from typing import Any, Literal

Style = Literal["fixed", "general", "short"]


def number(value: Any, digits: int = 4, *, style: Style = "fixed") -> str:
    """A value as text.

    Args:
        value: a number (anything else is shown with ``str``); ``None`` is ``-``.
        digits: decimals (``fixed``) or significant digits (``general``, ``short``).
        style: ``fixed`` (``0.1235``: tables of losses, aligned), ``general`` (``%g``: params and
            objectives whose scale varies), ``short`` (``%g``, but scientific with two decimals below
            1e-3 and from 1e5 on: the report's cells).
    """
    if value is None:
        return "-"
    if not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if style == "fixed":
        return f"{value:.{digits}f}"
    if style == "short" and value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.{digits}g}"


def percent(value: float | None, *, decimals: int = 1) -> str:
    """A fraction as a percentage (``0.9877`` → ``98.8%``); ``-`` when missing or not finite.

    One decimal everywhere (terminal, report, verdicts): a tenth of a point is below the noise of any
    validation set convscope splits, and the same number never reads differently in two places.
    """
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.{decimals}f}%"


def metric(name: str, value: Any, *, digits: int = 4, decimals: int = 1, style: Style = "fixed") -> str:
    """A metric by its name: a loss as a number, everything else (accuracy, AUC, F1 ...) as a percentage."""
    if value is None:
        return "-"
    if "loss" in name or not isinstance(value, float):
        return number(value, digits, style=style)
    return percent(value, decimals=decimals)


def params(values: dict[str, Any]) -> str:
    """A trial's hyperparameters on one line: ``lr=0.00123 filters=8``."""
    return " ".join(f"{k}={number(v, style='general')}" for k, v in values.items())


def seconds(value: float | None) -> str:
    """A duration: ``12.3s`` under a minute, ``4m05s`` from one on."""
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 60 else f"{int(value // 60)}m{int(value % 60):02d}s"
