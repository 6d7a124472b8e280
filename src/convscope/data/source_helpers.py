"""What every source loader may use: rejecting unknown options, resolving ``data.path``, reading an
``.npz`` without pickle, pixels to [0, 1] and checked integer labels.

Example:
    >>> from convscope.config import DataConfig
    >>> check_options(DataConfig(source="builtin:digits"), {})
    {}
    >>> check_options(DataConfig(source="npz", x_kye="x"), {"x_key": "array of samples"})
    Traceback (most recent call last):
    ...
    convscope.errors.ConfigError: data.x_kye: unknown option for source 'npz'
      hint: did you mean 'x_key'? options: x_key (array of samples)
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np

from convscope.config import DataConfig
from convscope.errors import ConfigError, DataError


def check_options(cfg: DataConfig, allowed: dict[str, str]) -> dict[str, Any]:
    """Reject source options this source does not know (a typo would otherwise be silently ignored).

    Args:
        allowed: option name -> one-line description, shown in the hint.
    """
    options = cfg.options
    for key in options:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            known = ", ".join(f"{k} ({v})" for k, v in allowed.items()) or "none"
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"data.{key}: unknown option for source '{cfg.source}'", hint=f"{hint}options: {known}")
    return options


def data_path(cfg: DataConfig, expected: str) -> Path:
    """``data.path`` as an existing path; a ConfigError when absent, a DataError when it does not exist.

    Args:
        expected: what the source reads there, shown in the hint (e.g. "a folder of WFDB records").
    """
    if cfg.path is None:
        raise ConfigError(f"data.path: source '{cfg.source}' needs a path", hint=f"data.path: {expected}")
    root = Path(cfg.path).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder (data.path)", hint=f"expected {expected}")
    return root


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz``, without pickle (object arrays could run code)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as exc:
        raise DataError(f"{path}: cannot read ({exc})",
                        hint="save plain arrays (strings as fixed-width: np.array(labels, dtype=str))") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})", hint="save it with numpy.savez") from None


def to_unit_float(x: np.ndarray) -> np.ndarray:
    """Pixels to float32 in [0, 1]: 8-bit (or float 0..255) values are divided by 255, [0, 1] floats kept."""
    if x.dtype == np.uint8:
        return np.divide(x, np.float32(255.0), dtype=np.float32)  # one pass, same rounding as astype then divide
    x = x.astype(np.float32, copy=False)
    if x.size and float(x.max()) > 1.0:
        return x / np.float32(255.0)
    return x


def integer_labels(y: np.ndarray, *, what: str, num_classes: int | None = None) -> np.ndarray:
    """Labels as int64, checking they are whole numbers (and in 0..num_classes-1 when given)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{what}: labels must be one number per sample, got shape {y.shape}",
                        hint="store labels as a 1-D array of class indices")
    if y.dtype.kind not in "iub":
        try:
            as_float = y.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{what}: labels must be integers, got {y.dtype} values like {y[:3].tolist()}",
                            hint="use source: npz, which maps any label values (also strings) to classes") from None
        if not np.array_equal(as_float, np.round(as_float)):
            bad = as_float[as_float != np.round(as_float)][0]
            raise DataError(f"{what}: labels must be integers, found {bad}",
                            hint="labels are class indices 0..K-1, not regression targets")
        y = as_float
    y = y.astype(np.int64)
    if num_classes is not None and len(y) and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y[(y < 0) | (y >= num_classes)][0])
        raise DataError(f"{what}: label {bad} is outside 0..{num_classes - 1}",
                        hint=f"this source has {num_classes} classes; for other labels use source: npz or folder")
    return y


def same_length(x: np.ndarray, y: np.ndarray, *, what: str) -> None:
    if len(x) != len(y):
        raise DataError(f"{what}: {len(x)} images but {len(y)} labels",
                        hint="the image and label files must come from the same dataset and split")
