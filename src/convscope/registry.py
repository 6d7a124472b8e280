"""One way to extend every part of convscope: a named :class:`Registry` per kind of thing.

Layers, data sources, metrics, pictures, initialisers, optimisers, schedules, samplers, pruners,
search backends and loggers each keep one ``Registry``. An entry is added where it is defined, with
the decorator, together with whatever other parts need to know about it (its *traits*, e.g. a
layer's MACs rule or a metric's direction). A registry may name the package whose modules define its
entries (``discover``): on first lookup every module in that package is imported, so a new entry is
one new file and no list has to be kept by hand.

Example:
    >>> SHAPES = Registry("shape")
    >>> @SHAPES.register("square", sides=4)
    ... def square(side):
    ...     return side * side
    >>> SHAPES.get("square")(3), SHAPES.traits("square")["sides"]
    (9, 4)
    >>> "square" in SHAPES, SHAPES.names()
    (True, ['square'])
    >>> SHAPES.get("sqare")
    Traceback (most recent call last):
    ...
    convscope.errors.ConfigError: unknown shape 'sqare'
      hint: did you mean 'square'? known: square
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from convscope.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered thing: its name, the object itself and the traits it was registered with."""

    name: str
    obj: T
    traits: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Named objects of one kind, filled by :meth:`register` where each object is defined.

    Args:
        kind: what the entries are, in the user's words ("layer", "data source"): used in errors.
        discover: a package whose modules are imported on first lookup, so that their
            ``@REGISTRY.register`` decorators run; ``None`` when entries are registered elsewhere.
        field: the config field that names an entry (e.g. ``"data.source"``), prefixed to errors.
    """

    def __init__(self, kind: str, *, discover: str | None = None, field: str | None = None) -> None:
        self.kind = kind
        self.field = field
        self._discover = discover
        self._discovered = discover is None
        self._entries: dict[str, Entry[T]] = {}

    # -- filling -----------------------------------------------------------------------------------
    def register(self, *names: str, **traits: Any) -> Callable[[T], T]:
        """Decorator: register the decorated object under each of ``names`` with ``traits``."""
        if not names:
            raise TypeError("register() needs at least one name")

        def deco(obj: T) -> T:
            for name in names:
                self.add(name, obj, **traits)
            return obj

        return deco

    def add(self, name: str, obj: T, **traits: Any) -> None:
        """Register ``obj`` under ``name``; registering one name twice is a programming error."""
        old = self._entries.get(name)
        if old is not None and old.obj is not obj and not _same_definition(old.obj, obj):
            raise ValueError(f"{self.kind} '{name}' is registered twice ({old.obj!r} and {obj!r})")
        self._entries[name] = Entry(name, obj, dict(traits))

    # -- looking up --------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._discovered:
            return
        self._discovered = True  # set first: a module being imported may look itself up
        package = importlib.import_module(self._discover)  # type: ignore[arg-type]
        for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
            importlib.import_module(info.name)

    def entry(self, name: str) -> Entry[T]:
        """The entry called ``name``; a did-you-mean :class:`ConfigError` naming the field otherwise."""
        self._load()
        if name not in self._entries:
            close = difflib.get_close_matches(str(name), list(self._entries), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            where = f"{self.field}: " if self.field else ""
            raise ConfigError(f"{where}unknown {self.kind} '{name}'", hint=f"{hint}known: {', '.join(self.names())}")
        return self._entries[name]

    def get(self, name: str) -> T:
        """The object registered as ``name``."""
        return self.entry(name).obj

    def traits(self, name: str) -> dict[str, Any]:
        """What ``name`` was registered with (an empty dict when nothing)."""
        return self.entry(name).traits

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        """Every entry, in name order."""
        self._load()
        return iter([self._entries[n] for n in sorted(self._entries)])

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


def _same_definition(a: object, b: object) -> bool:
    """Whether ``a`` and ``b`` come from one definition in one module: the module ran twice, as it does
    under ``pytest --doctest-modules`` (which executes the file again after its package imported it)."""
    def where(obj: object) -> tuple[object, object]:
        return getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)

    return where(a)[1] is not None and where(a) == where(b)
