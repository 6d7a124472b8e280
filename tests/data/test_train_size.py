"""data.train_size: only the training split shrinks, stratified and nested; validation and test never move."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.config import DataConfig, load_config
from convscope.data import load_data
from convscope.data.train_size import nested_order, resolve_train_size
from convscope.errors import ConfigError


def rows(x) -> list[bytes]:
    """Each sample as bytes, so sets of samples can be compared across loads."""
    return [r.tobytes() for r in np.asarray(x)]


def digits(**data) -> DataConfig:
    return DataConfig(**{"source": "builtin:digits", "split": {"val": 0.2, "test": 0.2}, **data})


@pytest.mark.parametrize("case", range(40))
def test_every_prefix_of_the_order_keeps_every_class_within_one_sample_of_its_share(case):
    rng = np.random.default_rng(case)
    k = int(rng.integers(1, 12))
    y = rng.choice(k, size=int(rng.integers(k, 400)), p=rng.dirichlet(np.ones(k) * 0.5))  # imbalanced
    order = nested_order(y, seed=case)
    assert sorted(order.tolist()) == list(range(len(y)))  # a permutation: nothing lost, nothing twice
    share = np.bincount(y, minlength=k) / len(y)  # (K,)
    counts = np.cumsum(np.eye(k, dtype=int)[y[order]], axis=0)  # (N, K) class counts of every prefix
    expected = np.arange(1, len(y) + 1)[:, None] * share  # (N, K)
    assert np.abs(counts - expected).max() < 1


def test_the_order_is_repeatable_and_depends_on_the_seed():
    y = np.arange(300) % 3
    assert np.array_equal(nested_order(y, seed=4), nested_order(y, seed=4))
    assert not np.array_equal(nested_order(y, seed=4), nested_order(y, seed=5))


def test_sizes_are_nested_stratified_and_validation_and_test_are_unchanged():
    full = load_data(digits(), seed=0)
    sizes = [60, 200, 500, len(full.y_train)]
    loads = [load_data(digits(train_size=n), seed=0) for n in sizes]
    for n, data in zip(sizes, loads, strict=True):
        assert len(data.y_train) == n
        assert np.array_equal(data.x_val, full.x_val) and np.array_equal(data.y_val, full.y_val)
        assert np.array_equal(data.x_test, full.x_test) and np.array_equal(data.y_test, full.y_test)
        counts = np.bincount(data.y_train.numpy(), minlength=10)
        share = np.bincount(full.y_train.numpy(), minlength=10) / len(full.y_train)
        assert np.abs(counts - n * share).max() < 1  # stratified
    for small, big in zip(loads, loads[1:], strict=False):
        assert set(rows(small.x_train)) <= set(rows(big.x_train))  # nested: the 60 are inside the 200 ...
    assert sorted(rows(loads[-1].x_train)) == sorted(rows(full.x_train))


def test_a_fraction_takes_that_share_and_is_recorded():
    data = load_data(digits(train_size=0.25), seed=0)
    pool = len(load_data(digits(), seed=0).y_train)
    assert len(data.y_train) == round(0.25 * pool)
    assert data.meta["train_samples"] == len(data.y_train) and data.meta["train_pool"] == pool
    assert any(note.startswith(f"train_size: {len(data.y_train)} of the {pool}") for note in data.notes)


def test_the_split_seed_fixes_the_subset_while_the_experiment_seed_varies():
    a = load_data(digits(train_size=100, split={"val": 0.2, "test": 0.2, "seed": 7}), seed=0)
    b = load_data(digits(train_size=100, split={"val": 0.2, "test": 0.2, "seed": 7}), seed=1)
    c = load_data(digits(train_size=100), seed=1)
    assert np.array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_more_than_the_training_split_holds_names_the_field_and_the_most():
    with pytest.raises(ConfigError, match=r"data.train_size: 5000 is more than the 1078 training samples") as err:
        load_data(digits(train_size=5000), seed=0)
    assert "use at most 1078" in err.value.hint
    assert resolve_train_size(1.0, 1078) == 1078 and resolve_train_size(0.0001, 1078) == 1


@pytest.mark.parametrize(("value", "message"), [
    (0, "a sample count must be at least 1"),
    (1.5, r"a fraction must be in \(0, 1\]"),
    (True, "not true/false"),
    ("many", "train_size"),
])
def test_a_bad_train_size_is_a_config_error_naming_the_field(value, message):
    raw = {"data": {"source": "builtin:digits", "train_size": value}, "model": {"layers": ["flatten", {"dense": 10}]}}
    with pytest.raises(ConfigError, match=message) as err:
        load_config(raw, source="exp.yaml")
    assert "exp.yaml" in str(err.value) and "train_size" in str(err.value)


def test_train_size_is_a_search_parameter(digits_cfg):
    digits_cfg["params"]["n"] = {"grid": [50, 100]}
    digits_cfg["data"]["train_size"] = "${n}"
    cfg = load_config(digits_cfg, ["params.n=50"])
    assert cfg.data.train_size == 50
