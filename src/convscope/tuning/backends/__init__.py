"""Where a search's workers run: one registered class per backend (``search.backend`` / ``--backend``).

A backend starts one worker loop (:func:`convscope.tuning.worker.work`) per
:class:`~convscope.tuning.worker.WorkerSpec`, says whether any is still ``running()``, waits for them
(``close()``) or cancels them (``stop()``). It is built with ``address`` (a cluster to join, or
``None``); the trait ``takes_address`` says whether it can use one. A new backend is one new module
here with ``@BACKENDS.register("name", takes_address=...)`` on its class.

Example:
    >>> BACKENDS.names(), BACKENDS.traits("ray")["takes_address"]
    (['local', 'ray'], True)
"""

from __future__ import annotations

from typing import Any

from convscope.errors import ConfigError
from convscope.registry import Registry

BACKENDS: Registry[type] = Registry("search backend", discover="convscope.tuning.backends", field="search.backend")


def make_backend(kind: str, address: str | None) -> Any:
    """The backend called ``kind``, joining ``address`` when it takes one."""
    entry = BACKENDS.entry(kind)
    if not entry.traits.get("takes_address"):
        if address:
            raise ConfigError(f"--address is for a backend that joins a cluster, not {kind}",
                              hint="add --backend ray")
        return entry.obj()
    return entry.obj(address=address)


__all__ = ["BACKENDS", "make_backend"]
