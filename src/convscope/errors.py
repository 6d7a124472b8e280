"""User-facing errors.

Every mistake a user can make (a bad config field, a missing data file, a layer whose shapes cannot
work) raises a subclass of :class:`ConvscopeError`. The CLI prints its message and hint on one or two
lines and exits with the class's ``exit_code``, never a traceback; the Python API lets it propagate.

Exit codes: 0 done; 1 a bug in convscope (the only case with a traceback); 2 bad input (config, data,
arguments, an unknown run); 3 the store or a file in it is unusable (read-only, disk full, corrupt
checkpoint: :class:`StorageError`); 4 another process is using the run or search (:class:`BusyError`);
130 stopped with Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class ConvscopeError(Exception):
    """A mistake in what the user gave us, explained in one line plus a hint on how to fix it."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(ConvscopeError):
    """The config file (or a --set override) is invalid."""


class DataError(ConvscopeError):
    """The data a config points at is missing, empty or malformed."""


class BuildError(ConvscopeError):
    """A model spec cannot be built (unknown layer, impossible shapes)."""


class StoreError(ConvscopeError):
    """The run store has no such run/search, or is unusable."""


class StorageError(ConvscopeError):
    """The run store or a file in it cannot be read or written: read-only, disk full, a corrupt checkpoint.

    Exit code 3: nothing is wrong with what the user asked, the place it lives needs fixing.
    """

    exit_code = 3


class BusyError(StoreError):
    """Another live process owns the run or search (it is still training it). Exit code 4: wait or stop it."""

    exit_code = 4


@contextmanager
def naming(source: str) -> Iterator[None]:
    """Prefix ``source`` (the config file) to a config, data or model error raised inside, unless its
    line already starts with it: a layer, a data path or a metric found wrong after the config parsed
    still names the file to fix. Store and storage errors are about the store, not the config: unchanged.

    Example:
        >>> try:
        ...     with naming("exp.yaml"):
        ...         raise BuildError("model.layers[0] (convv): unknown layer 'convv'")
        ... except BuildError as exc:
        ...     print(exc)
        exp.yaml: model.layers[0] (convv): unknown layer 'convv'
    """
    try:
        yield
    except (ConfigError, DataError, BuildError) as exc:
        if not exc.message.startswith(f"{source}:"):
            exc.message = f"{source}: {exc.message}"
            exc.args = (exc.message, *exc.args[1:])
        raise
