"""``look``: every picture of a run by name -- what ``convscope look RUN WHAT`` and the report call.

Example:
    >>> import convscope
    >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}})
    >>> [path.name for path in look(convscope.load_run(run.id), "kernels")]
    ['kernels-conv1.png']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope.errors import ConvscopeError
from convscope.insight.curves import plot_curves
from convscope.registry import Registry

if TYPE_CHECKING:
    from convscope.api import Run


# Every picture: a function (run, out_dir, **options) -> [PNG paths], registered where it is defined with
# its ``order`` (the report's order: how it learned, what it learned, where it looks, how it errs).
PICTURES: Registry[Callable[..., list[Path]]] = Registry("picture", discover="convscope.insight", field="look")


def pictures() -> list[str]:
    """Every picture's name, in the report's order."""
    return sorted(PICTURES.names(), key=lambda name: PICTURES.traits(name)["order"])


@PICTURES.register("curves", order=10)
def look_curves(run: Run, out_dir: Path) -> list[Path]:
    """``curves.png``: train vs validation loss and every metric per epoch."""
    if not run.history:
        return []
    return [plot_curves(run.history, Path(out_dir) / "curves.png", title=f"run {run.id}: {run.name}",
                        best_epoch=run.best_epoch)]


def look(run: Run, what: str, out_dir: str | Path | None = None, **options: Any) -> list[Path]:
    """Write the ``what`` picture(s) of ``run`` as PNGs and return their paths.

    Args:
        run: a stored run (:func:`convscope.load_run`).
        what: one of :func:`pictures`, or ``all``.
        out_dir: default: the run's folder.
        options: passed to the pictures that take them (``index``, ``layer``, ``count``, ``input_path``);
            ``None`` values are ignored.
    """
    out = Path(out_dir) if out_dir is not None else run.dir
    names = pictures() if what == "all" else [what]
    if any(n not in PICTURES for n in names):
        raise ConvscopeError(f"look: '{what}' is not a picture", hint=f"choose one of: {', '.join(pictures())}, all")
    given = {k: v for k, v in options.items() if v is not None}
    paths: list[Path] = []
    for name in names:
        fn = PICTURES.get(name)
        accepted = inspect.signature(fn).parameters
        if what != "all":
            rejected = [k for k in given if k not in accepted]
            if rejected:
                raise ConvscopeError(f"look {name}: takes no {', '.join('--' + k.replace('_', '-') for k in rejected)}")
        paths += fn(run, out, **{k: v for k, v in given.items() if k in accepted})
    return paths


__all__ = ["PICTURES", "look", "look_curves", "pictures"]
