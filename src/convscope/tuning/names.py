"""The stored search a name refers to: a full name, or a config name (its newest search).

``convscope search exp.yaml`` stores the search as ``<config name>-<date-time>``; a user remembers the
config's name (the README's commands use it), so that name finds the newest search of the config.
"""

from __future__ import annotations

import re

from convscope.errors import StoreError
from convscope.store import Store

# the name a search gets when none is given: ``<config name>-<YYYYmmdd-HHMMSS>[-n]`` (see _new_name)
_DATED = r"-\d{8}-\d{6}(?:-\d+)?"


def resolve_name(store: Store, name: str) -> str:
    """The stored search ``name`` refers to: that exact name, else the newest search of the config named so.

    ``convscope search exp.yaml`` stores the search as ``<config name>-<date-time>``, so the config's own
    name (what a user remembers, and what the README's commands use) finds the latest of them.

    Example:
        >>> import tempfile
        >>> store = Store(tempfile.mkdtemp())
        >>> for stored in ("grid-20260101-120000", "grid-20260102-090000", "grid-extra"):
        ...     store.create_search(stored, config_yaml="", storage="")
        >>> resolve_name(store, "grid")
        'grid-20260102-090000'
        >>> resolve_name(store, "grid-extra")
        'grid-extra'
    """
    searches = store.searches()  # newest first
    names = [s["name"] for s in searches]
    if name in names:
        return name
    dated = re.compile(re.escape(name) + _DATED)
    newest = next((n for n in names if dated.fullmatch(n)), None)
    if newest is None:
        raise StoreError(f"no search named '{name}' in {store.path}",
                         hint=f"known searches: {', '.join(names[:10])}" if names
                         else "start one with `convscope search CONFIG`")
    return newest


__all__ = ["resolve_name"]
