"""train.threads: auto sets torch's thread count to the free cores while training (a fake estimate: no timing)."""

from __future__ import annotations

import pytest
import torch

from convscope.api import prepare
from convscope.config import load_config
from convscope.train import adaptive_threads
from convscope.train.adaptive_threads import AdaptiveThreads
from convscope.train.trainer import Trainer


class _Constant:
    """A free-core estimate that always says ``free`` (after the first call, which starts the window)."""

    def __init__(self, free: float) -> None:
        self.free, self.calls = free, 0

    def sample(self) -> float | None:
        self.calls += 1
        return None if self.calls == 1 else self.free


@pytest.fixture
def two_threads():
    torch.set_num_threads(2)  # the process's setting is the ceiling; conftest's 1 would leave nothing to change
    yield
    torch.set_num_threads(1)


def _trainer(digits_cfg, monkeypatch, free: float, **train) -> tuple[Trainer, list[int]]:
    digits_cfg["train"].update(epochs=2, **train)
    cfg = load_config(digits_cfg)
    data, model = prepare(cfg)
    monkeypatch.setattr(adaptive_threads, "FreeCores", lambda ceiling: _Constant(free))
    calls: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n))[1])
    return Trainer(model, data, cfg.train, seed=0), calls


def test_auto_is_the_default_and_drops_to_the_free_cores_while_training(digits_cfg, monkeypatch, two_threads):
    trainer, calls = _trainer(digits_cfg, monkeypatch, 0.7)
    assert trainer.cfg.threads == "auto"
    threads = next(cb for cb in trainer.callbacks if isinstance(cb, AdaptiveThreads))
    trainer.fit()
    assert calls == [1] and torch.get_num_threads() == 1  # once, at the first check, then left alone
    assert threads.changes == [(1, 1)] and threads.ceiling == 2


def test_a_quiet_machine_keeps_every_thread(digits_cfg, monkeypatch, two_threads):
    trainer, calls = _trainer(digits_cfg, monkeypatch, 2.0)
    trainer.fit()
    assert calls == [] and torch.get_num_threads() == 2


@pytest.mark.parametrize("threads", [2, None])
def test_a_fixed_or_inherited_thread_count_is_left_alone(digits_cfg, monkeypatch, two_threads, threads):
    trainer, calls = _trainer(digits_cfg, monkeypatch, 0.7, threads=threads)
    assert not any(isinstance(cb, AdaptiveThreads) for cb in trainer.callbacks)
    trainer.fit()
    assert calls == [] and torch.get_num_threads() == 2
