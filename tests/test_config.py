"""config.py: defaults, ${param} resolution, --set overrides, and error messages that name the fix."""

from __future__ import annotations

import pytest

from convscope.config import apply_overrides, is_range, load_config
from convscope.errors import ConfigError
from convscope.tuning.study import SearchSetup


def test_defaults_fill_what_the_user_left_out(digits_cfg):
    del digits_cfg["train"]["batch_size"]
    cfg = load_config(digits_cfg)
    assert cfg.train.batch_size == 128
    assert cfg.train.monitor == "val_loss"
    assert cfg.data.split.stratify is True


def test_params_resolve_with_their_type(digits_cfg):
    cfg = load_config(digits_cfg)
    assert cfg.model.layers[0]["conv"]["filters"] == 8 and isinstance(cfg.model.layers[0]["conv"]["filters"], int)
    assert cfg.train.optimizer.lr == 0.01


def test_interpolation_inside_a_longer_string(digits_cfg):
    digits_cfg["name"] = "cnn-f${filters}"
    assert load_config(digits_cfg).name == "cnn-f8"


def test_set_overrides_parse_yaml_values(digits_cfg):
    cfg = load_config(digits_cfg, ["train.epochs=5", "params.lr=0.1", "data.split.val=0.3"])
    assert cfg.train.epochs == 5
    assert cfg.train.optimizer.lr == 0.1
    assert cfg.data.split.val == 0.3


def test_set_reaches_into_the_layer_list_by_position(digits_cfg):
    cfg = load_config(digits_cfg, ["model.layers.0.conv.kernel=5", "model.layers.3.dense.units=64",
                                   "model.layers.2=global_avg_pool"])
    layers = cfg.model.layers
    assert layers[0]["conv"]["kernel"] == 5 and layers[0]["conv"]["filters"] == 8  # the rest of the layer kept
    assert layers[3]["dense"]["units"] == 64 and layers[2] == "global_avg_pool" and len(layers) == 5


@pytest.mark.parametrize("override, needle", [
    ("model.layers.5.dense.units=3", "'5' is not a position in that list of 5"),
    ("model.layers.first.conv.kernel=3", "'first' is not a position in that list of 5"),
    ("model.layers.-1.conv.kernel=3", "'-1' is not a position in that list of 5"),
    ("model.layers.2.flatten.x=1", "'2' is not a section"),  # the flatten layer is a bare word
])
def test_set_names_a_bad_list_position_and_the_fix(digits_cfg, override, needle):
    with pytest.raises(ConfigError) as info:
        apply_overrides(digits_cfg, [override], source="exp.yaml")
    assert needle in str(info.value) and "exp.yaml" in str(info.value)
    assert "0..4" in info.value.hint or "by position" in info.value.hint


def test_yaml_file_is_read_with_the_safe_loader(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hacked']\nmodel: {layers: [flatten]}\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


@pytest.mark.parametrize("mutate, message, hint", [
    (lambda c: c["train"].update(optimzer={"name": "sgd"}), "train.optimzer: unknown field", "did you mean 'optimizer'"),
    (lambda c: c["train"].update(epochs="many"), "train.epochs", None),
    (lambda c: c["train"]["optimizer"].update(lr="${lrr}"), "'${lrr}' is not defined in params", "did you mean '${lr}'"),
    (lambda c: c["train"].update(metrics=["acuracy"]), "unknown metric 'acuracy'", None),
    (lambda c: c.pop("model"), "model: required section is missing", None),
    (lambda c: c["train"]["optimizer"].update(name="rmsprop"), "train.optimizer.name", None),
    (lambda c: c["params"].update(lr={"loguniform": [1e-4, 1e-1]}), "params.lr is a search range", "convscope search"),
])
def test_bad_config_names_field_and_fix(digits_cfg, mutate, message, hint):
    mutate(digits_cfg)
    with pytest.raises(ConfigError) as info:
        load_config(digits_cfg, source="exp.yaml")
    assert message in str(info.value)
    assert "exp.yaml" in str(info.value)
    if hint:
        assert hint in info.value.hint


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(path)


def test_bad_override_syntax(digits_cfg):
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_overrides(digits_cfg, ["train.epochs"])


def test_search_ranges_are_kept_for_search(digits_cfg):
    digits_cfg["params"]["lr"] = {"loguniform": [1e-4, 1e-1]}
    digits_cfg["search"] = {"strategy": "random", "trials": 3}
    with pytest.raises(ConfigError, match=r"params.lr is a search range .* but this run needs one value"):
        load_config(digits_cfg)
    setup = SearchSetup.from_raw(digits_cfg, source="exp.yaml")
    assert setup.space == {"lr": {"loguniform": [1e-4, 1e-1]}}
    assert setup.cfg.train.optimizer.lr == 1e-4  # validated with the range's low end
    assert is_range({"grid": [1, 2]}) and not is_range(3)
    trial = setup.trial_config({"lr": 0.05})
    assert trial.train.optimizer.lr == 0.05
