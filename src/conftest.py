"""Doctests of src/convscope (``python -m pytest -q`` collects them: pyproject's ``--doctest-modules``).

Each example runs as the tests do: its own run store and dataset cache in a temporary folder, one
torch thread. A module that needs an optional dependency (an extra in pyproject.toml, e.g. ``ray``)
which is not installed is skipped with a reason naming the dependency and the extra to install;
any other import error fails the collection, as it should.

This file sits in ``src/``, outside the ``convscope`` package, so it is never installed.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent
PYPROJECT = SRC.parent / "pyproject.toml"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def optional_dependencies() -> dict[str, str]:
    """Each optional dependency's normalised distribution name -> the extra that installs it."""
    if sys.version_info >= (3, 11):
        import tomllib

        extras = tomllib.loads(PYPROJECT.read_text())["project"].get("optional-dependencies", {})
        pairs = [(req, extra) for extra, reqs in extras.items() for req in reqs]
    else:  # Python 3.10 has no tomllib: the installed metadata lists the same extras
        from importlib.metadata import requires

        pairs = [(req, m.group(1)) for req in requires("convscope") or []
                 if (m := re.search(r"extra\s*==\s*['\"]([^'\"]+)", req))]
    found: dict[str, str] = {}
    for req, extra in pairs:  # the first extra that lists a package is the one to name ("export", not "test")
        found.setdefault(_normal(re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0]), extra)
    found.pop("convscope", None)  # an extra that names other extras ("convscope[tensorboard]") is no package
    return found


def missing_optional(exc: ModuleNotFoundError, optional: dict[str, str]) -> str | None:
    """Why to skip a module whose import raised ``exc``; None when the missing module is not optional.

    An import name may be a prefix of its distribution's name (``psycopg2`` from ``psycopg2-binary``).
    """
    top = _normal((exc.name or "").split(".")[0])
    for dist, extra in optional.items():
        if top and (dist == top or dist.startswith(top + "_")):
            return f"needs the optional dependency '{exc.name}' (pip install -e '.[{extra}]')"
    return None


class _SkippedModule(pytest.File):
    """Stands in for a module's doctests when the module cannot be imported without an extra."""

    reason = ""

    def collect(self):
        pytest.skip(f"{self.path.name}: {self.reason}", allow_module_level=True)


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    collectors = yield
    if file_path.suffix != ".py" or not collectors:
        return collectors
    module = ".".join(file_path.resolve().relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        reason = missing_optional(exc, optional_dependencies())
        if reason is None:
            raise
        skipped = _SkippedModule.from_parent(parent, path=file_path)
        skipped.reason = reason
        return [skipped]
    return collectors


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("CONVSCOPE_HOME", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_CACHE", str(tmp_path / "cache"))
    for name in ("CONVSCOPE_STORE", "CONVSCOPE_ARTIFACTS", "CONVSCOPE_HEARTBEAT"):  # the embedded store
        monkeypatch.setenv(name, "")  # set first, so that teardown also undoes what an example set
        monkeypatch.delenv(name)
    torch.set_num_threads(1)  # as in tests/conftest.py: repeatable numbers, 2 shared cores stay calm
    yield
