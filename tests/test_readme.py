"""The README's examples are real: its config validates and every block example builds in 1D and 2D."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from convscope.config import load_config
from convscope.models import build_model

README = (Path(__file__).parents[1] / "README.md").read_text()
YAML_BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", README, flags=re.S)]


def test_readme_config_validates():
    configs = [b for b in YAML_BLOCKS if isinstance(b, dict) and "model" in b]
    assert configs
    for block in configs:
        load_config(block, allow_ranges=True)


@pytest.mark.parametrize("shape", [(3, 64), (3, 32, 32)])
def test_readme_block_examples_build(shape):
    lists = [b for b in YAML_BLOCKS if isinstance(b, list)]
    assert lists
    for layers in lists:
        for layer in layers:
            model = build_model([layer], shape)
            assert model.output_shape
