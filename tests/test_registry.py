"""The one extension mechanism: register with traits, look up with a did-you-mean error, discover a package."""

from __future__ import annotations

import sys

import pytest

from convscope.errors import ConfigError
from convscope.registry import Registry


def test_register_get_traits_and_aliases():
    reg: Registry = Registry("widget", field="model.widget")

    @reg.register("a", "alias", cost=3)
    def make():
        return 1

    assert reg.get("a") is make and reg.get("alias") is make
    assert reg.traits("alias") == {"cost": 3}
    assert reg.names() == ["a", "alias"] and len(reg) == 2


def test_unknown_name_names_the_field_and_suggests():
    reg: Registry = Registry("widget", field="model.widget")
    reg.add("conv", object())
    with pytest.raises(ConfigError) as err:
        reg.get("cnov")
    assert err.value.message == "model.widget: unknown widget 'cnov'"
    assert "did you mean 'conv'?" in err.value.hint


def test_same_name_twice_is_refused():
    reg: Registry = Registry("widget")
    reg.add("x", 1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("x", 2)


def test_discover_imports_every_module_of_the_package(tmp_path, monkeypatch):
    pkg = tmp_path / "plugpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from convscope.registry import Registry\nREG = Registry('plug', discover='plugpkg')\n")
    (pkg / "one.py").write_text("from plugpkg import REG\nREG.add('one', 1)\n")
    (pkg / "two.py").write_text("from plugpkg import REG\nREG.add('two', 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg

    try:
        assert plugpkg.REG.names() == ["one", "two"]  # nobody imported one.py or two.py by hand
        assert plugpkg.REG.get("two") == 2
    finally:
        for name in [m for m in sys.modules if m.startswith("plugpkg")]:
            del sys.modules[name]


def test_a_module_executed_twice_may_register_its_definitions_again():
    # pytest --doctest-modules runs a module file again after its package imported it: same definitions
    reg: Registry = Registry("shape")
    runs = [{"__name__": "shapes"}, {"__name__": "shapes"}]  # two executions of one module "shapes"
    for namespace in runs:
        exec("def square(x):\n    return x * x\n", namespace)
        reg.add("square", namespace["square"])
    assert reg.get("square") is runs[1]["square"]

    def square(x):  # another definition under the same name is still a mistake
        return x * x

    with pytest.raises(ValueError, match="registered twice"):
        reg.add("square", square)
