"""What a search records about itself: the ``info`` of a stored search, typed.

The store keeps it as one JSON object (the ``searches.info`` column); the driver writes it when a search
starts or resumes, and ``load_search``, ``--resume`` and the report read it through this dataclass.

Example:
    >>> info = SearchInfo(source="s.yaml", budget=6, strategy="grid", pruner="asha", metric="val_accuracy",
    ...                   direction="maximize", workers=2, threads=1, backend="local")
    >>> SearchInfo.from_dict(info.to_dict()) == info
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class SearchInfo:
    """A search's record.

    Attributes:
        source: the config's file name (error messages of a resumed search).
        budget: how many trials the search runs.
        strategy, pruner: ``search.strategy`` and ``search.pruner``.
        metric, direction: the objective.
        workers, threads, backend: how the trials ran (workers at once, torch threads each, where).
        note: a line about the budget the user may not expect (a grid subset ...).
        pid, host: the process driving the search (a resume refuses while it is alive).
        other: keys this version does not know, kept as they were.
    """

    source: str | None = None
    budget: int = 0
    strategy: str = "random"
    pruner: str = "none"
    metric: str = "val_loss"
    direction: str = "minimize"
    workers: int = 1
    threads: int = 1
    backend: str = "local"
    note: str | None = None
    pid: int | None = None
    host: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> SearchInfo:
        stored = dict(stored)
        known = {f.name for f in fields(cls)} - {"other"}
        values = {k: stored.pop(k) for k in list(stored) if k in known}
        return cls(**values, other=stored)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "other"}
        return {**out, **self.other}


__all__ = ["SearchInfo"]
