"""``source: ucr``: the UCR/UEA archive's .tsv, .txt, comma and .ts files, written here in each format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import convscope
from convscope.cli import app
from convscope.config import DataConfig
from convscope.data import load_data
from convscope.errors import ConfigError, DataError
from convscope.store import Store

EXAMPLE = Path(__file__).parents[2] / "examples" / "ucr-ecg200.yaml"


def ecg200_like(n: int, *, seed: int, length: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Labels -1/1 and one beat per series (N, L): class 1 has an upright T wave, class -1 an inverted one."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, 1, -1)
    t = np.arange(length)
    beat = 2.5 * np.exp(-((t - 30) / 2.5) ** 2)  # R wave
    t_wave = 0.8 * np.exp(-((t - 65) / 6.0) ** 2)
    x = beat + y[:, None] * t_wave + 0.1 * rng.standard_normal((n, length))
    return y, x


def write(folder: Path, name: str, part: str, y, x, fmt: str) -> Path:
    """One archive file: fmt tsv (2018), txt (old, whitespace), csv (2015, comma, no suffix) or ts (sktime)."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "ts":
        labels = " ".join(sorted({str(v) for v in y}))
        lines = ["# written by the test", f"@problemName {name}", "@timeStamps false", "@missing false",
                 "@univariate true", "@equalLength true", f"@seriesLength {x.shape[1]}",
                 f"@classLabel true {labels}", "@data"]
        lines += [",".join(repr(float(v)) for v in row) + f":{label}" for label, row in zip(y, x, strict=True)]
        path = folder / f"{name}_{part}.ts"
    else:
        sep, fmt_value, suffix = {"tsv": ("\t", repr, ".tsv"), "txt": ("  ", lambda v: f"{v:.7e}", ".txt"),
                                  "csv": (",", repr, "")}[fmt]
        lead = "  " if fmt == "txt" else ""  # the old .txt files right-align every number, the label too
        lines = [lead + sep.join([fmt_value(float(label)) if fmt == "txt" else str(label),
                                  *(fmt_value(float(v)) for v in row)]) for label, row in zip(y, x, strict=True)]
        path = folder / f"{name}_{part}{suffix}"
    path.write_text("\n".join(lines) + "\n")
    return path


def ecg200_folder(root: Path, fmt: str = "tsv", *, n_train: int = 40, n_test: int = 30) -> Path:
    folder = root / "ECG200"
    for part, n, seed in (("TRAIN", n_train, 0), ("TEST", n_test, 1)):
        write(folder, "ECG200", part, *ecg200_like(n, seed=seed), fmt)
    return folder


def ucr(path, **options) -> DataConfig:
    return DataConfig(source="ucr", path=str(path), **options)


@pytest.mark.parametrize("fmt", ["tsv", "txt", "csv", "ts"])
def test_each_format_keeps_the_archive_split_and_its_series(tmp_path, fmt):
    folder = ecg200_folder(tmp_path, fmt)
    data = load_data(ucr(folder, split={"val": 0.25}), seed=0)
    y_test, x_test = ecg200_like(30, seed=1)
    assert data.class_names == ["-1", "1"]  # sorted as numbers
    np.testing.assert_array_equal(data.y_test.numpy(), (y_test == 1).astype(int))  # the test file, in order
    np.testing.assert_allclose(data.x_test.numpy()[:, 0], x_test, rtol=1e-6, atol=1e-6)
    assert tuple(data.x_train.shape[1:]) == (1, 96)
    assert len(data.y_train) == 30 and len(data.y_val) == 10  # validation carved from the 40 train series
    assert any("the archive's own split, 40 train and 30 test" in note for note in data.notes)


def test_path_may_be_the_folder_a_file_of_the_pair_their_prefix_or_the_root_with_a_name(tmp_path):
    folder = ecg200_folder(tmp_path)  # the archive's layout: root/ECG200/ECG200_TRAIN.tsv
    reference = load_data(ucr(folder), seed=0)
    assert torch_equal(load_data(ucr(tmp_path), seed=0).x_test, reference.x_test)  # the root's only data set
    write(tmp_path / "GunPoint", "GunPoint", "TRAIN", *ecg200_like(10, seed=2), "tsv")
    write(tmp_path / "GunPoint", "GunPoint", "TEST", *ecg200_like(10, seed=3), "tsv")
    for path, options in ((folder / "ECG200_TRAIN.tsv", {}), (folder / "ECG200_TEST.tsv", {}),
                          (folder / "ECG200", {}), (tmp_path, {"name": "ECG200"})):
        data = load_data(ucr(path, **options), seed=0)
        assert torch_equal(data.x_test, reference.x_test) and data.name == "ECG200"
    with pytest.raises(DataError, match=r"several data sets \(ECG200, GunPoint\)") as exc:
        load_data(ucr(tmp_path), seed=0)
    assert "name: " in exc.value.hint


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_a_file_without_its_partner_is_named(tmp_path):
    with pytest.raises(DataError, match=r"data.path: .*ECG5000 does not exist"):
        load_data(ucr(tmp_path / "ECG5000"), seed=0)
    with pytest.raises(ConfigError, match="data.path: source 'ucr' needs a path"):
        load_data(DataConfig(source="ucr"), seed=0)
    folder = ecg200_folder(tmp_path)
    (folder / "ECG200_TEST.tsv").unlink()
    with pytest.raises(DataError, match=r"ECG200_TRAIN.tsv: found, but its partner ECG200_TEST"):
        load_data(ucr(folder), seed=0)


def test_labels_of_any_kind_become_classes(tmp_path):
    x = np.random.default_rng(0).standard_normal((12, 20))
    write(tmp_path / "a", "NUM", "TRAIN", np.array([1, 2, 10] * 4), x, "tsv")  # 10 after 2: sorted as numbers
    write(tmp_path / "a", "NUM", "TEST", np.array([10, 2, 1] * 4), x, "tsv")
    assert load_data(ucr(tmp_path / "a"), seed=0).class_names == ["1", "2", "10"]
    write(tmp_path / "b", "WORDS", "TRAIN", np.array(["walk", "run", "stand"] * 4), x, "ts")
    write(tmp_path / "b", "WORDS", "TEST", np.array(["stand", "run", "walk"] * 4), x, "ts")
    data = load_data(ucr(tmp_path / "b"), seed=0)
    assert data.class_names == ["run", "stand", "walk"] and data.y_test[:3].tolist() == [1, 0, 2]
    write(tmp_path / "c", "FLOAT", "TRAIN", np.array([1.0, 2.0] * 6), x, "txt")  # old files: "1.0000000e+00"
    write(tmp_path / "c", "FLOAT", "TEST", np.array([2.0, 1.0] * 6), x, "txt")
    assert load_data(ucr(tmp_path / "c"), seed=0).class_names == ["1", "2"]


def _variable_length(root: Path) -> Path:
    """Series of lengths 6..10, NaN-padded at the end like the archive's .tsv files."""
    rng = np.random.default_rng(0)
    for part in ("TRAIN", "TEST"):
        x = rng.standard_normal((10, 10))
        for i in range(10):
            x[i, 6 + i % 5:] = np.nan
        write(root, "VAR", part, np.array([1, 2] * 5), x, "tsv")
    return root


def test_variable_length_is_an_error_unless_padded_or_resampled(tmp_path):
    folder = _variable_length(tmp_path)
    with pytest.raises(DataError, match=r"VAR_TRAIN.tsv:1: series lengths vary from 6 to 10") as exc:
        load_data(ucr(folder), seed=0)
    assert "variable_length: pad" in exc.value.hint and "resample" in exc.value.hint
    rows = (folder / "VAR_TEST.tsv").read_text().splitlines()
    first = np.array(rows[0].split("\t")[1:], dtype=float)[:6]  # length 6, then NaN
    padded = load_data(ucr(folder, variable_length="pad"), seed=0).x_test.numpy()[0, 0]
    np.testing.assert_allclose(padded, np.r_[first, np.zeros(4)], rtol=1e-6)
    stretched = load_data(ucr(folder, variable_length="resample"), seed=0).x_test.numpy()[0, 0]
    np.testing.assert_allclose(stretched[[0, -1]], first[[0, -1]], rtol=1e-6)  # same ends, 10 points
    np.testing.assert_allclose(stretched, np.interp(np.linspace(0, 5, 10), np.arange(6), first), rtol=1e-5)


def test_missing_values_inside_a_series_are_an_error_unless_interpolated(tmp_path):
    x = np.tile(np.arange(8.0), (4, 1))
    x[2, 3] = np.nan
    write(tmp_path, "GAP", "TRAIN", np.array([1, 2, 1, 2]), x, "tsv")
    write(tmp_path, "GAP", "TEST", np.array([1, 2, 1, 2]), x, "tsv")
    with pytest.raises(DataError, match=r"GAP_TRAIN.tsv:3: missing values \(NaN\) inside the series"):
        load_data(ucr(tmp_path, split={"val": 0.5}), seed=0)
    data = load_data(ucr(tmp_path, missing="interpolate", split={"val": 0.5}), seed=0)
    np.testing.assert_allclose(data.x_test.numpy()[2, 0], np.arange(8.0))  # the gap filled on the line


def test_multivariate_ts_gives_one_channel_per_dimension(tmp_path):
    lines = ["@problemName MV", "@univariate false", "@dimensions 2", "@equalLength true", "@seriesLength 3",
             "@classLabel true a b", "@data", "1,2,3:4,5,6:a", "7,8,9:1,2,3:b", "1,1,1:2,2,2:a", "3,3,3:4,4,4:b"]
    for part in ("TRAIN", "TEST"):
        (tmp_path / f"MV_{part}.ts").write_text("\n".join(lines) + "\n")
    data = load_data(ucr(tmp_path, split={"val": 0.5}), seed=0)
    assert tuple(data.x_test.shape) == (4, 2, 3)
    np.testing.assert_array_equal(data.x_test.numpy()[0], [[1, 2, 3], [4, 5, 6]])


def test_zscore_normalizes_each_series(tmp_path):
    folder = ecg200_folder(tmp_path)
    x = load_data(ucr(folder, normalize="zscore"), seed=0).x_test.numpy()
    np.testing.assert_allclose(x.mean(axis=2), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=2), 1, atol=1e-4)


def test_options_are_checked(tmp_path):
    folder = ecg200_folder(tmp_path)
    with pytest.raises(ConfigError, match="data.variable_lenght: unknown option") as exc:
        load_data(ucr(folder, variable_lenght="pad"), seed=0)
    assert "did you mean 'variable_length'" in exc.value.hint
    with pytest.raises(ConfigError, match="data.variable_length: 'stretch' is not one of error, pad, resample"):
        load_data(ucr(folder, variable_length="stretch"), seed=0)


# -- bad input through the CLI: one line naming the file (and line), exit 2, nothing stored -------------


def _break(folder: Path, how: str) -> str:
    """Damage the ECG200 fixture one way; returns what the error line must contain."""
    train = folder / "ECG200_TRAIN.tsv"
    if how == "missing file":
        train.unlink()
        return "partner ECG200_TRAIN"
    if how == "header row":
        train.write_text("label\t" + "\t".join(f"t{i}" for i in range(96)) + "\n" + train.read_text())
        return "ECG200_TRAIN.tsv:1: 't0' is not a number: a header row?"
    if how == "non-numeric value":
        lines = train.read_text().splitlines()
        lines[4] = lines[4].replace("\t", "\tabc\t", 1).rsplit("\t", 1)[0]
        train.write_text("\n".join(lines) + "\n")
        return "ECG200_TRAIN.tsv:5: value 'abc' is not a number"
    for part in ("TRAIN", "TEST"):  # unknown .ts tag
        (folder / f"ECG200_{part}.tsv").unlink()
        write(folder, "ECG200", part, *ecg200_like(10, seed=0), "ts")
    ts = folder / "ECG200_TRAIN.ts"
    ts.write_text(ts.read_text().replace("@missing false", "@mising false"))
    return "ECG200_TRAIN.ts:4: unknown .ts tag '@mising' hint: did you mean @missing?"


@pytest.mark.parametrize("how", ["missing file", "header row", "non-numeric value", "unknown ts tag"])
def test_bad_files_are_one_line_naming_file_and_line(tmp_path, how):
    folder = ecg200_folder(tmp_path)
    expected = _break(folder, how)
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump({"name": "bad", "data": {"source": "ucr", "path": str(folder)},
                                      "model": {"layers": ["flatten", {"dense": 2}]}}))
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in " ".join(result.output.split()), result.output  # rich may wrap the line
    assert Store().runs() == []


def test_the_ecg200_example_runs_one_epoch_on_an_ecg200_like_fixture(tmp_path):
    folder = ecg200_folder(tmp_path, n_train=40, n_test=20)
    run = convscope.run(EXAMPLE, overrides=[f"data.path={folder}", "train.epochs=1"])
    assert run.status == "completed"
    assert {"val_sensitivity/-1", "val_sensitivity/1", "val_ppv/1", "val_macro_f1"} <= set(run.history[0])
    assert run.info.class_names == ["-1", "1"] and sum(map(sum, run.info.test_confusion)) == 20


@pytest.mark.parametrize("fmt", ["tsv", "txt", "csv"])
def test_the_fast_and_the_careful_reader_agree(tmp_path, fmt):
    from convscope.data.ucr import _read_with_pandas, read_delimited

    y, x = ecg200_like(12, seed=4)
    x[3, 90:] = np.nan  # a shorter series, NaN-padded
    path = write(tmp_path, "ECG200", "TRAIN", y, x, fmt)
    fast, careful = _read_with_pandas(path), read_delimited(path)
    assert fast is not None and fast.labels == careful.labels and fast.lines == careful.lines
    for a, b in zip(fast.series, careful.series, strict=True):
        np.testing.assert_array_equal(a, b)
    path.write_text(path.read_text().replace("\n", "\n\n", 1))  # a blank line: only the careful reader keeps
    assert _read_with_pandas(path) is None and read_delimited(path).lines[1] == 3  # the line numbers right
