"""``torch.compile`` (``train.compile: true``), opt-in: it costs 10-25 s per model before the first step,
which short runs and search trials never earn back."""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
from torch import nn


def compile_model(model: nn.Module) -> Callable[..., torch.Tensor]:
    """``torch.compile(model)`` with inductor's kernel cache kept in convscope's cache folder.

    The default cache lives in ``/tmp``, which many machines empty at boot; a persistent folder lets the
    next run of the same model load its kernels instead of compiling them again. A cache folder the user
    chose (``TORCHINDUCTOR_CACHE_DIR``) wins.
    """
    from convscope.data.cache import cache_dir  # the data package is heavy; only compiling runs need it

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
    return torch.compile(model)
