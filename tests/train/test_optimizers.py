"""train.optimizer.name and train.schedule.name: registered builders, checked by the config."""

from __future__ import annotations

import pytest
import torch

from convscope.config import OptimizerConfig, ScheduleConfig, load_config
from convscope.errors import ConfigError
from convscope.train.optimizers import OPTIMIZERS, make_optimizer
from convscope.train.schedules import SCHEDULES, make_scheduler


def _params():
    return [torch.nn.Parameter(torch.zeros(3))]


def test_each_optimizer_name_builds_its_torch_optimizer_with_fused_kernels_on_cpu():
    kinds = {name: type(make_optimizer(_params(), OptimizerConfig(name=name), device=torch.device("cpu")))
             for name in OPTIMIZERS.names()}
    assert kinds == {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    sgd = make_optimizer(_params(), OptimizerConfig(name="sgd", lr=0.1, momentum=0.9, nesterov=True),
                         device=torch.device("cpu"))
    assert sgd.defaults["fused"] and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9


def test_each_schedule_steps_when_its_trait_says():
    opt = torch.optim.SGD(_params(), lr=0.1)
    steps = {name: make_scheduler(ScheduleConfig(name=name), opt, epochs=4, steps_per_epoch=3)[1]
             for name in SCHEDULES.names()}
    assert steps == {"cosine": "epoch", "onecycle": "batch", "plateau": "val_loss", "step": "epoch"}
    assert make_scheduler(None, opt, epochs=4, steps_per_epoch=3) == (None, "epoch")


def test_unknown_names_get_a_did_you_mean(digits_cfg):
    with pytest.raises(ConfigError, match=r"train.optimizer.name: unknown optimizer 'adm'; did you mean 'adam'\?"):
        load_config(digits_cfg, ["train.optimizer.name=adm"])
    with pytest.raises(ConfigError, match=r"train.schedule.name: unknown schedule 'cosin'; did you mean 'cosine'\?"):
        load_config(digits_cfg, ["train.schedule={name: cosin}"])
