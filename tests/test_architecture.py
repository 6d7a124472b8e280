"""The code's shape stays as docs/architecture.md describes it: no import cycles, no huge files, docs true.

Import cycles are found from the source text (the AST), not by importing: every ``import`` and
``from ... import`` counts, at the top of a module or inside a function (a function's import runs
when the function does, and a cycle there is a cycle waiting for the wrong caller), and importing
``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``, so those count too. Not counted: imports
under ``if TYPE_CHECKING:`` (they never run), a module's own parent packages (already being imported
when it runs), and a ``Registry(discover=...)`` looking up its plugin package on first use (plugins
import their registry by design; the lookup runs after every module involved has loaded).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "convscope"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# One idea per file keeps files near 400 lines; this hard ceiling is where a file must be split.
MAX_LINES = 450


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module under src/convscope: dotted name -> (file, is a package)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_names(name: str, is_package: bool, tree: ast.AST) -> set[str]:
    """The dotted names ``name``'s source imports, anywhere in the file (TYPE_CHECKING blocks aside)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                for other in child.orelse:  # the else branch does run
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: resolve against this module's package
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                for alias in child.names:  # `from pkg import submodule` imports the submodule
                    full = f"{module}.{alias.name}"
                    names.add(full if full in MODULES else module)
            visit(child)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the convscope modules importing it runs (parent packages included)."""
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in MODULES.items():
        edges = graph.setdefault(name, set())
        for target in _imported_names(name, is_package, ast.parse(path.read_text(), str(path))):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                runs = ".".join(parts[:i])
                if runs in MODULES and runs != name and not name.startswith(runs + "."):
                    edges.add(runs)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle_through_a_function_import_and_a_parent_package():
    tree = ast.parse("def late():\n    from convscope.train.metrics import METRICS\n")
    names = _imported_names("convscope.config", False, tree)
    graph = {"convscope.config": {n for n in names if n in MODULES},
             "convscope.train.metrics": {"convscope.train"}, "convscope.train": {"convscope.config"}}
    assert find_cycle(graph) == ["convscope.config", "convscope.train.metrics", "convscope.train",
                                 "convscope.config"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_imports_do_not_count():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from convscope.config import Config\n")
    assert "convscope.config" not in _imported_names("convscope.x", False, tree)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_source_file_is_huge(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (> {MAX_LINES}): split it by idea"


def _doc_paths() -> set[str]:
    """Every `something.py` (or `folder/*.py`) written in backticks in docs/architecture.md.

    Files still to be written are left out: templates (`pruners/NAME.py`) and the files of a paragraph that
    tells how to add one (a text paragraph, not a table, saying "add" or "one file"/"new file").
    """
    paths = set()
    for paragraph in re.split(r"\n\s*\n", ARCHITECTURE.read_text()):
        if not paragraph.lstrip().startswith("|") and re.search(r"(?i)\badd\b|\b(one|new) file\b", paragraph):
            continue
        paths.update(p for p in re.findall(r"`([\w/.*-]+\.py)`", paragraph) if "NAME" not in p)
    return paths


def _exists(doc_path: str) -> bool:
    if doc_path.startswith(("tests/", "bench/", "src/")):
        return any(ROOT.glob(doc_path))
    # Paths in the tables are relative to their section's package: `ecg/options.py`, `kernels.py`.
    return any(str(p.relative_to(PACKAGE)).endswith(doc_path.lstrip("/")) or p.match(doc_path)
               for p in PACKAGE.rglob("*.py"))


def test_every_module_named_in_the_architecture_doc_exists():
    missing = sorted(p for p in _doc_paths() if not _exists(p))
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_every_package_is_named_in_the_architecture_doc():
    text = ARCHITECTURE.read_text()
    unnamed = []
    for name, (_, is_package) in MODULES.items():
        if not is_package or name == "convscope":
            continue
        folder = name.removeprefix("convscope.").replace(".", "/")
        last = folder.rsplit("/", 1)[-1]
        if not re.search(rf"(`|\b){re.escape(last)}/|convscope\.{re.escape(name.removeprefix('convscope.'))}\b", text):
            unnamed.append(folder)
    assert not unnamed, f"packages missing from docs/architecture.md: {unnamed}"
