"""A verdict: one finding about a run, in words and numbers; how verdicts are ranked and labelled.

Example:
    >>> verdict_label([Verdict("still_improving", "info", "val loss still falling", "still improving").to_dict()])
    'still improving'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from convscope import formatting as fmt

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class Verdict:
    """One finding about a run.

    Args:
        kind: overfitting | not_learning | underfitting | still_improving | divergence |
            vanishing_gradients | exploding_gradients | no_gradient | dead_relu | saturation |
            large_activations.
        severity: ``error`` (the run is broken), ``warning`` (it works but wastes something), ``info``.
        text: one plain-language sentence with the numbers behind it.
        short: a few words for a table cell ("overfits from epoch 5").
        layer: the layer it is about (``conv1``), if any.
        data: the numbers, for programs.
    """

    kind: str
    severity: str
    text: str
    short: str
    layer: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict_label(diagnosis: list[dict[str, Any]] | None) -> str:
    """A run's stored verdicts in a few words: every verdict's ``short``, most severe first (what
    ``convscope show`` lists in full), ``no verdict`` when there is none.

    Example:
        >>> verdict_label([{"short": "overfits from epoch 5", "severity": "warning"},
        ...                {"short": "still improving", "severity": "info"}])
        'overfits from epoch 5; still improving'
    """
    ordered = sorted(diagnosis or [], key=lambda v: SEVERITY_ORDER.get(v.get("severity", "info"), 3))
    return "; ".join(v["short"] for v in ordered) or "no verdict"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _pct(value: float) -> str:
    return fmt.percent(value)


def _num(value: float) -> str:
    """3 significant digits, scientific for tiny/huge values (gradient norms span 1e-9..1e3)."""
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


__all__ = ["SEVERITY_ORDER", "Verdict", "verdict_label"]
