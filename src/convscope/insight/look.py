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
# A picture of a whole search registers with ``of="search"`` and takes the search instead of a run.
# A picture that only some runs have registers ``applies=`` a test of the run (e.g. ``scalars``: a run whose
# samples carry packed RR features); ``look RUN all`` and the report skip it elsewhere, ``look RUN NAME`` says why.
PICTURES: Registry[Callable[..., list[Path]]] = Registry("picture", discover="convscope.insight", field="look")


def pictures(of: str = "run") -> list[str]:
    """Every picture's name of a run (or, ``of="search"``, of a search), in the report's order."""
    names = [name for name in PICTURES.names() if PICTURES.traits(name).get("of", "run") == of]
    return sorted(names, key=lambda name: PICTURES.traits(name)["order"])


def applies(what: str, run: Run) -> bool:
    """True when the picture ``what`` can be drawn of ``run`` (every picture, except those registered with an
    ``applies`` test the run fails)."""
    test = PICTURES.traits(what).get("applies")
    return test is None or bool(test(run))


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
    names = [name for name in pictures() if applies(name, run)] if what == "all" else [what]
    if what in pictures("search"):
        raise ConvscopeError(f"look: '{what}' is a picture of a search, not of a run",
                             hint=f"name the search: convscope look SEARCH {what}")
    if any(n not in PICTURES for n in names):
        raise ConvscopeError(f"look: '{what}' is not a picture", hint=f"choose one of: {', '.join(pictures())}, all")
    out = Path(out_dir) if out_dir is not None else run.dir
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


def look_search(name: str, what: str, out_dir: str | Path | None = None, *, home: str | Path | None = None,
                **options: Any) -> list[Path]:
    """Write the ``what`` picture of the search ``name`` (one of ``pictures("search")``) and return its paths.

    Args:
        name: the search's name in the store.
        what: e.g. ``size-curve``.
        out_dir: default: ``<home>/searches/<name>-figures``, next to the search's report.
        home: the run store.
        options: passed to the picture (e.g. ``metric``); ``None`` values are ignored.
    """
    from convscope.tuning import load_search

    if what not in pictures("search"):
        raise ConvscopeError(f"look: '{what}' is not a picture of a search",
                             hint=f"choose one of: {', '.join(pictures('search'))}; a run's pictures take a run id")
    search = load_search(name, home=home)
    out = Path(out_dir) if out_dir is not None else Path(search.home) / "searches" / f"{name}-figures"
    return PICTURES.get(what)(search, out, **{k: v for k, v in options.items() if v is not None})


__all__ = ["PICTURES", "applies", "look", "look_curves", "look_search", "pictures"]
