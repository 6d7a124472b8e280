"""Hostile configs are refused in well under a second with bounded memory (issue 13, item 4)."""

from __future__ import annotations

import resource
import time

import pytest
import yaml

from convscope.config import load_config, read_yaml
from convscope.errors import BuildError, ConfigError
from convscope.models import build_model
from convscope.models.budget import check_budget, estimate

# nine levels of ten aliases each: 10**9 strings once expanded, 10 lines of text
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_an_alias_bomb_in_params_is_refused_fast_with_bounded_memory(tmp_path, digits_cfg):
    text = yaml.safe_dump({k: v for k, v in digits_cfg.items() if k != "params"}) + "params:\n" + "".join(
        "  " + line + "\n" for line in ALIAS_BOMB.splitlines())
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    before, started = _peak_rss_mb(), time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than") as caught:
        load_config(path)
    assert time.perf_counter() - started < 5  # generous for a loaded machine; today it never returns
    assert _peak_rss_mb() - before < 200
    assert str(path) in caught.value.message and "CONVSCOPE_MAX_YAML_NODES" in caught.value.hint


def test_aliases_within_the_limit_still_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {filters: 8, kernel: 3}\nmodel: {layers: [{conv: *b}, {conv: *b}]}\n")
    assert read_yaml(path)["model"]["layers"][1] == {"conv": {"filters": 8, "kernel": 3}}


def test_an_alias_bomb_in_a_set_override_is_refused(digits_cfg):
    with pytest.raises(ConfigError, match="--set params.x: the YAML expands"):
        load_config(digits_cfg, ["params.x=" + "{" + ALIAS_BOMB.replace("\n", ", ") + "}"])


def test_a_huge_config_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nnotes: '" + "x" * 2_000_000 + "'\n")
    with pytest.raises(ConfigError, match=r"big.yaml: the config is 2,000,0\d\d bytes, over the 1,000,000-byte"):
        read_yaml(path)


def test_the_limits_are_configurable(tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\nnotes: '" + "x" * 2_000_000 + "'\n")
    monkeypatch.setenv("CONVSCOPE_MAX_CONFIG_BYTES", "3e6")
    assert read_yaml(path)["name"] == "big"
    monkeypatch.setenv("CONVSCOPE_MAX_CONFIG_BYTES", "lots")
    with pytest.raises(ConfigError, match="CONVSCOPE_MAX_CONFIG_BYTES='lots': not a number"):
        read_yaml(path)


def test_a_binary_config_is_one_line(tmp_path):
    path = tmp_path / "weights.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ConfigError, match=r"weights.yaml: not a text file \(byte 0 is not UTF-8\)"):
        read_yaml(path)


def test_a_million_repeats_are_refused_before_they_are_expanded():
    started = time.perf_counter()
    with pytest.raises(BuildError, match=r"model.layers\[0\] \(repeat\): the model would have 2,000,000 layers"):
        build_model([{"repeat": 1_000_000, "layers": [{"conv": {"filters": 2, "kernel": 1}}, "relu"]}], (1, 8))
    assert time.perf_counter() - started < 5


def test_the_estimate_is_the_built_models_parameter_count():
    spec = {"preset": "lenet5"}
    cost = estimate(spec, (1, 28, 28), num_classes=10, batch_size=32)
    net = build_model(spec, (1, 28, 28), num_classes=10)
    assert cost.params == sum(p.numel() for p in net.parameters()) == 61706
    assert cost.activation_bytes > 32 * 6 * 28 * 28 * 4  # at least the first conv's outputs


def test_a_model_over_the_parameter_or_activation_limit_is_refused_without_allocating(monkeypatch):
    before = _peak_rss_mb()
    with pytest.raises(BuildError, match="parameters, over the limit of 500,000,000"):
        check_budget([{"dense": 200_000}, {"dense": 200_000}, {"dense": 10}], (1, 64, 64))  # 40 G weights
    with pytest.raises(BuildError, match="GB of activations"):
        check_budget([{"conv": {"filters": 512, "kernel": 3, "padding": "same"}}, "global_avg_pool", {"dense": 10}],
                     (3, 512, 512), batch_size=256)
    assert _peak_rss_mb() - before < 200
    monkeypatch.setenv("CONVSCOPE_MAX_PARAMS", "1000")
    with pytest.raises(BuildError, match="over the limit of 1,000"):
        check_budget(["flatten", {"dense": 10}], (1, 28, 28))


def test_run_refuses_an_oversized_model_before_creating_a_run(digits_cfg, monkeypatch):
    import convscope
    from convscope.store import Store

    monkeypatch.setenv("CONVSCOPE_MAX_PARAMS", "100")
    with pytest.raises(BuildError, match="over the limit of 100"):
        convscope.run(digits_cfg)
    assert Store().runs() == []
