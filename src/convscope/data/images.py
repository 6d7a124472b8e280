"""Image sources: CIFAR-10, generic ``npz`` arrays and folders of image files (MNIST forms: ``mnist.py``).

Every loader returns float32 channel-first images in [0, 1] (``(N, C, H, W)``; 8-bit pixels are
divided by 255) and labels 0..K-1, and keeps a dataset's own test (and validation) split so that
results are comparable with the literature. Each user mistake (a missing file, mismatched lengths,
labels outside the classes) is one :class:`~convscope.errors.DataError` naming the file and the fix.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from convscope.config import DataConfig
    >>> from convscope.data import load_data
    >>> path = Path(tempfile.mkdtemp()) / "shapes.npz"
    >>> np.savez(path, x=np.random.default_rng(0).random((40, 3, 8, 8)), y=np.arange(40) % 2)
    >>> data = load_data(DataConfig(source="npz", path=str(path), split={"val": 0.25, "test": 0.25}), seed=0)
    >>> data.x_train.shape, data.x_val.shape, data.class_names
    (torch.Size([20, 3, 8, 8]), torch.Size([10, 3, 8, 8]), ['0', '1'])
"""


from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Source, Split
from convscope.data.cache import safe_unpickle
from convscope.data.source_helpers import check_options, integer_labels, load_npz, same_length, to_unit_float
from convscope.errors import ConfigError, DataError

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _path(cfg: DataConfig) -> Path:
    assert cfg.path is not None
    return Path(cfg.path).expanduser()



# ---------------------------------------------------------------------------------------------
# CIFAR-10 "python version"

CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_FILES = [*CIFAR_TRAIN, "test_batch", "batches.meta"]


def _text(value: Any) -> Any:
    return value.decode("latin1") if isinstance(value, bytes) else value


def _cifar_batch(path: Path) -> dict[str, Any]:
    obj = safe_unpickle(path.read_bytes(), what=str(path))
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a dict of data and labels, got {type(obj).__name__}",
                        hint="use the CIFAR-10 python version (cifar-10-python.tar.gz)")
    return {_text(k): v for k, v in obj.items()}  # Python 2 wrote str keys; encoding may give bytes


@SOURCES.register("cifar10")
def load_cifar10(cfg: DataConfig) -> Source:
    """CIFAR-10's python batches (never downloaded: the user points ``data.path`` at them)."""
    check_options(cfg, {})
    expected = ", ".join(CIFAR_FILES)
    if cfg.path is None:
        raise DataError("cifar10: data.path is not set",
                        hint=f"extract cifar-10-python.tar.gz and point data.path at cifar-10-batches-py ({expected})")
    root = _path(cfg)
    folder = root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").is_dir() else root
    missing = [name for name in CIFAR_FILES[:-1] if not (folder / name).is_file()]
    if missing:
        raise DataError(f"data.path: {folder} is missing CIFAR-10 files: {', '.join(missing)}",
                        hint=f"expected the python version's {expected}")
    splits = []
    for names in (CIFAR_TRAIN, ["test_batch"]):
        xs, ys = [], []
        for name in names:
            batch = _cifar_batch(folder / name)
            if "data" not in batch or "labels" not in batch:
                raise DataError(f"{folder / name}: no 'data'/'labels' entries (has {', '.join(map(str, batch))})",
                                hint="use the CIFAR-10 python version; CIFAR-100 uses 'fine_labels'")
            x = np.asarray(batch["data"])
            if x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
                raise DataError(f"{folder / name}: data has shape {x.shape}, expected (N, 3072)",
                                hint="use the CIFAR-10 python version (rows of 1024 red, green, blue bytes)")
            y = np.asarray(batch["labels"])
            same_length(x, y, what=str(folder / name))
            xs.append(x.reshape(-1, 3, 32, 32))  # rows are R, G, B planes of 32x32: (N, 3, 32, 32)
            ys.append(integer_labels(y, what=str(folder / name), num_classes=10))
        splits.append(Split(to_unit_float(np.concatenate(xs)), np.concatenate(ys)))
    class_names, notes = CIFAR10_CLASSES, []
    if (folder / "batches.meta").is_file():
        meta = _cifar_batch(folder / "batches.meta")
        class_names = [_text(n) for n in meta.get("label_names", CIFAR10_CLASSES)]
    else:
        notes.append(f"{folder}: no batches.meta, using CIFAR-10's standard class names")
    return Source(train=splits[0], test=splits[1], class_names=class_names, name="cifar10", notes=notes,
                  meta={"format": "cifar-python"})


# ---------------------------------------------------------------------------------------------
# Generic arrays

_LAYOUTS = ("auto", "NL", "NCL", "NLC", "NHW", "NCHW", "NHWC")


def channel_first(x: np.ndarray, *, layout: str = "auto", what: str) -> tuple[np.ndarray, str]:
    """Arrange user arrays as ``(N, C, L)`` or ``(N, C, H, W)``; returns the array and the layout read.

    ``auto``: (N, L) is one signal channel, (N, H, W) one image channel, unless it is a few long
    rows (N, C<=16, L>=16*C: a multi-lead signal); 4-D arrays are channel-first unless the last axis
    is 1, 3 or 4 and much smaller than the two before it (channel-last, as Keras/PIL store images).
    """
    if layout not in _LAYOUTS:
        raise ConfigError(f"data.layout: unknown layout '{layout}'", hint=f"one of {', '.join(_LAYOUTS)}")
    if layout == "auto":
        if x.ndim == 2:
            layout = "NL"
        elif x.ndim == 3:
            layout = "NCL" if x.shape[1] <= 16 and x.shape[2] >= 16 * x.shape[1] else "NHW"
        elif x.ndim == 4:
            c_last, c_first = x.shape[3], x.shape[1]
            looks_last = c_last in (1, 3, 4) and min(x.shape[1], x.shape[2]) >= 4 * c_last
            layout = "NHWC" if looks_last and c_first not in (1, 3, 4) else "NCHW"
        else:
            raise DataError(f"{what}: x has shape {x.shape}; expected (N, L), (N, C, L), (N, H, W) or (N, C, H, W)",
                            hint="reshape the samples to signals or images before saving")
    rank = {"NL": 2, "NCL": 3, "NLC": 3, "NHW": 3, "NCHW": 4, "NHWC": 4}[layout]
    if x.ndim != rank:
        raise DataError(f"{what}: layout {layout} needs a {rank}-D array, got shape {x.shape}",
                        hint="fix data.layout or the array's shape")
    if layout in ("NL", "NHW"):
        x = x[:, None]  # (N, 1, L) or (N, 1, H, W)
    elif layout == "NLC":
        x = x.transpose(0, 2, 1)  # (N, C, L)
    elif layout == "NHWC":
        x = x.transpose(0, 3, 1, 2)  # (N, C, H, W)
    return np.ascontiguousarray(x), layout


def encode_labels(ys: list[np.ndarray], *, what: str) -> tuple[list[np.ndarray], list[str]]:
    """Map label values (ints, whole floats or strings) of all splits to 0..K-1 by sorted value."""
    values = [np.asarray(y) for y in ys]
    for y in values:
        if y.ndim != 1:
            raise DataError(f"{what}: labels must be 1-D (one per sample), got shape {y.shape}",
                            hint="for one-hot labels save y.argmax(1)")
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            raise DataError(f"{what}: labels must be class values, found non-integer {y[y != np.round(y)][0]}",
                            hint="labels are classes (ints or strings), not regression targets")
    if any(y.dtype.kind in "US" for y in values):
        values = [y.astype(str) for y in values]
    elif any(y.dtype.kind == "f" for y in values):
        values = [y.astype(np.int64) for y in values]
    classes = np.unique(np.concatenate(values))
    codes = [np.searchsorted(classes, y).astype(np.int64) for y in values]
    return codes, [str(c) for c in classes]


def _x_y(arrays: dict[str, np.ndarray], x_key: str, y_key: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if y_key not in arrays:
        raise DataError(f"{path}: has {x_key} but no {y_key}", hint=f"save the labels as {y_key}")
    x, y = arrays[x_key], arrays[y_key]
    if len(x) != len(y):
        raise DataError(f"{path}: {x_key} has {len(x)} samples but {y_key} has {len(y)}",
                        hint="x and y must have one label per sample, in the same order")
    return x, y


@SOURCES.register("npz")
def load_npz_source(cfg: DataConfig) -> Source:
    """Arrays from an ``.npz``: ``x, y[, groups, ids]`` or ``x_train, y_train[, x_val, y_val][, x_test, y_test]``.

    uint8 arrays are scaled by 1/255; float arrays are used as given (signals keep their units).
    """
    options = check_options(cfg, {"layout": f"one of {', '.join(_LAYOUTS)} (default auto)"})
    if cfg.path is None:
        raise DataError("npz: data.path is not set", hint="point data.path at an .npz with arrays x and y")
    path = _path(cfg)
    if path.is_dir():
        raise DataError(f"data.path: {path} is a folder, not an .npz file",
                        hint="point data.path at the .npz file itself (or use source: folder for class folders)")
    if not path.is_file():
        raise DataError(f"data.path: {path} does not exist",
                        hint="expected an .npz with x, y (or x_train, y_train, x_test, y_test)")
    arrays = load_npz(path)
    names = ["train", "val", "test"] if "x_train" in arrays else ["all"]
    if names == ["all"] and "x" not in arrays:
        raise DataError(f"{path}: no x/y or x_train/y_train arrays (has: {', '.join(sorted(arrays)) or 'nothing'})",
                        hint="save with np.savez(path, x=images_or_signals, y=labels)")
    found = {}
    for name in names:
        x_key, y_key = ("x", "y") if name == "all" else (f"x_{name}", f"y_{name}")
        if x_key in arrays:
            found[name] = _x_y(arrays, x_key, y_key, path)
    if not len(found[names[0]][1]):
        raise DataError(f"{path}: the training arrays are empty", hint="save at least one sample per class")
    layout = options.get("layout", "auto")
    codes, class_names = encode_labels([y for _, y in found.values()], what=str(path))
    splits: dict[str, Split] = {}
    for (name, (x, _)), y in zip(found.items(), codes, strict=True):
        x, layout_used = channel_first(x, layout=layout, what=f"{path}: {'x' if name == 'all' else f'x_{name}'}")
        suffix = "" if name == "all" else f"_{name}"
        groups, ids = arrays.get(f"groups{suffix}"), arrays.get(f"ids{suffix}")
        for key, extra in ((f"groups{suffix}", groups), (f"ids{suffix}", ids)):
            if extra is not None and len(extra) != len(y):
                raise DataError(f"{path}: {key} has {len(extra)} entries for {len(y)} samples",
                                hint=f"give one {key.split('_')[0]} entry per sample")
        splits[name] = Split(to_unit_float(x) if x.dtype == np.uint8 else x.astype(np.float32), y, groups, ids)
    train = splits.get("all", splits.get("train"))
    assert train is not None
    return Source(train=train, val=splits.get("val"), test=splits.get("test"), class_names=class_names,
                  name=path.stem, meta={"format": "npz", "layout": layout_used})


# ---------------------------------------------------------------------------------------------
# A folder of images, one sub-folder per class

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def _class_folders(root: Path) -> dict[str, list[Path]]:
    classes = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise DataError(f"{folder}: class folder has no image files",
                            hint=f"remove it, or add images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        classes[folder.name] = files
    return classes


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})", hint="remove or re-save the file") from None


def _pixels(img: Image.Image, mode: str) -> np.ndarray:
    """One image as float32 (C, H, W) in [0, 1], 16-bit grayscale kept at full precision."""
    if mode == "L" and img.mode.startswith("I;16"):  # Pillow's convert("L") would clip 16-bit values at 255
        return (np.asarray(img, dtype=np.float32) / np.float32(65535.0))[None]  # (1, H, W)
    arr = np.asarray(img.convert(mode), dtype=np.float32) / np.float32(255.0)
    return arr[None] if mode == "L" else arr.transpose(2, 0, 1)  # (C, H, W)


@SOURCES.register("folder")
def load_folder(cfg: DataConfig) -> Source:
    """Images in ``path/<class>/*.png`` (or ``path/train/<class>/`` and ``path/test/<class>/``) via Pillow."""
    options = check_options(cfg, {"mode": "L (grayscale) or RGB; default RGB unless all images are grayscale",
                                  "size": "[H, W] (or one number) to resize every image; default: keep"})
    if cfg.path is None:
        raise DataError("folder: data.path is not set", hint="point data.path at a folder with one sub-folder per class")
    root = _path(cfg)
    if not root.is_dir():
        raise DataError(f"data.path: {root} is not a folder",
                        hint="expected one sub-folder of images per class (e.g. cats/1.png, dogs/2.png)")
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    layout = {name: root / name for name in ("train", "val", "test") if name in subdirs}
    if "train" not in layout or not subdirs <= {"train", "val", "test"}:
        layout = {"train": root}
    per_split = {name: _class_folders(folder) for name, folder in layout.items()}
    class_names = sorted(per_split["train"])
    if not class_names:
        raise DataError(f"{root}: no class sub-folders with images",
                        hint="put each class's images in its own sub-folder: path/<class>/<image>.png")
    for name, classes in per_split.items():
        extra = sorted(set(classes) - set(class_names))
        if extra:
            raise DataError(f"{layout[name]}: class folder '{extra[0]}' is not in {layout['train']}",
                            hint="every class in val/test needs training images")

    mode = options.get("mode")
    if mode not in (None, "L", "RGB"):
        raise ConfigError(f"data.mode: '{mode}' is not L or RGB", hint="mode: L for grayscale, RGB for color")
    size = options.get("size")
    if size is not None:
        size = [size, size] if isinstance(size, int) else size
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) and s > 0 for s in size)):
            raise ConfigError(f"data.size: expected [H, W] in pixels, got {options['size']!r}", hint="e.g. size: [64, 64]")

    files = [(split, label, f) for split, classes in per_split.items() for label, name in enumerate(class_names)
             for f in classes.get(name, [])]
    headers = {}
    for _, _, f in files:
        with _open(f) as img:  # header only: Pillow reads pixels lazily
            headers[f] = (img.mode, img.size)
    if mode is None:
        mode = "L" if all(m in _GRAY_MODES for m, _ in headers.values()) else "RGB"
    if size is None:
        common, _ = Counter(s for _, s in headers.values()).most_common(1)[0]
        odd = next((f for f, (_, s) in headers.items() if s != common), None)
        if odd is not None:
            raise DataError(f"{odd}: is {headers[odd][1][0]}x{headers[odd][1][1]} but most images are "
                            f"{common[0]}x{common[1]} (width x height)",
                            hint=f"set data.size: [{common[1]}, {common[0]}] to resize every image to one size")

    xs: dict[str, list[np.ndarray]] = {name: [] for name in per_split}
    ys: dict[str, list[int]] = {name: [] for name in per_split}
    ids: dict[str, list[str]] = {name: [] for name in per_split}
    for split, label, f in files:
        with _open(f) as img:
            if size is not None:
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)  # PIL takes (W, H)
            xs[split].append(_pixels(img, mode))  # (C, H, W)
        ys[split].append(label)
        ids[split].append(str(f.relative_to(root)))
    splits = {name: Split(np.stack(xs[name]), np.asarray(ys[name], dtype=np.int64),  # (N, C, H, W)
                          ids=np.asarray(ids[name])) for name in per_split if xs[name]}
    return Source(train=splits["train"], val=splits.get("val"), test=splits.get("test"), class_names=class_names,
                  name=root.name, meta={"format": "folder", "mode": mode})
