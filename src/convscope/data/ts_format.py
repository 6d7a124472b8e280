"""A reader for sktime's ``.ts`` time-series format, the UEA/UCR archive's own (``ECG200_TRAIN.ts``).

Hand-written on purpose: the readers that exist (sktime's ``load_from_tsfile``, aeon's
``load_from_ts_file``) come with their whole toolkits — numba and llvmlite, a JIT compiler of ~50 MB
— to read a format that is a dozen ``@tag value`` header lines and one comma-separated line per case.
This parser reads what the archive ships (equal or unequal length, univariate or multivariate, ``?``
for a missing value, string or numeric class labels) and says which file, line and tag is wrong
otherwise; timestamped series and regression targets, which the classification archive does not use,
are refused with a hint.

The format::

    # comments (or % comments)
    @problemName ECG200
    @timeStamps false
    @univariate true
    @equalLength true
    @seriesLength 96
    @classLabel true -1 1
    @data
    0.50,0.54,...,0.61:-1               <- one case: dimension 1 : dimension 2 : ... : class label

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "TOY_TRAIN.ts"
    >>> _ = path.write_text("@problemName TOY\\n@univariate true\\n@classLabel true a b\\n@data\\n"
    ...                     "1,2,3:a\\n4,?,6:b\\n")
    >>> cases = read_ts(path)
    >>> cases.labels, cases.series[1].tolist(), cases.lines
    (['a', 'b'], [[4.0, nan, 6.0]], [5, 6])
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convscope.errors import DataError

COMMENTS = ("#", "%")  # '%' is ARFF's comment, kept by some of the archive's .ts files

# The tags, as the archive writes them (they are read case-blind), and what their values are.
TAGS = {
    "@problemName": "the data set's name",
    "@timeStamps": "true | false",
    "@missing": "true | false",
    "@univariate": "true | false",
    "@dimension": "the number of dimensions (channels)",
    "@dimensions": "the number of dimensions (channels)",
    "@equalLength": "true | false",
    "@seriesLength": "the length of every series",
    "@classLabel": "true followed by the class values, or false",
    "@targetLabel": "true | false (regression)",
    "@data": "the cases follow, one per line",
}
_KNOWN = {tag[1:].lower(): tag for tag in TAGS}


@dataclass
class Cases:
    """What a ``.ts`` (or UCR ``.tsv``/``.txt``) file holds, one entry per case, in file order."""

    labels: list[str]  # the class label of each case, as written
    series: list[np.ndarray]  # (C, L_i) float64 per case; NaN for a missing value or after a short dimension
    lines: list[int]  # the 1-based line of each case, for error messages
    header: dict[str, str] = field(default_factory=dict)  # the .ts tags (lower case) and their values


def _boolean(path: Path, number: int, tag: str, value: str) -> bool:
    word = value.split()[0].lower() if value.split() else ""
    if word not in ("true", "false"):
        raise DataError(f"{path}:{number}: @{tag} is '{value}', expected true or false",
                        hint=f"write @{tag} true or @{tag} false")
    return word == "true"


def _header(path: Path, lines: list[str]) -> tuple[dict[str, str], int]:
    """The tags before ``@data`` and the index of the first data line."""
    header: dict[str, str] = {}
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith(COMMENTS):
            continue
        if not line.startswith("@"):
            raise DataError(f"{path}:{index + 1}: not a .ts file: expected an @tag line before @data, found "
                            f"'{line[:40]}'", hint="a .ts file starts with @problemName ... and @data before the "
                                                   "cases; a .tsv/.txt file of the UCR archive needs that suffix")
        tag, _, value = line[1:].partition(" ")
        tag = tag.lower()
        if tag not in _KNOWN:
            close = difflib.get_close_matches(tag, list(_KNOWN), n=1)
            hint = f"did you mean {_KNOWN[close[0]]}? " if close else ""
            raise DataError(f"{path}:{index + 1}: unknown .ts tag '@{line[1:].split()[0]}'",
                            hint=f"{hint}known tags: {', '.join(TAGS)}")
        if tag == "data":
            return header, index + 1
        header[tag] = value.strip()
        if tag in ("timestamps", "missing", "univariate", "equallength", "targetlabel"):
            _boolean(path, index + 1, tag, value.strip())
    raise DataError(f"{path}: not a .ts file: no @data line", hint="the cases must follow an @data line")


def _check_header(path: Path, header: dict[str, str]) -> list[str] | None:
    """The declared class values (None when not declared); refuses what the archive does not use."""
    if header.get("timestamps", "false").split()[0].lower() == "true":
        raise DataError(f"{path}: @timeStamps true: timestamped series are not read",
                        hint="use the archive's equally spaced copy of this data set (@timeStamps false)")
    words = header.get("classlabel", "").split()
    if not words or words[0].lower() != "true":
        regression = header.get("targetlabel", "false").split()[0].lower() == "true"
        what = "holds regression targets (@targetLabel true)" if regression else "declares no class labels"
        raise DataError(f"{path}: {what}; convscope classifies",
                        hint="use a classification data set (its header has @classLabel true and the class values)")
    return words[1:] or None


def read_ts(path: Path) -> Cases:
    """Every case of the ``.ts`` file at ``path``.

    Raises:
        DataError: an unknown tag, a missing ``@data``, a value that is not a number, a label the
            header does not declare, a case with the wrong number of dimensions (file and line named).
    """
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    header, start = _header(path, lines)
    declared = _check_header(path, header)
    dims = header.get("dimensions", header.get("dimension"))
    univariate = header.get("univariate", "true").split()[0].lower() == "true"
    expected = 1 if univariate else (int(dims) if dims and dims.isdigit() else None)
    cases = Cases(labels=[], series=[], lines=[], header=header)
    for index in range(start, len(lines)):
        line = lines[index].strip()
        if not line or line.startswith(COMMENTS):
            continue
        number = index + 1
        *parts, label = line.split(":")
        label = label.strip()
        if not parts:
            raise DataError(f"{path}:{number}: no ':' before the class label",
                            hint="each case is dimension values, ':' and its class label, e.g. 0.1,0.2,0.3:1")
        if expected is not None and len(parts) != expected:
            raise DataError(f"{path}:{number}: {len(parts)} dimensions, the header says {expected}",
                            hint="every case needs the same dimensions, separated by ':'")
        if declared is not None and label not in declared:
            raise DataError(f"{path}:{number}: class label '{label}' is not among @classLabel's "
                            f"{' '.join(declared)}", hint="add it to the @classLabel line, or fix the case")
        channels = []
        for d, part in enumerate(parts):
            tokens = [t.strip() for t in part.split(",")]
            try:
                channels.append(np.array([np.nan if t == "?" else float(t) for t in tokens], dtype=np.float64))
            except ValueError:
                bad = next(t for t in tokens if t != "?" and not is_number(t))
                raise DataError(f"{path}:{number}: value '{bad}' of dimension {d + 1} is not a number",
                                hint="values are numbers separated by ',' ('?' marks a missing one)") from None
        length = max(len(c) for c in channels)
        series = np.full((len(channels), length), np.nan)  # (C, L): a shorter dimension is NaN-padded
        for d, values in enumerate(channels):
            series[d, :len(values)] = values
        cases.labels.append(label)
        cases.series.append(series)
        cases.lines.append(number)
    if expected is None and cases.series and len({s.shape[0] for s in cases.series}) > 1:
        first = cases.series[0].shape[0]
        odd = next(i for i, s in enumerate(cases.series) if s.shape[0] != first)
        raise DataError(f"{path}:{cases.lines[odd]}: {cases.series[odd].shape[0]} dimensions, the first case has "
                        f"{first}", hint="every case needs the same dimensions, separated by ':'")
    return cases


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float (the archive's files mark a missing value with NaN or ``?``)."""
    try:
        float(text)
    except ValueError:
        return False
    return True
