"""Figures for files, without pyplot: drawing a picture never touches the user's matplotlib backend.

``matplotlib.pyplot`` keeps global state (the backend, the list of open figures); importing it and calling
``matplotlib.use("Agg")`` at import time would switch a Jupyter user's inline backend off. A bare
:class:`~matplotlib.figure.Figure` draws and saves through its own Agg canvas and is freed like any object,
so convscope's pictures need nothing global.

Example:
    >>> import matplotlib
    >>> before = matplotlib.get_backend()
    >>> fig, ax = subplots(figsize=(2, 1))
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> type(fig).__name__, matplotlib.get_backend() == before
    ('Figure', True)
"""

from __future__ import annotations

from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
             layout: str | None = None, squeeze: bool = True, **kwargs: Any) -> tuple[Figure, Any]:
    """``pyplot.subplots`` without pyplot: a new :class:`Figure` and its axes (same shapes and squeezing)."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze, **kwargs)


def get_cmap(name: str) -> Colormap:
    """A registered colormap by name (``pyplot.get_cmap`` without pyplot)."""
    return matplotlib.colormaps[name]


__all__ = ["Axes", "Figure", "Normalize", "ScalarMappable", "get_cmap", "subplots"]
