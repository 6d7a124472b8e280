"""train.class_weight (class_weights.py): balanced, {balanced: POWER} and a list, the loss they weight, and
one-line errors for a form that is none of these."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import yaml
from typer.testing import CliRunner

import convscope
from convscope.api import prepare
from convscope.cli import app
from convscope.config import load_config
from convscope.errors import ConfigError
from convscope.store import Store
from convscope.train.class_weights import class_weights
from convscope.train.trainer import Trainer

Y = torch.tensor([0] * 80 + [1] * 15 + [2] * 5)  # (100,) 80 / 15 / 5 per class


def test_balanced_gives_every_class_the_same_total_weight():
    weights = class_weights("balanced", Y, 3)
    totals = weights * torch.bincount(Y)
    torch.testing.assert_close(totals, torch.full((3,), 100 / 3))


def test_a_power_softens_the_balanced_weights():
    balanced = class_weights("balanced", Y, 3)
    torch.testing.assert_close(class_weights({"balanced": 0.5}, Y, 3), balanced.sqrt())
    torch.testing.assert_close(class_weights({"balanced": 1.0}, Y, 3), balanced)
    soft = class_weights({"balanced": 0.5}, Y, 3)
    assert soft[2] / soft[0] == pytest.approx((balanced[2] / balanced[0]).sqrt().item())  # 4x, not 16x
    assert class_weights(None, Y, 3) is None


def test_a_list_is_taken_as_given_and_must_have_one_weight_per_class():
    torch.testing.assert_close(class_weights([1.0, 2.0, 3.0], Y, 3), torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ConfigError, match="train.class_weight: 2 weights for 3 classes"):
        class_weights([1.0, 2.0], Y, 3)


def test_a_run_weights_its_loss_by_the_power(digits_cfg):
    digits_cfg["train"].update(epochs=1, class_weight={"balanced": 0.5})
    run = convscope.run(digits_cfg)
    assert run.config.train.class_weight == {"balanced": 0.5}
    data, model = prepare(run.config)
    trainer = Trainer(model, data, run.config.train, seed=0)
    expected = class_weights("balanced", data.y_train, data.num_classes).sqrt()
    torch.testing.assert_close(trainer.class_weight, expected)
    logits, y = torch.randn(6, 10), torch.tensor([0, 1, 2, 3, 4, 5])
    torch.testing.assert_close(trainer.loss(logits, y), F.cross_entropy(logits, y, weight=expected))


@pytest.mark.parametrize(("value", "needle"), [
    ({"balanced": 1.5}, "give {balanced: POWER} with 0 < POWER <= 1"),
    ({"power": 0.5}, "give {balanced: POWER} with 0 < POWER <= 1"),
    ("sqrt", "give balanced, {balanced: 0.5} (softer) or one number per class"),
])
def test_bad_forms_are_one_line_exit_2_and_nothing_stored(digits_cfg, tmp_path, value, needle):
    digits_cfg["train"]["class_weight"] = value
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(digits_cfg))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2 and "train.class_weight" in result.output and needle in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert Store().runs() == []
    with pytest.raises(ConfigError):
        load_config(path)
