"""Image loaders read tiny fixtures written here exactly, and every bad input is one clear DataError."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import dump_svmlight_file

from convscope.config import DataConfig
from convscope.data import SOURCES, Source, Split, find_source, load_data
from convscope.data.images import CIFAR10_CLASSES
from convscope.data.mnist import FASHION_CLASSES
from convscope.errors import ConfigError, DataError


def load_source(**data):
    cfg = DataConfig(**data)
    return find_source(cfg.source)(cfg)


def tiny_mnist(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    return x, (np.arange(n) % 10).astype(np.uint8)


def write_idx(path: Path, arr: np.ndarray, *, gz: bool = False) -> Path:
    code = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}[arr.dtype]
    raw = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def write_mnist_idx(folder: Path, *, gz: bool, n_train=12, n_test=5, spelling="{kind}-idx{rank}-ubyte"):
    folder.mkdir(parents=True, exist_ok=True)
    xtr, ytr = tiny_mnist(n_train, 1)
    xte, yte = tiny_mnist(n_test, 2)
    for prefix, x, y in (("train", xtr, ytr), ("t10k", xte, yte)):
        write_idx(folder / spelling.format(kind=f"{prefix}-images", rank="3"), x, gz=gz)
        write_idx(folder / spelling.format(kind=f"{prefix}-labels", rank="1"), y, gz=gz)
    return xtr, ytr, xte, yte


def write_libsvm(x: np.ndarray, y: np.ndarray, path: Path, *, zero_based: bool) -> None:
    # sklearn's writer takes float rows; "%d"-like output for whole numbers keeps pixels exact
    dump_svmlight_file(x.astype(np.float64), y, str(path), zero_based=zero_based)


def expected_pixels(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / np.float32(255.0))[:, None]


# ---------------------------------------------------------------------------------------------
# MNIST: IDX


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_read_exactly(tmp_path, gz):
    xtr, ytr, xte, yte = write_mnist_idx(tmp_path / "mnist", gz=gz)
    src = load_source(source="mnist", path=str(tmp_path / "mnist"))
    assert src.train.x.dtype == np.float32 and src.train.x.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(src.train.x, expected_pixels(xtr))
    np.testing.assert_array_equal(src.train.y, ytr.astype(np.int64))
    np.testing.assert_array_equal(src.test.x, expected_pixels(xte))
    np.testing.assert_array_equal(src.test.y, yte)
    assert src.val is None and src.class_names == [str(d) for d in range(10)]


def test_mnist_idx_kaggle_spelling_and_torchvision_layout(tmp_path):
    xtr, *_ = write_mnist_idx(tmp_path / "kaggle", gz=False, spelling="{kind}.idx{rank}-ubyte")
    np.testing.assert_array_equal(load_source(source="mnist", path=str(tmp_path / "kaggle")).train.x,
                                  expected_pixels(xtr))
    xtr, *_ = write_mnist_idx(tmp_path / "root" / "MNIST" / "raw", gz=True)
    np.testing.assert_array_equal(load_source(source="mnist", path=str(tmp_path / "root")).train.x,
                                  expected_pixels(xtr))


def test_mnist_idx_through_load_data_keeps_test_and_carves_val(tmp_path):
    write_mnist_idx(tmp_path, gz=True, n_train=100, n_test=10)
    data = load_data(DataConfig(source="mnist", path=str(tmp_path)), seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (90, 10, 10)
    assert sorted(data.y_val.tolist()) == list(range(10))  # stratified: one of each digit


def test_idx_missing_partner_file(tmp_path):
    write_mnist_idx(tmp_path, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.* is missing"):
        load_source(source="mnist", path=str(tmp_path))


def test_idx_length_mismatch(tmp_path):
    x, y = tiny_mnist(6)
    write_idx(tmp_path / "train-images-idx3-ubyte", x)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y[:5])
    with pytest.raises(DataError, match="6 images but 5 labels") as exc:
        load_source(source="mnist", path=str(tmp_path))
    assert "train-images-idx3-ubyte / train-labels-idx1-ubyte" in str(exc.value)


def test_idx_label_out_of_range(tmp_path):
    x, y = tiny_mnist(6)
    y[3] = 10
    write_idx(tmp_path / "train-images-idx3-ubyte", x)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: label 10 is outside 0..9"):
        load_source(source="mnist", path=str(tmp_path))


def test_idx_truncated_and_bad_magic(tmp_path):
    x, y = tiny_mnist(6)
    path = write_idx(tmp_path / "train-images-idx3-ubyte", x)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated IDX file"):
        load_source(source="mnist", path=str(tmp_path))
    path.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="not an IDX file"):
        load_source(source="mnist", path=str(tmp_path))


def test_mnist_missing_path_lists_expected_files(tmp_path):
    with pytest.raises(DataError, match="does not exist") as exc:
        load_source(source="mnist", path=str(tmp_path / "nope"))
    assert "train-images-idx3-ubyte" in str(exc.value) and "mnist.t" in str(exc.value)
    with pytest.raises(DataError, match="holds no MNIST files") as exc:
        load_source(source="mnist", path=str(tmp_path))
    assert "x_train, y_train, x_test, y_test" in exc.value.hint


# ---------------------------------------------------------------------------------------------
# MNIST: libsvm, npz, the classic pickle


def test_mnist_libsvm_one_based_like_libsvm(tmp_path):
    xtr, ytr, xte, yte = (*tiny_mnist(8, 1), *tiny_mnist(4, 2))
    xtr[:, 0, 0] = 0  # MNIST's corner pixel is always blank, so the index that tells conventions apart is absent
    write_libsvm(xtr.reshape(8, -1), ytr, tmp_path / "mnist", zero_based=False)
    write_libsvm(xte.reshape(4, -1), yte, tmp_path / "mnist.t", zero_based=False)
    src = load_source(source="mnist", path=str(tmp_path / "mnist"))
    np.testing.assert_array_equal(src.train.x, expected_pixels(xtr))
    np.testing.assert_array_equal(src.train.y, ytr)
    np.testing.assert_array_equal(src.test.x, expected_pixels(xte))
    assert src.meta["zero_based"] is False
    np.testing.assert_array_equal(load_source(source="mnist", path=str(tmp_path)).test.y, yte)  # folder form


def test_mnist_libsvm_zero_based_detected_and_forced(tmp_path):
    x, y = tiny_mnist(6)
    x[0, 0, 0], x[:, 27, 27] = 7, 0  # index 0 used, index 783 blank: only zero-based fits
    write_libsvm(x.reshape(6, -1), y, tmp_path / "mnist.scale", zero_based=True)
    src = load_source(source="mnist", path=str(tmp_path / "mnist.scale"))
    np.testing.assert_array_equal(src.train.x, expected_pixels(x))
    assert src.test is None and "carved from train" in src.notes[0]
    x2, y2 = tiny_mnist(6, 3)
    x2[:, 0, 0] = x2[:, 27, 27] = 0  # ambiguous file: the option decides
    write_libsvm(x2.reshape(6, -1), y2, tmp_path / "other", zero_based=True)
    forced = load_source(source="mnist", path=str(tmp_path / "other"), zero_based=True)
    np.testing.assert_array_equal(forced.train.x, expected_pixels(x2))


def test_mnist_libsvm_scaled_values_kept(tmp_path):
    x, y = tiny_mnist(4)
    scaled = x.reshape(4, -1).astype(np.float32) / 255
    scaled[:, 0] = 0
    write_libsvm(scaled, y, tmp_path / "mnist", zero_based=False)
    src = load_source(source="mnist", path=str(tmp_path / "mnist"))
    np.testing.assert_allclose(src.train.x.reshape(4, -1), scaled, rtol=0, atol=1e-7)


def test_mnist_libsvm_bad_labels_and_width(tmp_path):
    x, _ = tiny_mnist(3)
    write_libsvm(x.reshape(3, -1), np.array([0.0, 1.5, 2.0]), tmp_path / "mnist", zero_based=False)
    with pytest.raises(DataError, match="labels must be integers, found 1.5"):
        load_source(source="mnist", path=str(tmp_path / "mnist"))
    write_libsvm(np.ones((2, 800)), np.array([0, 1]), tmp_path / "wide", zero_based=False)
    with pytest.raises(DataError, match="wide: not a libsvm file of 784 pixel features"):
        load_source(source="mnist", path=str(tmp_path / "wide"))


def test_mnist_npz_keras_form_and_val_kept(tmp_path):
    xtr, ytr = tiny_mnist(30, 1)
    xva, yva = tiny_mnist(10, 2)
    xte, yte = tiny_mnist(10, 3)
    np.savez(tmp_path / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    src = load_source(source="mnist", path=str(tmp_path / "mnist.npz"))
    np.testing.assert_array_equal(src.train.x, expected_pixels(xtr))
    np.testing.assert_array_equal(src.test.y, yte)
    np.savez(tmp_path / "split.npz", x_train=xtr.reshape(30, -1), y_train=ytr, x_val=xva, y_val=yva, x_test=xte,
             y_test=yte)
    data = load_data(DataConfig(source="mnist", path=str(tmp_path / "split.npz")), seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 10, 10)  # the file's val, nothing carved
    np.testing.assert_array_equal(data.x_val.numpy(), expected_pixels(xva))


def test_mnist_npz_errors(tmp_path):
    x, y = tiny_mnist(5)
    np.savez(tmp_path / "a.npz", x_train=x, y_train=y[:4])
    with pytest.raises(DataError, match="a.npz: x_train/y_train: 5 images but 4 labels"):
        load_source(source="mnist", path=str(tmp_path / "a.npz"))
    np.savez(tmp_path / "b.npz", images=x)
    with pytest.raises(DataError, match=r"b.npz: no x_train/y_train arrays \(has: images\)"):
        load_source(source="mnist", path=str(tmp_path / "b.npz"))


def test_mnist_classic_pickle(tmp_path):
    parts = []
    for n, seed in ((8, 1), (4, 2), (4, 3)):
        x, y = tiny_mnist(n, seed)
        parts.append((x.reshape(n, -1).astype(np.float32) / 256, y.astype(np.int64)))
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps(tuple(parts), protocol=3)))
    src = load_source(source="mnist", path=str(tmp_path))
    np.testing.assert_array_equal(src.val.x, expected_pixels(tiny_mnist(4, 2)[0]))
    np.testing.assert_array_equal(src.train.y, parts[0][1])


def test_unknown_mnist_option_suggests(tmp_path):
    write_mnist_idx(tmp_path, gz=False)
    with pytest.raises(ConfigError, match="data.zerobased: unknown option for source 'mnist'") as exc:
        load_source(source="mnist", path=str(tmp_path), zerobased=True)
    assert "did you mean 'zero_based'" in exc.value.hint


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST


def test_fashion_mnist_from_path_and_debian_location(tmp_path, monkeypatch):
    import convscope.data.cache as cache

    xtr, ytr, _, _ = write_mnist_idx(tmp_path / "fm", gz=True)
    src = load_source(source="fashion-mnist", path=str(tmp_path / "fm"))
    assert src.class_names == FASHION_CLASSES and src.name == "fashion-mnist"
    monkeypatch.setattr(cache, "DEBIAN_FASHION_MNIST", tmp_path / "missing")
    with pytest.raises(DataError, match="fashion-mnist: no data.path") as exc:
        load_source(source="fashion-mnist")
    assert "apt-get install dataset-fashion-mnist" in exc.value.hint
    monkeypatch.setattr(cache, "DEBIAN_FASHION_MNIST", tmp_path / "fm")
    np.testing.assert_array_equal(load_source(source="fashion-mnist").train.x, expected_pixels(xtr))


# ---------------------------------------------------------------------------------------------
# CIFAR-10


def write_cifar(folder: Path, n=2):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        x = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        labels = [(i + j) % 10 for j in range(n)]
        images[name] = (x, labels)
        # the python version's layout: one row per image, 1024 red, then green, then blue bytes
        batch = {b"batch_label": b"batch", b"labels": labels, b"data": x.reshape(n, 3072), b"filenames": [b"a.png"] * n}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=3))
    meta = {b"label_names": [name.encode() for name in CIFAR10_CLASSES], b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=3))
    return images


def test_cifar10_read_exactly(tmp_path):
    images = write_cifar(tmp_path / "cifar-10-batches-py")
    src = load_source(source="cifar10", path=str(tmp_path))  # the parent folder works too
    assert src.train.x.shape == (10, 3, 32, 32) and src.test.x.shape == (2, 3, 32, 32)
    first, labels = images["data_batch_1"]
    np.testing.assert_array_equal(src.train.x[:2], first.astype(np.float32) / np.float32(255))
    assert src.train.y[:2].tolist() == labels
    np.testing.assert_array_equal(src.test.x, images["test_batch"][0].astype(np.float32) / np.float32(255))
    assert src.class_names == CIFAR10_CLASSES


def test_cifar10_missing_files_listed(tmp_path):
    write_cifar(tmp_path / "c")
    (tmp_path / "c" / "data_batch_3").unlink()
    (tmp_path / "c" / "test_batch").unlink()
    with pytest.raises(DataError, match="missing CIFAR-10 files: data_batch_3, test_batch") as exc:
        load_source(source="cifar10", path=str(tmp_path / "c"))
    assert "batches.meta" in exc.value.hint
    with pytest.raises(DataError, match="cifar10: data.path is not set"):
        load_source(source="cifar10")


def test_cifar10_refuses_code_in_pickles(tmp_path):
    write_cifar(tmp_path / "c")
    marker = tmp_path / "pwned"
    # GLOBAL os.system, then call it: what a tampered download could hold
    evil = b"cos\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR."
    (tmp_path / "c" / "data_batch_2").write_bytes(evil)
    with pytest.raises(DataError, match="data_batch_2: not a readable data pickle .*refusing to load 'os.system'"):
        load_source(source="cifar10", path=str(tmp_path / "c"))
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# Generic npz


def test_npz_layouts(tmp_path):
    rng = np.random.default_rng(0)
    cases = {
        "signal": (rng.normal(size=(6, 50)).astype(np.float32), (6, 1, 50)),
        "gray": (rng.integers(0, 256, (6, 9, 7), dtype=np.uint8), (6, 1, 9, 7)),
        "multilead": (rng.normal(size=(6, 3, 200)).astype(np.float32), (6, 3, 200)),
        "first": (rng.integers(0, 256, (6, 3, 16, 16), dtype=np.uint8), (6, 3, 16, 16)),
        "last": (rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8), (6, 3, 16, 16)),
    }
    for name, (x, shape) in cases.items():
        np.savez(tmp_path / f"{name}.npz", x=x, y=np.arange(6) % 2)
        src = load_source(source="npz", path=str(tmp_path / f"{name}.npz"))
        assert src.train.x.shape == shape, name
        assert src.train.x.dtype == np.float32
    last = load_source(source="npz", path=str(tmp_path / "last.npz")).train.x
    np.testing.assert_array_equal(last, cases["last"][0].transpose(0, 3, 1, 2) / np.float32(255))
    signal = load_source(source="npz", path=str(tmp_path / "signal.npz")).train.x
    np.testing.assert_array_equal(signal[:, 0], cases["signal"][0])  # floats are taken as given
    forced = load_source(source="npz", path=str(tmp_path / "multilead.npz"), layout="NHW")
    assert forced.train.x.shape == (6, 1, 3, 200)


def test_npz_string_labels_groups_and_splits(tmp_path):
    x = np.arange(8 * 10, dtype=np.float32).reshape(8, 10)
    y = np.array(["mi", "norm", "norm", "mi", "norm", "mi", "hyp", "norm"])
    np.savez(tmp_path / "d.npz", x=x, y=y, groups=np.array([1, 1, 2, 2, 3, 3, 4, 4]), ids=np.array(list("abcdefgh")))
    src = load_source(source="npz", path=str(tmp_path / "d.npz"))
    assert src.class_names == ["hyp", "mi", "norm"]
    assert src.train.y.tolist() == [1, 2, 2, 1, 2, 1, 0, 2]
    assert src.train.groups.tolist() == [1, 1, 2, 2, 3, 3, 4, 4] and src.train.ids[2] == "c"
    np.savez(tmp_path / "s.npz", x_train=x, y_train=np.arange(8) % 3 + 5, x_test=x[:2], y_test=np.array([7, 5]))
    split = load_source(source="npz", path=str(tmp_path / "s.npz"))
    assert split.class_names == ["5", "6", "7"] and split.test.y.tolist() == [2, 0]


def test_npz_errors(tmp_path):
    x = np.zeros((4, 10), np.float32)
    np.savez(tmp_path / "len.npz", x=x, y=np.zeros(3))
    with pytest.raises(DataError, match="len.npz: x has 4 samples but y has 3"):
        load_source(source="npz", path=str(tmp_path / "len.npz"))
    np.savez(tmp_path / "float.npz", x=x, y=np.array([0, 0.5, 1, 1]))
    with pytest.raises(DataError, match="float.npz: labels must be class values, found non-integer 0.5"):
        load_source(source="npz", path=str(tmp_path / "float.npz"))
    np.savez(tmp_path / "keys.npz", data=x)
    with pytest.raises(DataError, match=r"keys.npz: no x/y or x_train/y_train arrays \(has: data\)"):
        load_source(source="npz", path=str(tmp_path / "keys.npz"))
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 10)), y=np.zeros(0))
    with pytest.raises(DataError, match="empty.npz: the training arrays are empty"):
        load_source(source="npz", path=str(tmp_path / "empty.npz"))
    np.savez(tmp_path / "obj.npz", x=x, y=np.array([0, "a", None, 1], dtype=object))
    with pytest.raises(DataError, match="obj.npz: cannot read") as exc:
        load_source(source="npz", path=str(tmp_path / "obj.npz"))
    assert "fixed-width" in exc.value.hint
    with pytest.raises(DataError, match="does not exist"):
        load_source(source="npz", path=str(tmp_path / "none.npz"))


# ---------------------------------------------------------------------------------------------
# Folder of images


def write_png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def test_folder_grayscale_exact(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for cls in ("cat", "dog"):
        for i in range(3):
            arrays[(cls, i)] = rng.integers(0, 256, (5, 4), dtype=np.uint8)
            write_png(tmp_path / cls / f"{i}.png", arrays[(cls, i)])
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    src = load_source(source="folder", path=str(tmp_path))
    assert src.class_names == ["cat", "dog"] and src.meta["mode"] == "L"
    assert src.train.x.shape == (6, 1, 5, 4)
    np.testing.assert_array_equal(src.train.x[4, 0], arrays[("dog", 1)] / np.float32(255))
    assert src.train.y.tolist() == [0, 0, 0, 1, 1, 1] and src.train.ids[4] == "dog/1.png"


def test_folder_rgb_default_resize_and_split_layout(tmp_path):
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 255
    write_png(tmp_path / "train" / "a" / "0.png", rgb)
    write_png(tmp_path / "train" / "b" / "0.png", np.full((12, 10), 128, np.uint8))
    write_png(tmp_path / "test" / "b" / "1.png", np.full((12, 10), 64, np.uint8))
    src = load_source(source="folder", path=str(tmp_path), size=[6, 8])
    assert src.meta["mode"] == "RGB" and src.train.x.shape == (2, 3, 6, 8) and src.test.x.shape == (1, 3, 6, 8)
    np.testing.assert_array_equal(src.train.x[0, 0], np.ones((6, 8), np.float32))  # red channel
    np.testing.assert_allclose(src.test.x[0], 64 / 255, atol=1e-6)  # gray as RGB, resized flat stays flat
    gray = load_source(source="folder", path=str(tmp_path), size=4, mode="L")
    assert gray.train.x.shape == (2, 1, 4, 4)


def test_folder_errors(tmp_path):
    for i in range(3):
        write_png(tmp_path / "a" / f"{i}.png", np.zeros((5, 5), np.uint8))
    write_png(tmp_path / "b" / "odd.png", np.zeros((7, 6), np.uint8))
    with pytest.raises(DataError, match=r"odd.png: is 6x7 but most images are 5x5") as exc:
        load_source(source="folder", path=str(tmp_path))
    assert "data.size: [5, 5]" in exc.value.hint
    (tmp_path / "c").mkdir()
    with pytest.raises(DataError, match="c: class folder has no image files"):
        load_source(source="folder", path=str(tmp_path), size=[5, 5])
    (tmp_path / "c").rmdir()
    with pytest.raises(ConfigError, match="data.sise: unknown option for source 'folder'") as exc:
        load_source(source="folder", path=str(tmp_path), sise=[5, 5])
    assert "did you mean 'size'" in exc.value.hint
    (tmp_path / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load_source(source="folder", path=str(tmp_path), size=[5, 5])
    with pytest.raises(DataError, match="is not a folder"):
        load_source(source="folder", path=str(tmp_path / "none"))


# ---------------------------------------------------------------------------------------------
# load_data: the source registry and the final checks


def test_unknown_source_suggests():
    with pytest.raises(ConfigError, match="data.source: unknown data source 'mnsit'") as exc:
        load_data(DataConfig(source="mnsit"), seed=0)
    assert "did you mean 'mnist'" in exc.value.hint and "builtin:digits" in exc.value.hint


@SOURCES.register("test:bad")
def _bad_labels(cfg):
    return Source(train=Split(np.zeros((20, 1, 4), np.float32), np.arange(20) % 3), class_names=["a", "b"])


@SOURCES.register("test:empty")
def _empty_test(cfg):
    return Source(train=Split(np.zeros((20, 1, 4), np.float32), np.arange(20) % 2), class_names=["a", "b"],
                  test=Split(np.zeros((0, 1, 4), np.float32), np.zeros(0, np.int64)))


def test_load_data_rejects_labels_outside_classes_and_empty_splits():
    with pytest.raises(DataError, match=r"test:bad: (train|val|test) label 2 is outside 0..1 \(2 classes\)"):
        load_data(DataConfig(source="test:bad", split={"stratify": False}), seed=0)
    with pytest.raises(DataError, match="test:empty: the test split is empty"):
        load_data(DataConfig(source="test:empty"), seed=0)


def test_load_data_limit_keeps_classes(tmp_path):
    for cls in "abc":
        for i in range(10):
            write_png(tmp_path / cls / f"{i}.png", np.full((3, 3), i, np.uint8))
    data = load_data(DataConfig(source="folder", path=str(tmp_path), limit=12, split={"test": 0.25, "val": 0.25}),
                     seed=0)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 12
    assert sorted(set(data.y_train.tolist())) == [0, 1, 2]  # a plain head of the sorted folder would be all 'a'
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
