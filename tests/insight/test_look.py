"""look: every picture is registered once, in the report's order; unknown names and options are refused."""

from __future__ import annotations

import pytest

from convscope.errors import ConvscopeError
from convscope.insight.look import PICTURES, look, pictures


def test_every_picture_is_registered_in_report_order():
    assert pictures() == ["curves", "kernels", "features", "filters", "occlusion", "scalars", "gradcam", "correlation",
                          "confusion", "roc", "top-losses"]
    assert PICTURES.get("roc").__module__ == "convscope.insight.plots"


def test_unknown_picture_lists_the_known_ones(tmp_path):
    with pytest.raises(ConvscopeError, match="'kernel' is not a picture") as err:
        look(None, "kernel", tmp_path)
    assert err.value.hint == f"choose one of: {', '.join(pictures())}, all"


def test_a_new_registered_picture_is_found_by_name(tmp_path):
    @PICTURES.register("test-blank", order=1000)
    def look_blank(run, out_dir):
        return [out_dir / "blank.png"]

    try:
        assert pictures()[-1] == "test-blank"
        assert look(None, "test-blank", tmp_path) == [tmp_path / "blank.png"]
        with pytest.raises(ConvscopeError, match="look test-blank: takes no --layer"):
            look(None, "test-blank", tmp_path, layer="conv1")
    finally:
        PICTURES._entries.pop("test-blank")
