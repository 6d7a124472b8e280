"""The trainer's speed rewrites on the CPU: memory layout, bf16, kernel swaps for training and inference, threads.

Each lever is a small function the :class:`~convscope.train.trainer.Trainer` calls at set-up, one file each.
None changes what a model computes beyond float rounding (or, for dropout, which units a draw drops), and
the model the user built stays as it is: the five model rewrites build a *twin* sharing its parameters,
buffers and activation modules, all through one walker (:mod:`.walker`); ``tests/train/speedups/`` holds
them to that. What each one gave on the reference machine, and why the defaults are what they are, is in
``docs/performance.md``:

- **channels_last** (``train.channels_last: auto``, :mod:`.layout`): oneDNN's convolution kernels want NHWC.
  2D nets convert their weights and data once; 1D nets run as 1-pixel-high images (:mod:`.as_images`,
  rewrite 1), and their single-channel first conv as a matmul over sliding windows (:mod:`.window_convs`,
  rewrite 2).
- **bf16 autocast** (``train.precision: auto`` picks it for conv nets on AMX / AVX-512 BF16 hardware,
  :mod:`.precision`): convolutions and matmuls run in bfloat16 on the CPU's matrix units while weights,
  optimizer state and the loss stay float32. It gains most together with channels_last.
- **dropout** drawn with ``torch.rand`` instead of the 3x slower ``bernoulli_`` (:mod:`.dropout`, rewrite 3).
- **inference**: batchnorm folded into the conv/dense before it (:mod:`.fold_batchnorm`, rewrite 4), conv+ReLU
  as one oneDNN primitive and max pools as maxima of strided views (:mod:`.inference`, rewrite 5).
- **threads**: ``train.threads`` sets ``torch.set_num_threads``; unset, the process keeps what it has.
- **torch.compile** (``train.compile: true``, :mod:`.compile`): opt-in, kernels cached under convscope's cache.

Private PyTorch operators are checked numerically at first use; a missing or wrong one switches its
rewrite off with a note printed once and stored with the run (:mod:`.private_ops`, :func:`check_all`). Which layers the rewrites may
touch is each module class's registered traits (:mod:`convscope.models.module_traits`), so a new layer
type declares its fast-path support in its own file.
"""

from convscope.train.speedups.as_images import signals_as_images
from convscope.train.speedups.compile import compile_model
from convscope.train.speedups.dropout import fast_dropout
from convscope.train.speedups.fold_batchnorm import fold_batchnorm
from convscope.train.speedups.inference import fuse_for_inference
from convscope.train.speedups.layout import as_layout, has_2d_convs, match_state_layout, use_channels_last
from convscope.train.speedups.precision import (
    autocast,
    configure_threads,
    grad_scaler,
    native_bf16,
    resolve_precision,
)
from convscope.train.speedups.private_ops import SpeedupUnavailable, check_all, notes
from convscope.train.speedups.window_convs import window_convs

__all__ = [
    "SpeedupUnavailable",
    "as_layout",
    "autocast",
    "grad_scaler",
    "check_all",
    "compile_model",
    "configure_threads",
    "fast_dropout",
    "fold_batchnorm",
    "fuse_for_inference",
    "has_2d_convs",
    "match_state_layout",
    "native_bf16",
    "notes",
    "resolve_precision",
    "signals_as_images",
    "use_channels_last",
    "window_convs",
]
