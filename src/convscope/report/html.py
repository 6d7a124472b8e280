"""What both HTML reports share: the Jinja2 environment, embedded pictures, number formats, atomic writes.

Templates are Jinja2 with autoescaping on, so every string that came from a user (names, config, class
names, notes) is HTML-escaped.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

import convscope
from convscope import formatting as fmt

ENV = jinja2.Environment(loader=jinja2.PackageLoader("convscope.report", "templates"),
                         autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def data_uri(path: Path) -> str:
    """A PNG as a ``data:`` URI, so the report is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def figure(path: Path, *, title: str = "", caption: str = "") -> dict[str, str]:
    """A picture as the templates take it: embedded source, alt text, title, caption."""
    return {"src": data_uri(path), "alt": path.stem, "title": title, "caption": caption}


def short_number(value: Any, digits: int = 4) -> str:
    """A number as the reports print it (``fmt.number``, short style)."""
    return fmt.number(value, digits, style="short")


def percent(value: float | None) -> str:
    """A fraction as a percentage with one decimal."""
    return fmt.percent(value, decimals=1)


def metric_text(name: str, value: float | None) -> str:
    """Accuracy-like metrics as percentages, losses as numbers."""
    return fmt.metric(name, value, decimals=1, style="short")


def render(template: str, out: Path, **context: Any) -> Path:
    """Render ``template`` into ``out`` atomically (a reader never sees half a report)."""
    html = ENV.get_template(template).render(version=convscope.__version__,
                                              generated=datetime.now().strftime("%Y-%m-%d %H:%M"), **context)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    return out
