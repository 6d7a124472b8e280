"""src/conftest.py: doctest collection skips a module whose optional extra is missing, and only that.

A throwaway project (its own pyproject.toml with an extra, a package of three modules, a copy of
src/conftest.py) is collected in a fresh pytest process, as ``python -m pytest -q`` collects src/convscope.
"""

from __future__ import annotations

import shutil
from pathlib import Path

pytest_plugins = ["pytester"]

SRC_CONFTEST = Path(__file__).resolve().parents[1] / "src" / "conftest.py"
EXAMPLE = '"""\n>>> 1 + 1\n2\n"""\n'


def test_a_module_missing_its_extra_is_skipped_with_the_extra_named(pytester, monkeypatch):
    root = pytester.path
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\n'
        '[project.optional-dependencies]\nfancy = ["not-installed-pkg>=1"]\n'
        '[tool.pytest.ini_options]\naddopts = "--doctest-modules -p no:cacheprovider"\n')
    package = root / "src" / "demo_pkg"
    package.mkdir(parents=True)
    shutil.copy(SRC_CONFTEST, root / "src" / "conftest.py")
    (package / "__init__.py").write_text("")
    (package / "plain.py").write_text(EXAMPLE)
    (package / "fancy.py").write_text(EXAMPLE + "import not_installed_pkg\n")
    monkeypatch.setenv("PYTHONPATH", str(root / "src"))

    result = pytester.runpytest_subprocess("src/demo_pkg", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    assert "fancy.py: needs the optional dependency 'not_installed_pkg' (pip install -e '.[fancy]')" in result.stdout.str()

    (package / "broken.py").write_text("import no_such_module_anywhere\n")  # not an extra: a real error
    result = pytester.runpytest_subprocess("src/demo_pkg")
    result.assert_outcomes(errors=1)  # a collection error stops the run, as any broken import should
    result.stdout.fnmatch_lines(["*ModuleNotFoundError: No module named 'no_such_module_anywhere'*"])
