"""User-facing errors.

Every mistake a user can make (a bad config field, a missing data file, a layer whose shapes cannot
work) raises a subclass of :class:`ConvscopeError`. The CLI prints its message and hint on one or two
lines and exits with code 2, never a traceback; the Python API lets it propagate.
"""

from __future__ import annotations


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
