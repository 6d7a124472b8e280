"""``look``: every picture of a run by name -- what ``convscope look RUN WHAT`` and the report call.

Example:
    >>> from convscope.api import load_run
    >>> look(load_run(3), "kernels")                     # doctest: +SKIP
    [PosixPath('convscope-runs/runs/3/kernels-conv1.png'), ...]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope.errors import ConvscopeError
from convscope.insight.correlation import look_correlation
from convscope.insight.curves import plot_curves
from convscope.insight.features import look_features
from convscope.insight.filters import look_filters
from convscope.insight.kernels import look_kernels
from convscope.insight.occlusion import look_gradcam, look_occlusion
from convscope.insight.plots import look_confusion, look_roc, look_top_losses

if TYPE_CHECKING:
    from convscope.api import Run


def look_curves(run: Run, out_dir: Path) -> list[Path]:
    """``curves.png``: train vs validation loss and every metric per epoch."""
    if not run.history:
        return []
    return [plot_curves(run.history, Path(out_dir) / "curves.png", title=f"run {run.id}: {run.name}",
                        best_epoch=run.best_epoch)]


# The order is the report's order: how it learned, what it learned, where it looks, how it errs.
LOOKS: dict[str, Callable[..., list[Path]]] = {
    "curves": look_curves,
    "kernels": look_kernels,
    "features": look_features,
    "filters": look_filters,
    "occlusion": look_occlusion,
    "gradcam": look_gradcam,
    "correlation": look_correlation,
    "confusion": look_confusion,
    "roc": look_roc,
    "top-losses": look_top_losses,
}


def look(run: Run, what: str, out_dir: str | Path | None = None, **options: Any) -> list[Path]:
    """Write the ``what`` picture(s) of ``run`` as PNGs and return their paths.

    Args:
        run: a stored run (:func:`convscope.load_run`).
        what: one of :data:`LOOKS`, or ``all``.
        out_dir: default: the run's folder.
        options: passed to the pictures that take them (``index``, ``layer``, ``count``, ``input_path``);
            ``None`` values are ignored.
    """
    out = Path(out_dir) if out_dir is not None else run.dir
    names = list(LOOKS) if what == "all" else [what]
    unknown = [n for n in names if n not in LOOKS]
    if unknown:
        raise ConvscopeError(f"look: '{what}' is not a picture", hint=f"choose one of: {', '.join(LOOKS)}, all")
    given = {k: v for k, v in options.items() if v is not None}
    paths: list[Path] = []
    for name in names:
        fn = LOOKS[name]
        accepted = inspect.signature(fn).parameters
        if what != "all":
            rejected = [k for k in given if k not in accepted]
            if rejected:
                raise ConvscopeError(f"look {name}: takes no {', '.join('--' + k.replace('_', '-') for k in rejected)}")
        paths += fn(run, out, **{k: v for k, v in given.items() if k in accepted})
    return paths


__all__ = ["LOOKS", "look", "look_curves"]
