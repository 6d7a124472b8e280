"""store/artifacts.py: a run trained with a remote artifact root (fsspec) lands there and loads back anywhere."""

from __future__ import annotations

import shutil

import fsspec

import convscope
from convscope.api import load_run
from convscope.store import Store


def test_a_run_on_a_remote_root_is_uploaded_and_loads_back_from_it(digits_cfg, tmp_path, monkeypatch):
    root = "memory://convscope-test-remote-root"
    monkeypatch.setenv("CONVSCOPE_ARTIFACTS", root)
    digits_cfg["train"]["epochs"] = 2
    run = convscope.run(digits_cfg)
    where = Store().run(run.id)["artifacts"]
    fs = fsspec.filesystem("memory")
    names = {path.rsplit("/", 1)[1] for path in fs.find(where)}
    assert {"config.yaml", "best.safetensors", "last.safetensors", "curves.png"} <= names
    # another node: nothing of the run on its disk, only the store row and the root
    shutil.rmtree(Store().run_dir(run.id))
    again = load_run(run.id)
    assert (again.dir / "best.safetensors").exists()
    x = __import__("torch").zeros(1, 1, 8, 8)
    assert again.model(x).shape == (1, 10)
