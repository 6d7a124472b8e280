"""split_source: a source's own splits win, carving is stratified, group-wise and repeatable."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.config import SplitConfig
from convscope.data import Source, Split
from convscope.data.splits import DEFAULT_TEST, split_source
from convscope.errors import ConfigError, DataError


def make_source(n=400, n_groups=40, *, with_groups=True, test=None, val=None, classes=4):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 1, 8)).astype(np.float32)
    groups = np.arange(n) % n_groups if with_groups else None
    y = (groups % classes) if with_groups else np.arange(n) % classes  # a patient has one diagnosis
    ids = np.array([f"r{i:04d}" for i in range(n)])
    return Source(train=Split(x, y.astype(np.int64), groups, ids), class_names=[str(c) for c in range(classes)],
                  val=val, test=test, name="synthetic")


def ids(part):
    return set(part.ids.tolist())


def test_source_val_and_test_are_kept_and_nothing_is_carved():
    own_val = Split(np.zeros((5, 1, 8), np.float32), np.arange(5) % 4)
    own_test = Split(np.ones((6, 1, 8), np.float32), np.arange(6) % 4)
    src = make_source(val=own_val, test=own_test, with_groups=False)
    notes = []
    train, val, test, assignment = split_source(src, SplitConfig(val=0.3), seed=0, notes=notes)
    assert train is src.train and val is own_val and test is own_test
    assert "the source's own 5 samples (nothing carved" in notes[0]
    assert assignment["train"] == sorted(src.train.ids.tolist()) and assignment["val"] == []


def test_split_test_with_a_source_test_is_a_config_error():
    own_test = Split(np.ones((6, 1, 8), np.float32), np.arange(6) % 4)
    with pytest.raises(ConfigError, match=r"data.split.test: source 'synthetic' has its own test set \(6 samples\)"):
        split_source(make_source(test=own_test), SplitConfig(test=0.2), seed=0)


def test_default_test_fraction_and_stratified_proportions():
    src = make_source(n=1000, with_groups=False)
    notes = []
    train, val, test, _ = split_source(src, SplitConfig(val=0.1), seed=0, notes=notes)
    assert (len(train), len(val), len(test)) == (750, 100, 150)  # 15% test, 10% of the whole for val
    assert DEFAULT_TEST == 0.15 and "(the source has no test set)" in notes[0]
    assert np.bincount(val.y).tolist() == [25, 25, 25, 25]  # stratified: class proportions exact
    counts = np.bincount(test.y)
    assert counts.sum() == 150 and counts.max() - counts.min() <= 1
    assert not (ids(train) & ids(val)) and not (ids(train) & ids(test)) and not (ids(val) & ids(test))
    assert len(ids(train) | ids(val) | ids(test)) == 1000


def test_test_zero_means_no_test_set_and_val_zero_needs_a_source_val():
    train, val, test, assignment = split_source(make_source(with_groups=False), SplitConfig(val=0.2, test=0.0), seed=0)
    assert test is None and (len(train), len(val)) == (320, 80) and assignment["test"] == []
    with pytest.raises(DataError, match="data.split.val is 0 and source 'synthetic' has no validation set"):
        split_source(make_source(), SplitConfig(val=0.0), seed=0)
    with pytest.raises(ConfigError, match="leaves nothing to train on"):
        split_source(make_source(), SplitConfig(val=0.5, test=0.5), seed=0)


def test_deterministic_by_seed():
    src = make_source(with_groups=False)
    first = split_source(src, SplitConfig(val=0.1, test=0.2), seed=3)
    again = split_source(src, SplitConfig(val=0.1, test=0.2), seed=3)
    other = split_source(src, SplitConfig(val=0.1, test=0.2), seed=4)
    for a, b in zip(first[:3], again[:3], strict=True):
        np.testing.assert_array_equal(a.ids, b.ids)
    assert first[3] == again[3]
    assert ids(first[1]) != ids(other[1])


def test_group_split_keeps_groups_apart_with_close_proportions():
    src = make_source(n=800, n_groups=80)
    notes = []
    train, val, test, assignment = split_source(src, SplitConfig(val=0.15, test=0.15, group_by="patient"), seed=0,
                                                notes=notes)
    groups = [set(part.groups.tolist()) for part in (train, val, test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert len(train) + len(val) + len(test) == 800
    assert abs(len(test) / 800 - 0.15) <= 0.03 and abs(len(val) / 800 - 0.15) <= 0.03
    assert assignment["val"] == sorted(str(g) for g in groups[1])  # group ids, not record ids
    assert set(np.bincount(val.y, minlength=4)) != {0}  # stratified by group label: every class present
    again = split_source(src, SplitConfig(val=0.15, test=0.15, group_by="patient"), seed=0)
    assert again[3] == assignment


def test_group_by_needs_groups():
    with pytest.raises(DataError, match="group_by: patient: source 'synthetic' has no group ids"):
        split_source(make_source(with_groups=False), SplitConfig(group_by="patient"), seed=0)


def test_group_split_notes_leakage_in_a_source_test_set():
    own_test = Split(np.zeros((4, 1, 8), np.float32), np.arange(4) % 4, groups=np.array([0, 1, 500, 501]))
    notes = []
    split_source(make_source(test=own_test), SplitConfig(group_by="patient"), seed=0, notes=notes)
    assert any("leakage" in n and "test" in n for n in notes)


@pytest.mark.parametrize("grouped", [False, True])
def test_kfold_partitions_the_pool_and_keeps_test_fixed(grouped):
    src = make_source(n=300, n_groups=30)
    split = {"kfold": 5, "test": 0.2, "group_by": "patient" if grouped else None}
    vals, tests = [], []
    for fold in range(5):
        train, val, test, _ = split_source(src, SplitConfig(fold=fold, **split), seed=1)
        assert not (ids(train) & ids(val))
        if grouped:
            assert not (set(train.groups.tolist()) & set(val.groups.tolist()))
        vals.append(ids(val))
        tests.append(ids(test))
    assert all(t == tests[0] for t in tests)  # one test set for all folds
    pool = set().union(*vals)
    assert len(pool) == sum(len(v) for v in vals) == 300 - len(tests[0])  # folds are disjoint and cover the rest
    with pytest.raises(ConfigError, match="data.split.fold: 5 is not a fold of kfold: 5"):
        split_source(src, SplitConfig(fold=5, **split), seed=1)


def test_kfold_joins_a_source_validation_set():
    own_val = Split(np.zeros((50, 1, 8), np.float32), np.arange(50) % 4, ids=np.array([f"v{i}" for i in range(50)]))
    src = make_source(n=150, with_groups=False, val=own_val,
                      test=Split(np.zeros((5, 1, 8), np.float32), np.arange(5) % 4))
    notes = []
    train, val, _, _ = split_source(src, SplitConfig(kfold=4, fold=0), seed=0, notes=notes)
    assert len(train) + len(val) == 200 and "joins the folds" in notes[0]


def test_too_small_to_carve():
    tiny = Source(train=Split(np.zeros((2, 1, 3), np.float32), np.array([0, 1])), class_names=["a", "b"], name="t")
    with pytest.raises(DataError, match="cannot carve a test set of 15% from 2 samples"):
        split_source(tiny, SplitConfig(), seed=0)


def test_source_val_merge_carves_validation_from_train_plus_val():
    from convscope.config import SplitConfig

    train = Split(np.zeros((80, 1, 4), np.float32), np.arange(80) % 2)
    val = Split(np.ones((20, 1, 4), np.float32), np.arange(20) % 2)
    test = Split(np.zeros((10, 1, 4), np.float32), np.arange(10) % 2)
    src = Source(train=train, val=val, test=test, class_names=["a", "b"], name="toy")
    notes: list[str] = []
    tr, va, te, _ = split_source(src, SplitConfig(val=0.1, source_val="merge"), seed=0, notes=notes)
    assert (len(tr), len(va), len(te)) == (90, 10, 10)
    assert any("merged into train" in n for n in notes)
    assert float(tr.x.sum() + va.x.sum()) == 20 * 4  # the source's val samples are all still there
