"""ECG sources: WFDB records (PTB Diagnostic, PTB-XL, MIT-BIH beats, any folder), beat CSVs, npz/CSV signals.

The package is split by idea: ``options.py`` (what a user may write), ``pipeline.py`` (the signal
steps), ``records.py`` (records through the pipeline into a Source), ``wfdb_files.py`` (reading WFDB
files), ``wfdb_readers.py``, ``annotated.py`` (beat-annotated records), ``rr_intervals.py`` (their RR features), ``beat_shape.py`` (their QRS-shape features), ``leads.py`` (which
lead each channel takes) and ``array_readers.py`` (the sources). Every public name is re-exported here, so
``from convscope.data.ecg import load_wfdb, bandpass`` keeps working.
"""

from convscope.data.ecg.annotated import AAMI_CLASSES, BEAT_SYMBOLS, load_annotated
from convscope.data.ecg.array_readers import LEAKAGE_WARNING, load_beats, load_ecg_csv, load_ecg_npz
from convscope.data.ecg.options import (
    ArrayOptions,
    BeatOptions,
    FoldsOptions,
    SignalOptions,
    WfdbOptions,
    parse_options,
)
from convscope.data.ecg.pipeline import (
    LEAD_NAMES,
    bandpass,
    cut_beats,
    r_peaks,
    remove_baseline,
    resample,
    select_leads,
    sliding_windows,
    zscore,
)
from convscope.data.ecg.records import Record, build_source, process
from convscope.data.ecg.rr_intervals import RR_FEATURES, RR_TABLE, rr_features
from convscope.data.ecg.wfdb_readers import PTB_CLASSES, PTBXL_SUPERCLASSES, load_wfdb

__all__ = [
    "AAMI_CLASSES", "BEAT_SYMBOLS", "RR_FEATURES", "RR_TABLE", "load_annotated", "rr_features",
    "LEAD_NAMES", "LEAKAGE_WARNING", "PTBXL_SUPERCLASSES", "PTB_CLASSES", "ArrayOptions", "BeatOptions",
    "FoldsOptions", "Record", "SignalOptions", "WfdbOptions", "bandpass", "build_source", "cut_beats", "load_beats",
    "load_ecg_csv", "load_ecg_npz", "load_wfdb", "parse_options", "process", "r_peaks", "remove_baseline",
    "resample", "select_leads", "sliding_windows", "zscore",
]
