"""``source: ecg-wfdb``: folders of WFDB records — PTB Diagnostic, PTB-XL, or any folder (``layout``).

Each layout reader turns the folder into :class:`~convscope.data.ecg.records.Record` objects with a
label, a patient and a split, lazily (a record is read when the pipeline reaches it), and
:func:`~convscope.data.ecg.records.build_source` runs them through the signal pipeline.

Example (a ``flat`` folder of four 10 s records written here with ``wfdb.wrsamp``; the PTB Diagnostic
ECG Database reads the same way with ``path="ptb-diagnostic-ecg-database-1.0.0", layout="ptb"``):
    >>> import tempfile
    >>> import numpy as np
    >>> from convscope.config import DataConfig
    >>> folder, t = tempfile.mkdtemp(), np.arange(2500) / 250           # 10 s at 250 Hz
    >>> for name in ("mi_1", "mi_2", "ctl_1", "ctl_2"):
    ...     wfdb.wrsamp(name, fs=250, units=["mV"], sig_name=["ii"], fmt=["16"], write_dir=folder,
    ...                 p_signal=np.sin(2 * np.pi * 1.2 * t)[:, None])
    >>> cfg = DataConfig(source="ecg-wfdb", path=folder, layout="flat", leads=["ii"], window_s=5,
    ...                  labels={"control": ["ctl_*"], "mi": ["mi_*"]}, split={"group_by": "patient"})
    >>> source = load_wfdb(cfg)
    >>> source.train.x.shape[1:], source.class_names                     # two 5 s windows per record
    ((1, 1250), ['control', 'mi'])
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import wfdb

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Source
from convscope.data.ecg.annotated import annotation_only, load_annotated
from convscope.data.ecg.options import WfdbOptions, parse_options
from convscope.data.ecg.records import Record, build_source
from convscope.data.ecg.wfdb_files import read_signal, record_names
from convscope.data.source_helpers import data_path
from convscope.errors import ConfigError, DataError

PTB_CLASSES = {"control": ["Healthy control"], "mi": ["Myocardial infarction"]}
PTBXL_SUPERCLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]
# Ties between superclasses of equal likelihood go to the first here: a record with an MI statement
# is not called normal just because a NORM statement has the same likelihood.
_PTBXL_TIE_ORDER = ["MI", "STTC", "CD", "HYP", "NORM"]


def _reason(comments: list[str]) -> str:
    for line in comments:
        match = re.match(r"\s*reason for admission\s*:\s*(.*)$", line, flags=re.IGNORECASE)
        if match:
            return match.group(1).strip() or "n/a"
    return "n/a"


def _ptb(root: Path, opts: WfdbOptions) -> tuple[Iterator[Record], list[str], list[str]]:
    """PTB Diagnostic (``patientNNN/sNNNNlre``): patient from the folder, label from ``Reason for admission``.

    ``labels`` maps class -> admission reasons (default ``{control: [Healthy control], mi: [Myocardial
    infarction]}``; class order is label order, so the second class is the positive one);
    ``diagnoses: other`` keeps every other record as class ``other`` instead of dropping it.
    """
    if opts.labels is not None and not isinstance(opts.labels, dict):
        raise ConfigError("data.labels: layout ptb takes a mapping class -> admission reasons",
                          hint="e.g. labels: {control: [Healthy control], mi: [Myocardial infarction]}")
    mapping = opts.labels or PTB_CLASSES
    lookup = {reason.lower(): k for k, reasons in enumerate(mapping.values()) for reason in reasons}
    class_names = list(mapping)
    if opts.diagnoses == "other":
        class_names.append("other")
    names = record_names(root, "patient*/*.hea")
    if not names:
        raise DataError(f"{root}: no PTB Diagnostic records (expected RECORDS and patientNNN/sNNNNxxx.hea + .dat)",
                        hint="point data.path at the unpacked ptb-diagnostic-ecg-database-1.0.0/ folder")
    chosen: list[tuple[str, int]] = []
    dropped: Counter[str] = Counter()
    for name in names:
        try:
            header = wfdb.rdheader(str(root / name))
        except FileNotFoundError:
            raise DataError(f"{root / name}.hea: missing (listed in RECORDS)",
                            hint="the download is incomplete: fetch the whole ptb-diagnostic-ecg-database-1.0.0/") from None
        reason = _reason(header.comments or [])
        label = lookup.get(reason.lower())
        if label is None and opts.diagnoses == "other":
            label = len(class_names) - 1
        if label is None:
            dropped[reason] += 1
        else:
            chosen.append((name, label))
    notes = []
    if dropped:
        notes.append(f"ptb: {sum(dropped.values())} records dropped (admission reason not in labels: "
                     + ", ".join(f"{r} x{n}" for r, n in dropped.most_common()) + "); keep them with diagnoses: other")

    def records() -> Iterator[Record]:
        for name, label in chosen:
            sig, fs, leads = read_signal(root, name, opts)
            yield Record(sig, fs, label, group=Path(name).parent.name or name, id=name, leads=leads)

    return records(), class_names, notes


def _ptbxl_labels(codes: dict[str, float], diagnostic: dict[str, str], opts: WfdbOptions,
                  classes: list[str]) -> int | None:
    """The class of one PTB-XL record from its ``scp_codes`` (code -> likelihood), or None to drop it."""
    floor = opts.min_likelihood or 0.0
    score: dict[str, float] = {}
    for code, likelihood in codes.items():
        superclass = diagnostic.get(code)
        if superclass and likelihood >= floor:
            score[superclass] = max(score.get(superclass, -1.0), likelihood)
    if not score:
        return None
    if opts.task == "mi-vs-norm":
        if "MI" in score and "NORM" not in score:
            return classes.index("MI")
        return classes.index("NORM") if set(score) == {"NORM"} else None
    best = max(score.values())
    label = next(c for c in _PTBXL_TIE_ORDER if score.get(c) == best)
    return classes.index(label) if label in classes else None


def _ptbxl(root: Path, opts: WfdbOptions) -> tuple[Iterator[Record], list[str], list[str]]:
    """PTB-XL: labels from ``scp_codes`` via ``scp_statements.csv``, splits from ``strat_fold``.

    ``task: superclass`` (default): one label per record, the diagnostic superclass (NORM, MI, STTC,
    CD, HYP) of its most likely diagnostic SCP statement; ``labels: [NORM, MI]`` keeps a subset.
    PTB-XL is natively multi-label; this single-label reading is what a softmax CNN can learn.
    ``task: mi-vs-norm``: MI = any MI statement and no NORM one; NORM = only NORM statements;
    every other record is dropped.
    """
    database, statements = root / "ptbxl_database.csv", root / "scp_statements.csv"
    missing = [p.name for p in (database, statements) if not p.is_file()]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)} (PTB-XL needs ptbxl_database.csv, "
                        "scp_statements.csv and records100/ or records500/)",
                        hint="point data.path at the unpacked ptb-xl-1.0.3/ folder")
    sampling = opts.sampling or 100
    column = "filename_lr" if sampling == 100 else "filename_hr"
    if not (root / f"records{sampling}").is_dir():
        raise DataError(f"{root}: missing records{sampling}/ (sampling: {sampling})",
                        hint=f"download records{sampling}/ too, or use sampling: {600 - sampling}")
    db = pd.read_csv(database, index_col="ecg_id")
    scp = pd.read_csv(statements, index_col=0)
    need = {"scp_codes", "strat_fold", "patient_id", column}
    if not need <= set(db.columns) or "diagnostic_class" not in scp.columns:
        absent = sorted(need - set(db.columns)) + ([] if "diagnostic_class" in scp.columns else ["diagnostic_class"])
        raise DataError(f"{root}: PTB-XL tables lack columns {', '.join(absent)}",
                        hint="use the CSVs shipped with PTB-XL 1.0.x unchanged")
    diagnostic = scp[scp["diagnostic"] == 1]["diagnostic_class"].dropna().to_dict()
    if opts.task == "mi-vs-norm":
        if opts.labels is not None:
            raise ConfigError("data.labels: task mi-vs-norm has fixed classes NORM and MI",
                              hint="remove labels, or use task: superclass with labels: [NORM, MI]")
        classes = ["NORM", "MI"]
    else:
        if opts.labels is not None and not isinstance(opts.labels, list):
            raise ConfigError("data.labels: layout ptbxl takes a list of superclasses to keep",
                              hint="e.g. labels: [NORM, MI, STTC, CD, HYP]")
        classes = [c.upper() for c in (opts.labels or PTBXL_SUPERCLASSES)]
        unknown = [c for c in classes if c not in PTBXL_SUPERCLASSES]
        if unknown:
            raise ConfigError(f"data.labels: {', '.join(unknown)} is not a PTB-XL superclass",
                              hint=f"choose from {', '.join(PTBXL_SUPERCLASSES)}")
    fold_of: dict[int, str] = {}
    if opts.folds is not None:
        for part in ("train", "val", "test"):
            for fold in getattr(opts.folds, part):
                fold_of[fold] = part
    chosen: list[tuple[str, int, str, str]] = []
    dropped = 0
    for row in db.itertuples():
        # scp_codes is a Python dict literal; literal_eval parses it without running code (eval would)
        label = _ptbxl_labels(ast.literal_eval(row.scp_codes), diagnostic, opts, classes)
        part = fold_of.get(int(row.strat_fold)) if opts.folds is not None else "train"
        if label is None or part is None:
            dropped += 1
            continue
        chosen.append((getattr(row, column), label, f"{int(row.patient_id)}", part))
    notes = [f"ptbxl: task {opts.task or 'superclass'}, {sampling} Hz, "
             + ("folds " + "/".join(",".join(map(str, getattr(opts.folds, p))) for p in ("train", "val", "test"))
                + " = train/val/test" if opts.folds is not None else "every fold in train")
             + (f"; {dropped} records dropped (no matching label or fold)" if dropped else "")]

    def records() -> Iterator[Record]:
        for name, label, patient, part in chosen:
            sig, fs, leads = read_signal(root, name, opts)
            yield Record(sig, fs, label, group=patient, id=name, split=part, leads=leads)

    return records(), classes, notes


def _flat(root: Path, opts: WfdbOptions) -> tuple[Iterator[Record], list[str], list[str]]:
    """Any folder of WFDB records. ``labels`` is a CSV (columns ``record, label[, group]``) relative to
    ``path``, or a mapping class -> record names / glob patterns (``{mi: ["mi_*"], control: ["ctl_*"]}``).

    The patient of a record is the CSV's ``group``, else its sub-folder (``patient7/rec1``), else the
    record itself: without patient ids a split can only be record-wise.
    """
    names = record_names(root, "**/*.hea")
    if not names:
        raise DataError(f"{root}: no WFDB records (expected *.hea headers with .dat/.mat signals, or a RECORDS file)",
                        hint="point data.path at the folder holding the records")
    groups: dict[str, str] = {}
    if isinstance(opts.labels, str):
        table_path = root / opts.labels
        if not table_path.is_file():
            raise DataError(f"{table_path}: labels file not found", hint="labels: a CSV relative to data.path")
        table = pd.read_csv(table_path, dtype=str)
        if not {"record", "label"} <= set(table.columns):
            raise DataError(f"{table_path}: needs columns 'record' and 'label' (has {', '.join(table.columns)})",
                            hint="one row per record: record,label[,group]")
        class_names = sorted(table["label"].unique())
        label_of = {r: class_names.index(lab) for r, lab in zip(table["record"], table["label"], strict=True)}
        if "group" in table.columns:
            groups = dict(zip(table["record"], table["group"], strict=True))
    elif isinstance(opts.labels, dict):
        class_names = list(opts.labels)
        label_of = {}
        for name in names:
            for k, patterns in enumerate(opts.labels.values()):
                if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(Path(name).name, p) for p in patterns):
                    label_of.setdefault(name, k)
    else:
        raise ConfigError("data.labels: layout flat needs labels (a CSV or a mapping class -> records)",
                          hint="e.g. labels: labels.csv (record,label[,group]) or labels: {mi: ['mi_*'], "
                               "control: ['ctl_*']}")
    chosen = [n for n in names if n in label_of]
    notes = [f"flat: {len(names) - len(chosen)} records without a label skipped"] if len(chosen) < len(names) else []

    def records() -> Iterator[Record]:
        for name in chosen:
            sig, fs, leads = read_signal(root, name, opts)
            group = groups.get(name) or (Path(name).parent.name if Path(name).parent.name else name)
            yield Record(sig, fs, label_of[name], group=group, id=name, leads=leads)

    return records(), class_names, notes


_LAYOUT_ONLY = {"diagnoses": "ptb", "task": "ptbxl", "sampling": "ptbxl", "min_likelihood": "ptbxl"}


def _detect_layout(root: Path) -> str:
    if (root / "ptbxl_database.csv").is_file():
        return "ptbxl"
    if any(root.glob("patient*/*.hea")):
        return "ptb"
    return "flat"


@SOURCES.register("ecg-wfdb")
def load_wfdb(cfg: DataConfig) -> Source:
    """WFDB records from ``data.path``: ``layout: ptb | ptbxl | flat`` (``auto`` detects it), or one sample
    per annotated beat with ``labels: annotations`` (``annotated.py``)."""
    opts = parse_options(WfdbOptions, cfg)
    root = data_path(cfg, "a folder of WFDB records, e.g. ptb-diagnostic-ecg-database-1.0.0/ or ptb-xl-1.0.3/")
    if not root.is_dir():
        raise DataError(f"{root}: ecg-wfdb needs a folder, not a file", hint="point data.path at the record folder")
    if opts.labels == "annotations":
        return load_annotated(cfg, root, opts)
    annotation_only(opts)
    layout = _detect_layout(root) if opts.layout == "auto" else opts.layout
    for option, owner in _LAYOUT_ONLY.items():
        if getattr(opts, option) is not None and owner != layout:
            raise ConfigError(f"data.{option}: applies to layout {owner} only (this is layout {layout})",
                              hint=f"remove {option}, or set layout: {owner}")
    readers = {"ptb": _ptb, "ptbxl": _ptbxl, "flat": _flat}
    records, class_names, notes = readers[layout](root, opts)
    return build_source(records, opts, class_names=class_names, name=f"ecg-wfdb ({layout})", cfg=cfg,
                        notes=notes, meta={"layout": layout})
