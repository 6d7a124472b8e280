"""ECG sources from arrays: ``ecg-beats`` (the beat CSVs of Kachuee et al. 2018), ``ecg-npz`` and
``ecg-csv`` (a user's own signals, one row per record, through the signal pipeline).

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from convscope.config import DataConfig
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ecg.npz"
    >>> rng = np.random.default_rng(0)
    >>> np.savez(path, x=rng.normal(size=(6, 1, 500)), y=np.arange(6) % 2, groups=np.arange(6) // 2)
    >>> source = load_ecg_npz(DataConfig(source="ecg-npz", path=str(path), sample_rate=100, window_s=2))
    >>> source.train.x.shape, source.class_names
    ((12, 1, 200), ['0', '1'])
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Source, Split
from convscope.data.ecg.options import ArrayOptions, BeatOptions, parse_options
from convscope.data.ecg.pipeline import resample, select_leads, zscore
from convscope.data.ecg.records import Record, build_source
from convscope.data.source_helpers import data_path, load_npz
from convscope.errors import ConfigError, DataError

LEAKAGE_WARNING = "beat-level split: beats of one patient land in train and test; accuracy is inflated by leakage"

# ---------------------------------------------------------------------------------------------
# ecg-beats: the beat CSVs of Kachuee et al. (2018)


_BEAT_SETS = {  # folder contents -> (train files, test files, class names)
    "ptbdb": (["ptbdb_normal.csv", "ptbdb_abnormal.csv"], [], ["normal", "abnormal"]),
    "mitbih": (["mitbih_train.csv"], ["mitbih_test.csv"], ["N", "S", "V", "F", "Q"]),
}


def _read_beats(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path, header=None, dtype=np.float32))
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"{path}: not a numeric beat CSV ({exc})",
                            hint="one beat per row: samples..., label (last column), no header") from None
    table = pd.concat(frames).to_numpy()
    return table[:, :-1], table[:, -1]


@SOURCES.register("ecg-beats")
def load_beats(cfg: DataConfig) -> Source:
    """Beat-level CSVs: a folder with ``ptbdb_normal.csv`` + ``ptbdb_abnormal.csv`` (or ``mitbih_train.csv``
    [+ ``mitbih_test.csv``]), or one CSV whose last column is the label."""
    opts = parse_options(BeatOptions, cfg)
    root = data_path(cfg, "ptbdb_normal.csv + ptbdb_abnormal.csv, or a beat CSV (last column = label)")
    test: tuple[np.ndarray, np.ndarray] | None = None
    class_names = opts.class_names
    if root.is_dir():
        found = next((k for k, (files, _, _) in _BEAT_SETS.items() if all((root / f).is_file() for f in files)), None)
        if found is None:
            expected = " or ".join(" + ".join(files) for files, _, _ in _BEAT_SETS.values())
            raise DataError(f"{root}: no beat CSVs (expected {expected})",
                            hint="or point data.path at a single CSV whose last column is the label")
        train_files, test_files, default_names = _BEAT_SETS[found]
        x, y = _read_beats([root / f for f in train_files])
        if all((root / f).is_file() for f in test_files) and test_files:
            test = _read_beats([root / f for f in test_files])
        class_names = class_names or default_names
    else:
        x, y = _read_beats([root])
    values = np.unique(np.concatenate([y, test[1]]) if test else y)
    if not np.array_equal(values, np.round(values)) or values.min() < 0:
        raise DataError(f"{root}: the last column holds {values[:5]}..., not class indices",
                        hint="the label must be the last column: 0, 1, ...")
    k = int(values.max()) + 1
    class_names = class_names or [str(i) for i in range(k)]
    if len(class_names) < k:
        raise ConfigError(f"data.class_names: {len(class_names)} names for labels 0..{k - 1}",
                          hint=f"give {k} names")

    def split(xs: np.ndarray, ys: np.ndarray) -> Split:
        sig = xs[:, None, :].astype(np.float64)  # (N, 1, 187)
        if opts.resample_hz is not None:
            sig = resample(sig, opts.sample_rate, opts.resample_hz)
        if opts.normalize != "none":  # each row is one beat: window and record are the same thing
            sig = zscore(sig)
        return Split(sig.astype(np.float32), ys.astype(np.int64))

    warnings.warn(LEAKAGE_WARNING, stacklevel=2)
    return Source(train=split(x, y), test=split(*test) if test else None, class_names=class_names, name="ecg-beats",
                  notes=[LEAKAGE_WARNING], meta={"sample_rate": float(opts.resample_hz or opts.sample_rate),
                                                 "aggregate": "none", "leakage": True, "synthetic": False})


# ---------------------------------------------------------------------------------------------
# ecg-npz / ecg-csv: a user's own signals, one row (record) per sample


def _array_records(x: np.ndarray, labels: np.ndarray, groups: np.ndarray | None, ids: np.ndarray | None,
                   fs: float, lead_names: list[str] | None, opts: ArrayOptions,
                   what: str) -> tuple[list[Record], list[str]]:
    if x.ndim == 2:
        x = x[:, None, :]  # (N, samples) -> (N, 1, samples)
    if x.ndim != 3 or len(x) != len(labels):
        raise DataError(f"{what}: x must be (N, leads, samples) or (N, samples) with one label per row "
                        f"(got x {x.shape}, y {labels.shape})")
    if opts.leads is not None and lead_names is None:
        raise ConfigError(f"data.leads: {what} has no lead names",
                          hint="store them (np.savez(..., lead_names=['i', 'ii'])) or remove leads")
    values = np.unique(labels)
    class_names = opts.class_names or [str(v) for v in values]
    if len(class_names) != len(values):
        raise ConfigError(f"data.class_names: {len(class_names)} names for {len(values)} labels "
                          f"({', '.join(map(str, values))})", hint=f"give {len(values)} names in label order")
    index = np.searchsorted(values, labels)
    names = lead_names or [f"lead{i}" for i in range(x.shape[1])]
    ids = np.arange(len(x)).astype(str) if ids is None else ids.astype(str)
    groups = ids if groups is None else groups.astype(str)  # no patient ids: each record is its own group
    records = [Record(select_leads(x[i], names, opts.leads, record=f"{what} row {i}"), fs, int(index[i]),
                      group=groups[i], id=ids[i], leads=opts.lead_labels or [n.lower() for n in names])
               for i in range(len(x))]
    return records, class_names


def _rate(opts: ArrayOptions, stored: float | None, what: str) -> float:
    """The sampling rate; 0 (unknown) is fine as long as no step needs seconds or Hz."""
    fs = opts.sample_rate or stored
    timed = opts.resample_hz or opts.filter or opts.baseline or opts.window_s or opts.beats
    if fs is None and timed:
        raise ConfigError(f"data.sample_rate: {what} does not say its sampling rate, and the pipeline needs it",
                          hint="add sample_rate: HZ (e.g. sample_rate: 500)")
    return float(fs or 0.0)


@SOURCES.register("ecg-npz")
def load_ecg_npz(cfg: DataConfig) -> Source:
    """An ``.npz`` with ``x`` (N, leads, samples) or (N, samples), ``y`` and optional ``groups``, ``ids``,
    ``fs`` and ``lead_names``; every row is a record for the pipeline."""
    opts = parse_options(ArrayOptions, cfg)
    path = data_path(cfg, "an .npz with arrays x, y[, groups, ids, fs, lead_names]")
    arrays = load_npz(path)
    if not {"x", "y"} <= set(arrays):
        raise DataError(f"{path}: needs arrays 'x' and 'y' (has {', '.join(sorted(arrays)) or 'none'})",
                        hint="np.savez(path, x=signals, y=labels, groups=patient_ids)")
    stored = float(arrays["fs"]) if "fs" in arrays else None
    leads = [str(n) for n in arrays["lead_names"]] if "lead_names" in arrays else None
    records, class_names = _array_records(arrays["x"], arrays["y"], arrays.get("groups"), arrays.get("ids"),
                                          _rate(opts, stored, str(path)), leads, opts, str(path))
    return build_source(records, opts, class_names=class_names, name="ecg-npz", cfg=cfg)


@SOURCES.register("ecg-csv")
def load_ecg_csv(cfg: DataConfig) -> Source:
    """A CSV with a ``label`` column, optional ``group`` and ``id`` columns, and one column per sample."""
    opts = parse_options(ArrayOptions, cfg)
    path = data_path(cfg, "a CSV with a label column and one column per sample")
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from None
    if "label" not in table.columns:
        raise DataError(f"{path}: no 'label' column (columns: {', '.join(map(str, table.columns[:8]))} ...)",
                        hint="the header needs label[,group][,id] and then the sample columns")
    meta_cols = [c for c in ("label", "group", "id") if c in table.columns]
    samples = table.drop(columns=meta_cols)
    try:
        x = samples.to_numpy(dtype=np.float64)  # (N, samples)
    except ValueError:
        raise DataError(f"{path}: sample columns must be numeric", hint="only label, group and id may be text") from None
    records, class_names = _array_records(
        x, table["label"].to_numpy(), table["group"].to_numpy() if "group" in table else None,
        table["id"].to_numpy() if "id" in table else None, _rate(opts, None, str(path)), None, opts, str(path))
    return build_source(records, opts, class_names=class_names, name="ecg-csv", cfg=cfg)
