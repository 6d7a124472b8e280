"""``source: ucr``: the UCR/UEA time-series classification archive (128 univariate data sets, ECG200,
ECG5000, ECGFiveDays, TwoLeadECG and NonInvasiveFetalECGThorax among them; the UEA's multivariate
ones in ``.ts`` form too).

``data.path`` is one of:

- a data set's folder (``UCRArchive_2018/ECG200``) holding ``ECG200_TRAIN`` and ``ECG200_TEST``;
- the archive's root folder with ``data.name: ECG200``;
- one file of the pair (``ECG200_TRAIN.tsv``; its partner is found beside it) or their common
  prefix (``UCRArchive_2018/ECG200/ECG200``).

Files: the 2018 archive's ``.tsv`` (tab-separated), the older whitespace ``.txt`` and extension-less
comma-separated files (label first, then the series), and sktime's ``.ts`` (:mod:`.ts_format`).
The archive's own train/test split is kept, as every published result uses it; validation is carved
from train (``data.split.val``). Labels of any kind (``-1``/``1``, ``1..K``, words) become classes,
numbers sorted as numbers. Series become float32 ``(N, C, L)``, C = 1 for univariate sets.

Eleven data sets hold series of different lengths, NaN-padded at the end in the ``.tsv`` files, and
a few have missing values inside a series. Both are errors unless the config chooses a treatment:
``variable_length: pad`` (zeros after each series' end) or ``resample`` (each series stretched to
the longest by linear interpolation, as the archive's "adjusted" copies are), and
``missing: interpolate`` (linear between the neighbouring values).

Example:
    >>> import tempfile, pathlib
    >>> from convscope.config import DataConfig
    >>> from convscope.data import load_data
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = ["1\\t0.1\\t0.5\\t0.9\\t0.4", "2\\t-0.3\\t-0.8\\t-0.2\\t0.0"] * 10
    >>> for part in ("TRAIN", "TEST"):
    ...     _ = (folder / f"TOY_{part}.tsv").write_text("\\n".join(rows) + "\\n")
    >>> data = load_data(DataConfig(source="ucr", path=str(folder), split={"val": 0.2}), seed=0)
    >>> tuple(data.x_train.shape), tuple(data.x_test.shape), data.class_names
    ((16, 1, 4), (20, 1, 4), ['1', '2'])
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Source, Split
from convscope.data.source_helpers import check_options
from convscope.data.ts_format import Cases, is_number, read_ts
from convscope.errors import ConfigError, DataError

SUFFIXES = (".tsv", ".ts", ".txt", "")  # preferred in this order when a folder holds several copies
OPTIONS = {
    "name": "the data set (e.g. ECG200) when data.path is the archive's root folder",
    "variable_length": "error (default), pad (zeros after the end) or resample (stretch to the longest)",
    "missing": "error (default) or interpolate (linear) for NaN inside a series",
    "normalize": "none (default) or zscore (each series and channel to mean 0, std 1)",
}
_PAIR = re.compile(r"^(?P<name>.+)_(?P<part>TRAIN|TEST)(?P<suffix>\.tsv|\.ts|\.txt)?$", re.IGNORECASE)
FORMS = "NAME_TRAIN.tsv/NAME_TEST.tsv (or .txt, .ts, or no suffix)"


# -- finding the pair ---------------------------------------------------------------------------


def _pairs_in(folder: Path) -> dict[str, dict[str, dict[str, Path]]]:
    """name -> part (TRAIN/TEST) -> suffix -> file, for every archive file in ``folder``."""
    found: dict[str, dict[str, dict[str, Path]]] = {}
    for path in sorted(folder.iterdir()):
        match = _PAIR.match(path.name)
        if match and path.is_file():
            part, suffix = match["part"].upper(), (match["suffix"] or "").lower()
            found.setdefault(match["name"], {}).setdefault(part, {})[suffix] = path
    return found


def _choose(name: str, parts: dict[str, dict[str, Path]], where: Path) -> tuple[Path, Path]:
    for suffix in SUFFIXES:
        if suffix in parts.get("TRAIN", {}) and suffix in parts.get("TEST", {}):
            return parts["TRAIN"][suffix], parts["TEST"][suffix]
    have, missing = ("TRAIN", "TEST") if parts.get("TRAIN") else ("TEST", "TRAIN")
    shown = next(iter(parts[have].values()))
    raise DataError(f"{shown}: found, but its partner {name}_{missing} is not in {where}",
                    hint="the archive ships NAME_TRAIN and NAME_TEST side by side (same suffix): copy both")


def find_pair(path: Path, name: str | None) -> tuple[str, Path, Path]:
    """(data set name, train file, test file) for ``data.path`` (and ``data.name``)."""
    if path.is_file():
        match = _PAIR.match(path.name)
        if not match:
            raise DataError(f"data.path: {path.name} is not named like the archive's files",
                            hint=f"expected {FORMS}, or the data set's folder")
        pair = _choose(match["name"], _pairs_in(path.parent).get(match["name"], {}), path.parent)
        return match["name"], *pair
    if path.is_dir():
        folder = path / name if name and (path / name).is_dir() else path
        pairs = _pairs_in(folder)
        if name is not None:
            if name not in pairs:
                raise DataError(f"data.name: no {name}_TRAIN/{name}_TEST files in {folder}",
                                hint=f"data sets there: {', '.join(sorted(pairs)) or 'none'}")
            return name, *_choose(name, pairs[name], folder)
        if len(pairs) == 1:
            only = next(iter(pairs))
            return only, *_choose(only, pairs[only], folder)
        if not pairs:  # the archive's root: one folder per data set
            inside = [p for p in sorted(folder.iterdir()) if p.is_dir() and _pairs_in(p)]
            if len(inside) == 1:
                return find_pair(inside[0], None)
            pairs = {p.name: {} for p in inside}
        if pairs:
            raise DataError(f"data.path: {folder} holds several data sets ({', '.join(sorted(pairs))})",
                            hint="choose one with data.name, e.g. name: " + sorted(pairs)[0])
        raise DataError(f"data.path: {folder} holds no UCR/UEA files",
                        hint=f"expected {FORMS}; for the archive's root folder set data.name")
    pairs = _pairs_in(path.parent) if path.parent.is_dir() else {}
    if path.name in pairs:  # the common prefix of a pair: .../ECG200/ECG200
        return path.name, *_choose(path.name, pairs[path.name], path.parent)
    raise DataError(f"data.path: {path} does not exist",
                    hint=f"point it at a UCR/UEA data set's folder or its {FORMS}")


# -- reading ------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,]+")


def _read_with_pandas(path: Path) -> Cases | None:
    """The common case, read by pandas' C parser (2-4x faster than :func:`read_delimited`'s line loop on
    an 80 MB file, ``bench/ucr_read.py``); None when the file needs the careful reader, which names the
    line of a mistake: a value that is not a number, a line longer than the first, a blank line."""
    import pandas as pd

    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline().strip()
    if not first:
        return None
    sep = "\t" if "\t" in first else "," if "," in first else r"\s+"
    try:
        frame = pd.read_csv(path, sep=sep, header=None, dtype={0: str}, skip_blank_lines=False,
                            skipinitialspace=True, encoding_errors="replace")
        values = frame.iloc[:, 1:].to_numpy(dtype=np.float64)  # (N, L); short lines NaN-padded
    except (ValueError, pd.errors.ParserError):
        return None
    if frame.iloc[:, 0].isna().any():  # a blank line: the careful reader skips it and keeps line numbers
        return None
    if values.shape[1] == 0:
        return None
    return Cases(labels=[str(v).strip() for v in frame.iloc[:, 0]], series=list(values[:, None, :]),
                 lines=list(range(1, len(frame) + 1)))


def read_delimited(path: Path) -> Cases:
    """A ``.tsv``/``.txt``/comma file: one case per line, the class label first, then the values.

    Raises:
        DataError: a header row, a value that is not a number or a line without values (file and
            line named).
    """
    cases = Cases(labels=[], series=[], lines=[])
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            tokens = _SEPARATORS.split(raw.strip())
            if tokens == [""]:
                continue
            if len(tokens) < 2:
                raise DataError(f"{path}:{number}: a class label and no values",
                                hint="each line is the class label, then the series' values")
            try:
                values = np.array(tokens[1:], dtype=np.float64)  # numpy parses the strings; "NaN" is NaN
            except ValueError:
                bad = next(t for t in tokens[1:] if not is_number(t))
                if not cases.lines:  # the first line: a header from another tool, not the archive's format
                    raise DataError(f"{path}:{number}: '{bad}' is not a number: a header row? UCR files have "
                                    "none", hint="remove the first line: each line is a class label, then the "
                                                 "series' values") from None
                raise DataError(f"{path}:{number}: value '{bad}' is not a number",
                                hint="fix or remove that line (NaN marks a missing value)") from None
            cases.labels.append(tokens[0])
            cases.series.append(values[None])  # (1, L)
            cases.lines.append(number)
    if not cases.labels:
        raise DataError(f"{path}: holds no series", hint="the file is empty; download it again")
    return cases


def read_cases(path: Path) -> Cases:
    """The cases of one archive file, by its suffix."""
    if path.suffix.lower() == ".ts":
        return read_ts(path)
    return _read_with_pandas(path) or read_delimited(path)


# -- shaping ------------------------------------------------------------------------------------


def _fill_missing(series: np.ndarray, *, where: str, missing: str) -> tuple[np.ndarray, int]:
    """``series`` (C, L) without its trailing NaN padding and with inner NaNs treated; returns it and its length.
    ``where`` names the case in errors (``file:line``)."""
    finite = np.isfinite(series)  # (C, L)
    present = finite.any(axis=0)
    if not present.any():
        raise DataError(f"{where}: the series has no values", hint="remove that case")
    length = int(np.nonzero(present)[0][-1]) + 1  # NaN after the last value: padding, not missing
    series = series[:, :length]
    finite = finite[:, :length]
    if finite.all():
        return series, length
    if missing != "interpolate":
        raise DataError(f"{where}: missing values (NaN) inside the series",
                        hint="set data.missing: interpolate (linear, as the archive's adjusted copies do), "
                             "or fix the file")
    steps = np.arange(length)
    filled = series.copy()
    for c in range(series.shape[0]):
        ok = finite[c]
        if not ok.any():
            raise DataError(f"{where}: dimension {c + 1} has no values", hint="remove that case")
        filled[c] = np.interp(steps, steps[ok], series[c, ok])  # ends held at the nearest value
    return filled, length


def _equal_length(parts: dict[str, Cases], paths: dict[str, Path], *, how: str, missing: str) -> dict[str, np.ndarray]:
    """Every split's cases as one float32 array (N, C, L), L the longest series of both files."""
    trimmed = {part: [_fill_missing(s, where=f"{paths[part]}:{line}", missing=missing)
                      for s, line in zip(cases.series, cases.lines, strict=True)] for part, cases in parts.items()}
    lengths = {part: [n for _, n in items] for part, items in trimmed.items()}
    longest = max(max(n) for n in lengths.values())
    shortest = min(min(n) for n in lengths.values())
    if shortest != longest and how == "error":
        part = min(lengths, key=lambda p: min(lengths[p]))
        line = parts[part].lines[int(np.argmin(lengths[part]))]
        raise DataError(f"{paths[part]}:{line}: series lengths vary from {shortest} to {longest} "
                        "(the archive NaN-pads the shorter ones)",
                        hint=f"set data.variable_length: pad (zeros after each series' end) or resample "
                             f"(stretch each to {longest} samples)")
    out = {}
    for part, items in trimmed.items():
        channels = items[0][0].shape[0]
        x = np.zeros((len(items), channels, longest), dtype=np.float32)  # (N, C, L)
        for i, (series, _) in enumerate(items):
            x[i] = _to_length(series, longest, how)
        out[part] = x
    return out


def _to_length(series: np.ndarray, length: int, how: str) -> np.ndarray:
    """``series`` (C, n), n <= ``length`` unless resampled, as (C, length): zeros after its end (``pad``) or
    the same curve on ``length`` equally spaced points (``resample``)."""
    n = series.shape[1]
    if n == length:
        return series
    if how == "pad":
        out = np.zeros((series.shape[0], length), dtype=series.dtype)
        out[:, :n] = series
        return out
    where = np.linspace(0, n - 1, length)
    return np.stack([np.interp(where, np.arange(n), row) for row in series])


def _classes(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes 0..K-1 and class names: numeric labels sorted as numbers (``-1`` before ``1``, ``2`` before
    ``10``; ``1.0`` is class ``1``), anything else sorted as text."""
    try:
        numbers = np.array(labels, dtype=np.float64)
    except ValueError:
        names = sorted(set(labels))
        return np.array([names.index(v) for v in labels], dtype=np.int64), names
    values = np.unique(numbers)
    codes = np.searchsorted(values, numbers).astype(np.int64)
    names = [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values]
    return codes, names


def _zscore(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=2, keepdims=True)  # (N, C, 1)
    std = x.std(axis=2, keepdims=True)
    return ((x - mean) / np.where(std > 0, std, 1)).astype(np.float32)


def replay(x: np.ndarray, options: dict[str, Any], *, shape: tuple[int, ...], name: str) -> np.ndarray:
    """One case as :func:`read_cases` read it, ``x`` (1, C, n) with NaN padding, made the model's sample
    (1, C, L) exactly as :func:`load_ucr` made the training and test cases: the same missing-value
    treatment, the same padding or resampling to the run's series length L, the same z-score.
    ``convscope predict`` calls it (this source's ``predict_transform``); ``name`` names the case in errors.

    Example:
        >>> case = np.array([[[1.0, 3.0, np.nan]]])      # (1, C=1, n=3): one NaN of padding
        >>> replay(case, {"variable_length": "pad", "normalize": "zscore"}, shape=(1, 4), name="x:0").round(3)
        array([[[ 0.   ,  1.633, -0.816, -0.816]]], dtype=float32)
    """
    length = shape[-1]
    how = options.get("variable_length", "error")
    series, n = _fill_missing(x[0].astype(np.float64), where=name, missing=options.get("missing", "error"))
    if n != length and (how == "error" or (how == "pad" and n > length)):
        fix = ("give series of that length" if how == "error" else
               f"trim it to {length} samples (padding cannot shorten a series)")
        raise DataError(f"{name}: a series of {n} samples; the run's model was trained on {length} "
                        f"(data.variable_length: {how})", hint=fix)
    out = _to_length(series, length, how)[None].astype(np.float32)  # (1, C, L)
    return _zscore(out) if options.get("normalize", "none") == "zscore" else out


@SOURCES.register("ucr", predict_transform=replay)
def load_ucr(cfg: DataConfig) -> Source:
    """A UCR/UEA data set: the archive's train and test files, validation carved from train."""
    options = check_options(cfg, OPTIONS)
    choices = {"variable_length": ("error", "pad", "resample"), "missing": ("error", "interpolate"),
               "normalize": ("none", "zscore")}
    for key, allowed in choices.items():
        if options.get(key, allowed[0]) not in allowed:
            raise ConfigError(f"data.{key}: '{options[key]}' is not one of {', '.join(allowed)}",
                              hint=f"{key}: {OPTIONS[key]}")
    if cfg.path is None:
        raise ConfigError("data.path: source 'ucr' needs a path",
                          hint="data.path: a downloaded UCR/UEA data set's folder, e.g. ~/UCRArchive_2018/ECG200")
    name, train_path, test_path = find_pair(Path(cfg.path).expanduser(), options.get("name"))
    paths = {"train": train_path, "test": test_path}
    parts = {part: read_cases(path) for part, path in paths.items()}
    arrays = _equal_length(parts, paths, how=options.get("variable_length", "error"),
                           missing=options.get("missing", "error"))
    codes, class_names = _classes(parts["train"].labels + parts["test"].labels)
    y = {"train": codes[:len(parts["train"].labels)], "test": codes[len(parts["train"].labels):]}
    if options.get("normalize", "none") == "zscore":
        arrays = {part: _zscore(x) for part, x in arrays.items()}
    notes = [f"UCR/UEA {name}: the archive's own split, {len(y['train'])} train and {len(y['test'])} test series"]
    absent = sorted(set(class_names) - {class_names[c] for c in y["train"]})
    if absent:
        notes.append(f"classes {', '.join(absent)} appear in the test file only: the model cannot learn them")
    return Source(train=Split(arrays["train"], y["train"]), test=Split(arrays["test"], y["test"]),
                  class_names=class_names, name=name, notes=notes,
                  meta={"format": f"ucr{train_path.suffix or '-csv'}", "series_length": int(arrays["train"].shape[2]),
                        "variable_length": options.get("variable_length", "error")})
