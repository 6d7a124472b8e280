"""UCR/UEA archive files (``NAME_TEST.tsv``, the older whitespace or comma ``.txt``, sktime's ``.ts``), read
by the ``ucr`` source's own case reader so a file predicts exactly as it trained. The class label of each
case is ignored; a case keeps its own length and NaN padding here, and the run's recipe replays the
source's missing-value, length and normalisation steps on it (:func:`convscope.data.ucr.replay`)."""

from __future__ import annotations

from pathlib import Path

from convscope.data.ucr import read_cases
from convscope.inference.readers import READERS
from convscope.inference.recipe import Input


@READERS.register("ucr", kind="signal", suffixes=(".tsv", ".txt", ".ts"))
def read_ucr(path: Path) -> list[Input]:
    cases = read_cases(path)  # DataError naming file and line for a header row, a word among the values...
    # (1, C, n) per case: one sample, its NaN padding kept for the source's own treatment
    return [Input(name=f"{path}:{i}", data=series[None], ready=True) for i, series in enumerate(cases.series)]
