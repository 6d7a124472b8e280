"""The README's examples are real: its config validates and every block example builds in 1D and 2D."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml

from convscope.config import is_range, load_config
from convscope.models import build_model
from convscope.tuning.study import SearchSetup

README = (Path(__file__).parents[1] / "README.md").read_text()
YAML_BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", README, flags=re.S)]


def test_readme_config_validates():
    configs = [b for b in YAML_BLOCKS if isinstance(b, dict) and "model" in b]
    assert configs
    for block in configs:
        ranged = any(is_range(v) for v in (block.get("params") or {}).values())
        cfg = SearchSetup.from_raw(block).cfg if ranged else load_config(block)
        assert cfg.name == block.get("name", "experiment")


@pytest.mark.parametrize("shape", [(3, 64), (3, 32, 32)])
def test_readme_block_examples_build(shape):
    lists = [b for b in YAML_BLOCKS if isinstance(b, list)]
    assert lists
    for layers in lists:
        for layer in layers:
            model = build_model([layer], shape).eval()
            with torch.no_grad():
                out = model(torch.zeros(2, *shape))  # (N, *output_shape)
            assert tuple(out.shape) == (2, *model.output_shape), layer
