"""A package's public names loaded on first use (PEP 562), so importing the package stays light.

``convscope``, ``convscope.train`` and ``convscope.tuning`` each name what they export and the module
that defines it; the module is imported only when the name is first read, then cached in the package.

Example:
    >>> import types
    >>> pkg = types.ModuleType("pkg")
    >>> pkg.__getattr__ = lazy_exports(vars(pkg), {"sqrt": "math"})
    >>> pkg.sqrt(9.0), "sqrt" in vars(pkg)
    (3.0, True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(namespace: dict[str, Any], exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` on first use and caches it in ``namespace``."""
    package = namespace.get("__name__", "module")

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
