"""train.threads: auto keeps the thread count whose steps run fastest (fake step times: no timing asserts)."""

from __future__ import annotations

import pytest
import torch

from convscope.api import prepare
from convscope.config import load_config
from convscope.train.adaptive_threads import AdaptiveThreads, ThreadPicker
from convscope.train.trainer import Trainer

QUIET = {2: 0.025, 1: 0.031}  # seconds per step: the 32-filter ConvNet's ratio on an idle machine
BUSY = {2: 0.300, 1: 0.070}  # beside one busy process per core: 2 threads stall at every barrier


def _train(picker: ThreadPicker, seconds_per_step, steps: int, now: float = 0.0) -> tuple[list[int], float]:
    """Run ``steps`` fake steps from time ``now``; return the thread count of each and the time at the end."""
    used = []
    for step in range(steps):
        threads = picker.threads_next
        used.append(threads)
        now += seconds_per_step(step)[threads]
        picker.step_end(now)
    return used, now


def test_a_busy_machine_drops_to_one_thread_at_the_first_probe():
    picker = ThreadPicker(2)
    used, _ = _train(picker, lambda step: BUSY, 400)
    first_one = used.index(1)
    assert picker.changes == [(2, 1)] and picker.threads == 1
    assert first_one < 30  # 4 s of 0.3 s steps, then the probe
    assert used[-100:].count(2) < 10  # later probes of 2 threads lose, and come ever more rarely


def test_with_every_core_taken_more_threads_are_not_even_probed():
    spare = iter([None] + [0.0] * 1000)  # /proc/stat: nothing idle since the previous look
    picker = ThreadPicker(2, spare=lambda: next(spare))
    used, _ = _train(picker, lambda step: BUSY, 400)
    assert picker.changes == [(2, 1)] and used[used.index(1):].count(2) == 0


def test_an_idle_core_lets_the_probe_up_run_and_win():
    picker = ThreadPicker(2, spare=lambda: 1.0)
    used, now = _train(picker, lambda step: BUSY, 100)  # a busy spell: down to one thread
    used, _ = _train(picker, lambda step: QUIET, 2000, now)  # the neighbours left; a core lies idle
    assert picker.changes == [(2, 1), (1, 2)] and used[-1] == 2


def test_stalls_count_even_when_most_steps_are_fast():
    # beside busy processes 2 threads run most steps fast and stall on some: 0.29 s a step on average
    stalling = {2: [0.05, 1.0, 0.05, 0.05], 1: [0.07] * 4}
    picker = ThreadPicker(2)
    used, _ = _train(picker, lambda step: {n: times[step % 4] for n, times in stalling.items()}, 400)
    assert picker.threads == 1 and used[-100:].count(2) < 10  # a median would have seen 0.05 s and kept 2


def test_a_quiet_machine_keeps_every_thread_and_probes_less_and_less():
    picker = ThreadPicker(2)
    used, seconds = _train(picker, lambda step: QUIET, 20000)
    assert picker.changes == [] and picker.threads == 2
    assert picker.interval_s == 60.0  # each lost probe doubled the wait
    probe_cost = used.count(1) * (QUIET[1] - QUIET[2])
    assert probe_cost / seconds < 0.01  # what probing costs a quiet machine: under 1% of the training time


def test_a_neighbour_that_starts_mid_run_is_noticed_before_the_next_scheduled_probe():
    picker = ThreadPicker(2, max_interval_s=600.0)
    _, now = _train(picker, lambda step: QUIET, 6000)
    assert picker.interval_s > 60  # quiet for a long time: the next scheduled probe is minutes away
    used, _ = _train(picker, lambda step: BUSY, 40, now)
    assert picker.changes == [(2, 1)] and used[-1] == 1


def test_the_pause_at_an_epoch_end_is_not_timed_as_a_step():
    picker = ThreadPicker(2, window=3)
    now = 0.0
    for _ in range(4):  # the first ends no interval, the second is a warm-up: two steps timed
        now += QUIET[2]
        picker.step_end(now)
    picker.pause()
    picker.step_end(now + 30.0)  # after a 30 s validation pass: nothing recorded, so no probe either
    assert list(picker._recent) == [pytest.approx(QUIET[2])] * 2 and picker.threads_next == 2


def test_one_core_is_never_probed():
    picker = ThreadPicker(1)
    used, _ = _train(picker, lambda step: {1: 0.05}, 200)
    assert set(used) == {1} and picker.changes == []


@pytest.fixture
def two_threads():
    torch.set_num_threads(2)  # the process's count is the ceiling; conftest's 1 would leave nothing to change
    yield
    torch.set_num_threads(1)


def _trainer(digits_cfg, **train) -> Trainer:
    digits_cfg["train"].update(epochs=2, **train)
    cfg = load_config(digits_cfg)
    data, model = prepare(cfg)
    return Trainer(model, data, cfg.train, seed=0)


def test_the_trainer_sets_the_faster_count_between_steps(digits_cfg, monkeypatch, two_threads):
    trainer = _trainer(digits_cfg)
    assert trainer.cfg.threads == "auto"  # the default
    threads = next(cb for cb in trainer.callbacks if isinstance(cb, AdaptiveThreads))
    now = [0.0]

    def busy_clock() -> float:  # each step "takes" what a busy machine would give its thread count
        now[0] += BUSY[torch.get_num_threads()]
        return now[0]

    threads._clock, threads._options = busy_clock, {"interval_s": 0.5, "window": 2, "probe_steps": 2}
    calls: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n))[1])
    trainer.fit()
    assert calls[0] == 1 and threads.picker is not None and threads.picker.changes[0] == (2, 1)
    assert torch.get_num_threads() == threads.picker.threads_next


@pytest.mark.parametrize("threads", [2, None])
def test_a_fixed_or_inherited_thread_count_is_left_alone(digits_cfg, monkeypatch, two_threads, threads):
    trainer = _trainer(digits_cfg, threads=threads)
    assert not any(isinstance(cb, AdaptiveThreads) for cb in trainer.callbacks)
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    trainer.fit()
    assert calls == [] and torch.get_num_threads() == 2
