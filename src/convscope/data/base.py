"""What every data source returns, and how a source becomes train/val/test tensors.

A source loader (``images.py``, ``ecg/``, ``builtin.py``), registered in :data:`SOURCES`, reads files into a :class:`Source`: arrays
in channel-first layout, float32 ``(N, C, L)`` for signals or ``(N, C, H, W)`` for images, int64
labels ``0..K-1``, optional ``groups`` (e.g. patient ids) and ``ids`` (record names). Its own splits
(MNIST's test set, PTB-XL's folds) are kept; ``splits.py`` carves whatever is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from convscope.config import DataConfig
from convscope.registry import Registry


@dataclass
class Split:
    x: np.ndarray  # (N, C, L) or (N, C, H, W), float32
    y: np.ndarray  # (N,), int64 in 0..K-1
    groups: np.ndarray | None = None  # (N,) patient/subject ids; no group crosses splits when split by it
    ids: np.ndarray | None = None  # (N,) record/sample names, stored with the run for audits

    def __len__(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> Split:
        return Split(self.x[index], self.y[index],
                     None if self.groups is None else self.groups[index],
                     None if self.ids is None else self.ids[index])


@dataclass
class Source:
    train: Split
    class_names: list[str]
    val: Split | None = None
    test: Split | None = None
    name: str = ""
    notes: list[str] = field(default_factory=list)  # shown to the user and stored: "synthetic", leakage...
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"synthetic": True, "sample_rate": 250}


@dataclass
class Dataset:
    """Train/val/test tensors ready for the trainer (kept in memory: no per-sample Python in the loop)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    class_names: list[str]
    name: str = ""
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    assignment: dict[str, list[str]] = field(default_factory=dict)  # split -> groups/ids that went there
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # split -> per-sample group ids (if any)
    ids: dict[str, np.ndarray] = field(default_factory=dict)  # split -> per-sample record ids (if any)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


Loader = Callable[[DataConfig], Source]

# Every ``data.source`` name. A source is one module of this package that registers its loader with
# ``@SOURCES.register("name")``; the first lookup imports every module here, so no list is kept by hand.
SOURCES: Registry[Loader] = Registry("data source", discover="convscope.data", field="data.source")
