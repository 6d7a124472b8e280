"""Per-class loss weights from ``train.class_weight``: ``balanced``, ``{balanced: POWER}`` or a list.

``balanced`` is scikit-learn's formula, ``n_samples / (n_classes * count)``: every class weighs as much
as the others in the loss, so a class of 1% of the beats counts 100 times per beat. That maximises the
rare classes' sensitivity at the cost of their positive predictive value (many false alarms from the
common class). ``{balanced: 0.5}`` raises those weights to the power 0.5 (inverse square root of the
frequency, as in Mikolov et al. 2013's sub-sampling and in long-tail detection), a middle point between
no weights (power 0) and balanced (power 1): a user trades sensitivity for +P with one number.

Example:
    >>> y = torch.tensor([0] * 90 + [1] * 10)
    >>> [round(w, 3) for w in class_weights("balanced", y, 2).tolist()]
    [0.556, 5.0]
    >>> [round(w, 3) for w in class_weights({"balanced": 0.5}, y, 2).tolist()]  # their square roots
    [0.745, 2.236]
    >>> class_weights([1.0, 2.0], y, 2).tolist()
    [1.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.errors import ConfigError


def class_weights(spec: Any, y_train: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """The loss weight of each class ``(K,)`` for ``spec`` (``train.class_weight``), or None for no weights.

    ``spec`` is None, ``"balanced"``, ``{"balanced": POWER}`` with POWER in (0, 1] (:func:`check_form`), or
    ``num_classes`` numbers.

    Raises:
        ConfigError: a list whose length is not the number of classes.
    """
    if spec is None:
        return None
    power = spec.get("balanced") if isinstance(spec, dict) else None
    if spec == "balanced" or power is not None:
        counts = torch.bincount(y_train, minlength=num_classes).float()  # (K,)
        weights = len(y_train) / (num_classes * counts.clamp(min=1))  # sklearn's "balanced" formula
        return weights if power is None else weights.pow(float(power))
    if len(spec) != num_classes:
        raise ConfigError(f"train.class_weight: {len(spec)} weights for {num_classes} classes",
                          hint=f"give {num_classes} numbers, or class_weight: balanced (or {{balanced: 0.5}})")
    return torch.tensor(spec, dtype=torch.float32)


def check_form(value: Any) -> Any:
    """``value`` when it is one of ``train.class_weight``'s forms, else a ValueError saying them (the config
    validator's: one message for the three forms, not pydantic's one line per member of the union).

    Example:
        >>> check_form({"balanced": 0.5})
        {'balanced': 0.5}
        >>> check_form({"power": 0.5})
        Traceback (most recent call last):
        ...
        ValueError: got {'power': 0.5}; give {balanced: POWER} with 0 < POWER <= 1, e.g. {balanced: 0.5}
    """
    if isinstance(value, dict):
        power = value.get("balanced")
        if set(value) != {"balanced"} or isinstance(power, bool) or not isinstance(power, int | float) \
                or not 0 < power <= 1:
            raise ValueError(f"got {value}; give {{balanced: POWER}} with 0 < POWER <= 1, e.g. {{balanced: 0.5}}")
    if isinstance(value, str) and value != "balanced":
        raise ValueError("give balanced, {balanced: 0.5} (softer) or one number per class")
    return value
