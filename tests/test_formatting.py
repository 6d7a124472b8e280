"""formatting: how every number looks, in one place."""

from __future__ import annotations

import math
import re
from pathlib import Path

from convscope import formatting as fmt


def test_numbers():
    assert fmt.number(None) == "-" and fmt.number(3) == "3"
    assert fmt.number(0.123456) == "0.1235" and fmt.number(0.00012345, 5) == "0.00012"
    assert fmt.number(math.nan) == "nan" and fmt.number(-math.inf) == "-inf"
    assert fmt.number(0.000123456, style="general") == "0.0001235"
    assert fmt.number(0.000123456, style="short") == "1.23e-04" and fmt.number(123456.0, style="short") == "1.23e+05"
    assert fmt.number(0.5, style="short") == "0.5"


def test_percentages_and_metrics_by_name():
    assert fmt.percent(0.98765) == "98.8%" and fmt.percent(0.98765, decimals=2) == "98.77%"
    assert fmt.percent(math.nan) == "-"
    assert fmt.metric("val_loss", 0.5) == "0.5000" and fmt.metric("test_auc", 0.5) == "50.0%"
    assert fmt.metric("best epoch", 3) == "3" and fmt.metric("test_accuracy", None) == "-"


def test_params_and_seconds():
    assert fmt.params({"lr": 0.00123, "filters": 8, "act": "relu"}) == "lr=0.00123 filters=8 act=relu"
    assert fmt.seconds(59.94) == "59.9s" and fmt.seconds(61.0) == "1m01s" and fmt.seconds(None) == "-"


def test_every_percentage_goes_through_the_one_formatter():
    """`f"{x:.2%}"` in one command and `f"{x:.1%}"` in another made one number read two ways (issue 14)."""
    src = Path(__file__).parents[1] / "src" / "convscope"
    own = re.compile(r"\{[^{}]*:[^{}]*%\}|\*\s*100\b|\b100\s*\*")  # a %-format spec, or a fraction times 100
    found = [f"{path.relative_to(src)}:{number}: {line.strip()}"
             for path in src.rglob("*.py") if path.name != "formatting.py"
             for number, line in enumerate(path.read_text().splitlines(), 1) if own.search(line)]
    assert not found, "format percentages with convscope.formatting.percent:\n" + "\n".join(found)
