"""Input readers: one per kind of file ``predict`` accepts, each a module of this package.

A reader is a function ``read(path) -> list[Input]`` registered in :data:`READERS` with its traits:
``kind`` (``signal``, ``image`` or ``any``: which runs it can feed), ``suffixes`` (the files it claims)
and ``folder`` (a test saying a folder is its kind: a folder of WFDB records, of images). Adding a
format is one new module here with ``@READERS.register("name", kind=..., suffixes=(...))``.

Example:
    >>> sorted(READERS.names())
    ['csv', 'images', 'npy', 'npz', 'ucr', 'wfdb']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from convscope.errors import DataError
from convscope.inference.recipe import Input, Recipe
from convscope.registry import Registry

Reader = Callable[[Path], list[Input]]
READERS: Registry[Reader] = Registry("input format", discover="convscope.inference.readers")

_KIND_WORDS = {"signal": "signals", "image": "images"}
_ONE = {"signal": "a signal file", "image": "an image"}


def reader_for(path: Path) -> str:
    """The name of the reader that claims ``path`` (by suffix, or by what a folder holds)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder", hint="give existing files or folders to predict on")
    entries = list(READERS.entries())
    if path.is_dir():
        for entry in entries:
            test = entry.traits.get("folder")
            if test is not None and test(path):
                return entry.name
        raise DataError(f"{path}: holds no files predict can read",
                        hint="a folder of WFDB records (*.hea) or of images")
    suffix = path.suffix.lower()
    for entry in entries:
        if suffix in entry.traits.get("suffixes", ()):
            return entry.name
    known = sorted({s for e in entries for s in e.traits.get("suffixes", ())})
    raise DataError(f"{path}: unknown input format '{suffix or path.name}'", hint=f"predict reads {', '.join(known)}")


def read_inputs(paths: Iterable[str | Path], recipe: Recipe) -> list[tuple[str, Input]]:
    """Every input in ``paths`` as ``(reader name, Input)``; an input of another kind than the run's data
    (an image for an ECG model) is a :class:`DataError` naming the file."""
    out: list[tuple[str, Input]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        name = reader_for(path)
        kind = READERS.traits(name)["kind"]
        if kind not in ("any", recipe.kind):
            raise DataError(f"{path}: is {_ONE[kind]} ({name}), but run {recipe.run_id} was trained on "
                            f"{_KIND_WORDS[recipe.kind]} ({recipe.source}, samples {list(recipe.input_shape)})",
                            hint=_expected(recipe))
        out.extend((name, item) for item in READERS.get(name)(path))
    if not out:
        raise DataError("no inputs to predict on", hint=_expected(recipe))
    return out


def _expected(recipe: Recipe) -> str:
    if recipe.kind == "image":
        return "give image files, folders of images, or .npy/.npz arrays of images"
    return "give WFDB records (.hea or a folder), CSV/npz rows of signals, or UCR .tsv files"


__all__ = ["READERS", "Reader", "read_inputs", "reader_for"]
