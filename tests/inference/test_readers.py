"""Each input format is claimed by one registered reader; rows that are already samples keep their shape."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.errors import DataError
from convscope.inference.readers import READERS, read_inputs, reader_for
from convscope.inference.recipe import Recipe

ROWS = Recipe(run_id=7, source="builtin:mnist1d", kind="signal", input_shape=(1, 5), class_names=["a", "b"],
              threshold=0.5, unit="rows", aggregate="none")


def test_ucr_rows_drop_the_label_column(tmp_path):
    path = tmp_path / "Demo_TEST.tsv"
    path.write_text("1\t0.1\t0.2\t0.3\t0.4\t0.5\n2\t1\t2\t3\t4\t5\n")
    items = read_inputs([path], ROWS)
    assert [name for name, _ in items] == ["ucr", "ucr"]
    x = np.concatenate([ROWS.samples(item) for _, item in items])
    np.testing.assert_allclose(x, [[[0.1, 0.2, 0.3, 0.4, 0.5]], [[1, 2, 3, 4, 5]]], rtol=1e-6)


def test_rows_of_the_wrong_length_name_the_file_and_the_shape(tmp_path):
    path = tmp_path / "Demo_TEST.tsv"
    path.write_text("1\t0.1\t0.2\t0.3\n")
    (_, item), = read_inputs([path], ROWS)
    with pytest.raises(DataError, match=r"Demo_TEST.tsv:0: gives samples of shape \[1, 3\], run 7's model takes \[1, 5\]"):
        ROWS.samples(item)


def test_npy_and_csv_rows(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 1, 5), dtype=np.float32))
    (tmp_path / "x.csv").write_text("id,label,a,b,c,d,e\nr1,0,1,2,3,4,5\n")
    items = read_inputs([tmp_path / "x.npy", tmp_path / "x.csv"], ROWS)
    assert [item.name for _, item in items][-1].endswith("x.csv:r1")
    assert np.concatenate([ROWS.samples(item) for _, item in items]).shape == (4, 1, 5)


def test_formats_and_folders_are_recognised(tmp_path):
    (tmp_path / "r.hea").write_text("r 1 360 10\n")
    assert reader_for(tmp_path / "r.hea") == "wfdb" and reader_for(tmp_path) == "wfdb"
    (tmp_path / "notes.xyz").write_text("")
    with pytest.raises(DataError, match="unknown input format '.xyz'"):
        reader_for(tmp_path / "notes.xyz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no files predict can read"):
        reader_for(empty)
    assert {READERS.traits(n)["kind"] for n in READERS.names()} == {"signal", "image", "any"}


def test_a_sources_predict_transform_is_replayed(tmp_path):
    path = tmp_path / "Demo_TEST.tsv"
    path.write_text("1\t1\t2\t3\t4\t5\n")
    scale = Recipe(run_id=7, source="ucr", kind="signal", input_shape=(1, 5), class_names=["a", "b"], threshold=0.5,
                   unit="rows", aggregate="none", transform=lambda x, options, **_: x * options["gain"], options={"gain": 2})
    (_, item), = read_inputs([path], scale)
    np.testing.assert_allclose(scale.samples(item), [[[2, 4, 6, 8, 10]]])
