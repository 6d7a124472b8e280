"""Zero-download built-in data for tests and quick tries.

- ``builtin:digits``: scikit-learn's real 8x8 handwritten digits (1,797 images, bundled with
  scikit-learn, so nothing is fetched). No test set of its own: ``splits.py`` carves one.
- ``builtin:mnist1d``: the published MNIST-1D benchmark (Greydanus 2020), regenerated offline with
  ``mnist1d.data.make_dataset`` and its default arguments: 4,000 train and 1,000 test signals of
  length 40. Never ``get_dataset``, which downloads. The generated arrays are cached under the
  cache dir, keyed by the arguments, so repeated runs load in milliseconds instead of ~1 s.

Example:
    >>> from convscope.config import DataConfig
    >>> from convscope.data import load_data
    >>> data = load_data(DataConfig(source="builtin:mnist1d"), seed=0)
    >>> tuple(data.x_test.shape)
    (1000, 1, 40)
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from convscope.config import DataConfig
from convscope.data.base import SOURCES, Source, Split
from convscope.data.cache import cached_arrays
from convscope.data.mnist import DIGITS
from convscope.data.source_helpers import check_options


@SOURCES.register("builtin:digits")
def load_digits(cfg: DataConfig) -> Source:
    """scikit-learn's 8x8 digits as (N, 1, 8, 8) in [0, 1] (pixel counts 0..16 divided by 16)."""
    from sklearn.datasets import load_digits as sk_digits

    check_options(cfg, {})
    bunch = sk_digits()
    x = (bunch.images.astype(np.float32) / np.float32(16.0))[:, None]  # (1797, 1, 8, 8)
    return Source(train=Split(x, bunch.target.astype(np.int64)), class_names=DIGITS, name="builtin:digits",
                  notes=["scikit-learn's 8x8 digits (UCI optdigits test part): no test set of its own"],
                  meta={"builtin": True})


# The published benchmark's seed (get_dataset_args' default). The dataset is part of the benchmark,
# so it does not follow the experiment's seed (that one drives splits and weights).
_MNIST1D_SEED = 42


def _mnist1d_args(options: dict[str, Any]) -> dict[str, Any]:
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.pop("url")  # only get_dataset (which downloads) uses it
    args["seed"] = _MNIST1D_SEED
    args.update(options)
    return args


def _generate_mnist1d(args: dict[str, Any]) -> dict[str, np.ndarray]:
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    # make_dataset seeds numpy's and Python's global generators; put them back so loading data never
    # changes what other code draws.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {"x_train": data["x"].astype(np.float32), "y_train": data["y"].astype(np.int64),  # (N, 40), (N,)
            "x_test": data["x_test"].astype(np.float32), "y_test": data["y_test"].astype(np.int64)}


@SOURCES.register("builtin:mnist1d")
def load_mnist1d(cfg: DataConfig) -> Source:
    """MNIST-1D (N, 1, 40) with its own 80/20 train/test split; ``make_dataset`` options may be overridden."""
    from mnist1d.data import get_dataset_args

    allowed = {k: f"make_dataset argument (default {v!r})" for k, v in get_dataset_args(as_dict=True).items()
               if k != "url"}
    allowed["seed"] = f"dataset generation seed (default {_MNIST1D_SEED}: the published benchmark)"
    args = _mnist1d_args(check_options(cfg, allowed))
    arrays = cached_arrays("builtin", "mnist1d", args, lambda: _generate_mnist1d(args))
    train = Split(arrays["x_train"][:, None], arrays["y_train"])  # (N, 1, 40)
    test = Split(arrays["x_test"][:, None], arrays["y_test"])  # (N, 1, 40)
    return Source(train=train, test=test, class_names=DIGITS, name="builtin:mnist1d",
                  notes=[f"MNIST-1D generated offline (make_dataset, seed {args['seed']})"],
                  meta={"builtin": True, "mnist1d_args": args})
