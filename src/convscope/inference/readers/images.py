"""Image files, or folders of them (searched recursively), read as the ``folder`` source reads pixels."""

from __future__ import annotations

from pathlib import Path

from convscope.data.images import IMAGE_SUFFIXES, _open
from convscope.inference.readers import READERS
from convscope.inference.recipe import Input


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


@READERS.register("images", kind="image", suffixes=tuple(sorted(IMAGE_SUFFIXES)), folder=lambda p: bool(_image_files(p)))
def read_images(path: Path) -> list[Input]:
    """Each image as a Pillow image wrapped in an Input; :func:`pixels` turns it into the model's sample."""
    files = _image_files(path) if path.is_dir() else [path]
    out = []
    for f in files:
        with _open(f) as img:
            img.load()
            out.append(Input(name=str(f), data=img.copy(), ready=True))  # type: ignore[arg-type]
    return out
