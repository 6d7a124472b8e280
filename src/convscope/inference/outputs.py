"""What a model's outputs mean: logits to class probabilities (one rule for every caller).

Example:
    >>> import torch
    >>> probabilities(torch.tensor([[0.0]])).tolist()
    [[0.5, 0.5]]
"""

from __future__ import annotations

import torch


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities (N, K>=2) from logits: softmax, or [1-p, p] for a single sigmoid unit."""
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits.float())  # (N, 1)
        return torch.cat([1 - p, p], dim=1)
    return torch.softmax(logits.float(), dim=1)
