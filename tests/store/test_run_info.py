"""RunInfo: the stored info of a run, typed; a stored run reads back into it."""

from __future__ import annotations

import convscope
from convscope.store import RunInfo


def test_round_trip_keeps_unknown_keys():
    stored = {"input_shape": [1, 8, 8], "class_names": ["a", "b", "c"], "threshold": 0.3,
              "diagnosis": [{"kind": "overfitting"}], "from_a_newer_version": {"x": 1}}
    info = RunInfo.from_dict(stored)
    assert (info.input_shape, info.num_classes, info.threshold) == ([1, 8, 8], 3, 0.3)
    assert info.other == {"from_a_newer_version": {"x": 1}}
    assert {k: v for k, v in info.to_dict().items() if k in stored} == stored
    assert RunInfo.from_dict(None) == RunInfo() and RunInfo().num_classes is None


def test_a_stored_run_carries_its_info(digits_cfg):
    run = convscope.run(digits_cfg)
    assert isinstance(run.info, RunInfo)
    assert run.info.input_shape == [1, 8, 8] and run.info.num_classes == 10
    assert run.info.env["threads"] >= 1 and isinstance(run.info.diagnosis, list)
    assert len(run.info.test_confusion) == 10  # (K, K) at the run's threshold
