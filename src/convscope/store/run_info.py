"""What a run records about itself besides its metrics: the ``info`` of a stored run, typed.

The store keeps it as one JSON object (the ``runs.info`` column); this dataclass is how it travels
between the API, the pictures, the report and the CLI, so every reader names the same fields. Keys an
older or newer convscope wrote that this version does not know are kept in ``other``, and written back.

Example:
    >>> info = RunInfo.from_dict({"input_shape": [1, 8, 8], "class_names": ["0", "1"], "threshold": 0.4,
    ...                           "custom": 1})
    >>> info.input_shape, info.num_classes, info.threshold, info.other
    ([1, 8, 8], 2, 0.4, {'custom': 1})
    >>> RunInfo.from_dict(info.to_dict()) == info
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class RunInfo:
    """A run's record beyond its metrics.

    Attributes:
        input_shape: one sample's shape, ``(C, L)`` or ``(C, H, W)`` (what the model was built for).
        class_names: the classes, in label order.
        data_name: the data set's name (the source, or its file).
        assignment: how samples were split (e.g. which records/patients went where).
        meta: the data source's scalar facts (sampling rate, aggregation ...).
        threshold: the binary decision threshold the test metrics used (0.5, or Youden's on validation).
        val_confusion, test_confusion: confusion matrices (K x K) at that threshold.
        env: versions, device, threads and precision the run trained with.
        diagnosis: the learning-curve and gradient verdicts (``Verdict.to_dict()`` each).
        objective: for a search trial, ``{metric, direction, value}``.
        other: keys this version does not know, kept as they were.
    """

    input_shape: list[int] | None = None
    class_names: list[str] = field(default_factory=list)
    data_name: str | None = None
    assignment: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    val_confusion: list[list[int]] | None = None
    test_confusion: list[list[int]] | None = None
    env: dict[str, Any] = field(default_factory=dict)
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    objective: dict[str, Any] | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        """How many classes the model predicts; ``None`` when the run did not record them."""
        return len(self.class_names) or None

    @classmethod
    def from_dict(cls, stored: dict[str, Any] | None) -> RunInfo:
        """The info of a stored run (the JSON object in the store)."""
        stored = dict(stored or {})
        known = {f.name for f in fields(cls)} - {"other"}
        values = {k: stored.pop(k) for k in list(stored) if k in known and stored[k] is not None}
        return cls(**values, other=stored)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object the store keeps (unset fields left out, unknown keys back in place)."""
        out = {k: v for k, v in asdict(self).items() if k != "other" and v is not None}
        return {**out, **self.other}


__all__ = ["RunInfo"]
