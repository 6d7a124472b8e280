"""The .ts reader: the archive's header variants, and one error naming file, line and fix for each mistake."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.data.ts_format import read_ts
from convscope.errors import DataError

HEADER = ["% an ARFF-style comment", "# a comment", "@problemName T", "@timeStamps false", "@univariate true",
          "@classLabel true 1 2", "@data"]


def ts(tmp_path, header, *cases):
    path = tmp_path / "T_TRAIN.ts"
    path.write_text("\n".join([*header, *cases]) + "\n")
    return path


def test_reads_cases_missing_values_and_unequal_lengths(tmp_path):
    header = [h.split(" ")[0].lower() + h[len(h.split(" ")[0]):] for h in HEADER]  # tags are read case-blind
    cases = read_ts(ts(tmp_path, header, "1,2,3:1", "", "4,?:2"))
    assert cases.labels == ["1", "2"] and cases.lines == [8, 10]
    np.testing.assert_array_equal(cases.series[0], [[1, 2, 3]])
    np.testing.assert_array_equal(cases.series[1], [[4, np.nan]])
    assert cases.header["problemname"] == "T"


@pytest.mark.parametrize("header, case, message", [
    (HEADER[:-1], "", "no @data line"),
    (["1,2,3:1", *HEADER], "1,2:1", "T_TRAIN.ts:1: not a .ts file"),
    (HEADER, "1,2:3", "T_TRAIN.ts:8: class label '3' is not among @classLabel's 1 2"),
    (HEADER, "1,x:1", "T_TRAIN.ts:8: value 'x' of dimension 1 is not a number"),
    (HEADER, "1,2,3", "T_TRAIN.ts:8: no ':' before the class label"),
    (HEADER, "1,2:3,4:1", "T_TRAIN.ts:8: 2 dimensions, the header says 1"),
    ([HEADER[2], "@timeStamps true", *HEADER[4:]], "1:1", "@timeStamps true: timestamped series are not read"),
    (["@univariate yes", *HEADER], "1:1", "T_TRAIN.ts:1: @univariate is 'yes', expected true or false"),
    (["@problemName T", "@targetLabel true", "@data"], "1,2:0.5", "holds regression targets"),
])
def test_each_mistake_names_file_and_line(tmp_path, header, case, message):
    with pytest.raises(DataError, match="T_TRAIN.ts") as exc:
        read_ts(ts(tmp_path, header, case))
    assert message in exc.value.message and exc.value.hint
