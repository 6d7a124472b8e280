"""``train.log: [tensorboard]``: the run as TensorBoard event files, written as it trains.

Written with TensorBoard's own writer (``torch.utils.tensorboard.SummaryWriter``, which needs the
``tensorboard`` package), flushed after every epoch so ``tensorboard --logdir`` shows it live:

=======================  ===============================================================================
scalars                  every stored metric per epoch (``loss/train``, ``loss/val``, ``accuracy/val``,
                         ..., ``lr``, ``seconds``) and, at the end, ``loss/test``, ``accuracy/test`` ...
health                   the health monitor's per-layer numbers: ``grad_norm/<layer>``, ``act_mean/<layer>``,
                         ``act_std/<layer>``, ``dead_frac/<layer>``, ``saturated_frac/<layer>``, ``pre_max/<layer>``
histograms               ``weights/<layer>`` of every conv and dense layer, every ``histogram_every`` epochs
                         (and the last), at most ``histogram_values`` values each (an even stride)
images                   ``kernels/<first conv>``: its filters (rows) × input channels (columns) on a
                         diverging scale centred on zero (red > 0 > blue), as ``convscope look kernels``
text                     ``status``: how the run ended and why
=======================  ===============================================================================

Folders: ``<store>/tensorboard/run-<id>-<name>`` for a run; a search's trials go under one folder,
``<store>/tensorboard/<search>/trial-<n>-run-<id>``, with their parameters, final status and best
validation / test metrics in the HParams view, so ``tensorboard --logdir <store>/tensorboard/<search>``
compares them. A resumed run appends to its folder and drops the events after its last finished epoch
(``purge_step``), so its curves have no duplicate epochs.

Example:
    >>> import convscope
    >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}}, overrides=["train.log=[tensorboard]"])
    >>> [folder.name for folder in (run.home / "tensorboard").iterdir()]   # tensorboard --logdir <store>/tensorboard
    ['run-1-experiment']
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import Field

from convscope.insight.kernels import kernel_grid
from convscope.train.health import layer_root, weight_layers
from convscope.train.loggers.base import LOGGERS, LoggerOptions, RunEnd, RunLogger, SearchContext

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from convscope.train.trainer import Trainer

STATUSES = ["completed", "early_stopped", "pruned", "diverged", "failed", "interrupted"]
HEALTH_KEYS = ("grad_norm", "act_mean", "act_std", "dead_frac", "saturated_frac", "pre_max")
# TensorBoard's HParams session status for each convscope status (anything else: unknown)
SESSION_STATUS = {"completed": "STATUS_SUCCESS", "early_stopped": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE",
                  "failed": "STATUS_FAILURE"}


class TensorBoardOptions(LoggerOptions):
    dir: str | None = None  # the root folder (default: <store>/tensorboard)
    histogram_every: int = Field(1, ge=1)  # epochs between weight histograms (the last epoch always has one)
    histogram_values: int = Field(100_000, ge=100)  # values read per weight tensor for its histogram
    kernels: bool = True  # the first conv layer's kernels as an image each epoch


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"


def root(home: Path, options: TensorBoardOptions) -> Path:
    return Path(options.dir).expanduser() if options.dir else Path(home) / "tensorboard"


def tag_of(key: str) -> str:
    """A stored metric's TensorBoard tag: ``val_accuracy`` → ``accuracy/val`` (one section per metric,
    train next to val), ``lr`` → ``lr``.

    Example:
        >>> tag_of("val_accuracy"), tag_of("train_loss"), tag_of("test_record_f1"), tag_of("lr")
        ('accuracy/val', 'loss/train', 'record_f1/test', 'lr')
    """
    split, sep, metric = key.partition("_")
    return f"{metric}/{split}" if sep and split in ("train", "val", "test") else key


def hparam_value(value: Any) -> float | int | str | bool:
    """A parameter value TensorBoard's HParams view accepts (numbers, strings, booleans)."""
    return value if isinstance(value, bool | int | float | str) else str(value)


def kernel_image(weight: torch.Tensor, *, scale: int = 6) -> np.ndarray:
    """A conv weight (out, in, k) or (out, in, kh, kw) as one RGB picture (H, W, 3) uint8: a row per filter,
    a column per input channel, each kernel blown up ``scale`` times, on red-white-blue centred on zero.

    Hand-made because TensorBoard takes pixels, not figures, and drawing a matplotlib figure every
    epoch would cost more than the epoch of a small model.

    Example:
        >>> kernel_image(torch.ones(8, 1, 4, 4)).shape
        (199, 24, 3)
    """
    g = kernel_grid(weight)
    w = g.weights if g.weights.ndim == 4 else g.weights[:, :, None, :]  # (out, in, kh, kw)
    out, inn, kh, kw = w.shape
    unit = np.clip(w / g.vmax, -1.0, 1.0)  # (out, in, kh, kw) in [-1, 1]
    # red for positive, blue for negative, white at zero (the colours of the report's kernel pictures)
    red = np.where(unit < 0, 1 + unit, 1.0)
    green = 1 - np.abs(unit)
    blue = np.where(unit > 0, 1 - unit, 1.0)
    tiles = np.stack([red, green, blue], axis=-1)  # (out, in, kh, kw, 3)
    tiles = tiles.repeat(scale, axis=2).repeat(scale, axis=3)  # (out, in, kh*s, kw*s, 3)
    th, tw = kh * scale, kw * scale
    image = np.full((out * (th + 1) - 1, inn * (tw + 1) - 1, 3), 0.5)  # grey 1-pixel gaps
    for i in range(out):
        for j in range(inn):
            image[i * (th + 1):i * (th + 1) + th, j * (tw + 1):j * (tw + 1) + tw] = tiles[i, j]
    return (image * 255).round().astype(np.uint8)


@LOGGERS.register("tensorboard")
class TensorBoardLogger(RunLogger):
    """Writes the run's scalars, health, weight histograms and kernels as TensorBoard events (see the module).

    Args:
        context: the run (see :class:`~convscope.train.loggers.base.RunContext`).
        options: :class:`TensorBoardOptions`.
    """

    package = "tensorboard"
    extra = "tensorboard"
    Options = TensorBoardOptions

    def __init__(self, context: Any, options: TensorBoardOptions) -> None:
        super().__init__(context, options)
        self.options: TensorBoardOptions = options
        self.writer: SummaryWriter | None = None
        self.epoch = 0
        self.best: dict[str, float] = {}

    @property
    def logdir(self) -> Path:
        c = self.context
        base = root(c.home, self.options)
        if c.search is not None:
            return base / c.search / f"trial-{c.trial:03d}-run-{c.run_id}"
        return base / f"run-{c.run_id}-{_slug(c.name)}"

    def on_train_begin(self, trainer: Trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.epoch = trainer.epoch
        # a resumed run drops whatever an earlier process wrote after its last finished epoch
        purge = trainer.epoch + 1 if self.context.resumed else None
        self.writer = SummaryWriter(str(self.logdir), purge_step=purge, flush_secs=30)
        module = getattr(trainer.model, "_orig_mod", trainer.model)
        self.layers = weight_layers(module)
        self.first_conv = next((m for _, m in layer_root(module).named_modules()
                                if isinstance(m, torch.nn.modules.conv._ConvNd)), None)
        self.first_conv_name = next((n for n, m in self.layers if m is self.first_conv), "conv")
        if not self.context.resumed:
            self.writer.add_text("config", f"```yaml\n{self.context.config.to_yaml()}\n```", 0)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        w = self.writer
        assert w is not None, "on_train_begin opens the writer"
        self.epoch = epoch
        for key, value in logs.items():
            if math.isfinite(value):
                w.add_scalar(tag_of(key), value, epoch)
        health = getattr(trainer, "health", None) or {}
        for layer, numbers in health.get("layers", {}).items():
            for key in HEALTH_KEYS:
                value = numbers.get(key)
                if value is not None and math.isfinite(value):
                    w.add_scalar(f"{key}/{layer}", value, epoch)
        last = epoch >= trainer.cfg.epochs or trainer.stop_status is not None
        if epoch % self.options.histogram_every == 0 or last:
            for name, module in self.layers:
                values = module.weight.detach().reshape(-1)
                stride = max(1, values.numel() // self.options.histogram_values)
                w.add_histogram(f"weights/{name}", values[::stride].float().cpu().numpy(), epoch)
        if self.options.kernels and self.first_conv is not None:
            w.add_image(f"kernels/{self.first_conv_name}", kernel_image(self.first_conv.weight), epoch,
                        dataformats="HWC")
        if trainer.best_epoch == epoch:
            self.best = {k: v for k, v in logs.items() if k.startswith("val_")}
        w.flush()  # live: the epoch is on disk before the next one starts

    def on_train_end(self, trainer: Trainer) -> None:
        if trainer.best_epoch is not None:
            self.best = next(({k: v for k, v in row.items() if k.startswith("val_")}
                              for row in trainer.history if row["epoch"] == trainer.best_epoch), self.best)

    def finish(self, end: RunEnd) -> None:
        w = self.writer
        if w is None:  # the run failed before training began
            return
        for key, value in end.test.items():
            w.add_scalar(tag_of(key), value, self.epoch)
        w.add_text("status", f"**{end.status}**: {end.reason or ''}", self.epoch)
        if self.context.search is not None:
            self._write_session(w, end)
        w.close()

    def _write_session(self, w: SummaryWriter, end: RunEnd) -> None:
        """The trial's row in the HParams view: its params and status, its best-epoch and test metrics."""
        from tensorboard.plugins.hparams.api_pb2 import Status
        from tensorboard.plugins.hparams.plugin_data_pb2 import SessionEndInfo
        from torch.utils.tensorboard.summary import hparams

        metrics = {f"hparams/best_{k}": v for k, v in self.best.items() if math.isfinite(v)}
        metrics.update({f"hparams/{k}": v for k, v in end.test.items()})
        for tag, value in metrics.items():
            w.add_scalar(tag, value, self.epoch)
        values = {k: hparam_value(v) for k, v in self.context.params.items()}
        _, session_start, _ = hparams({**values, "status": end.status}, metrics)
        w.file_writer.add_summary(session_start)
        session_end = _plugin_summary("_hparams_/session_end_info", session_end_info=SessionEndInfo(
            status=Status.Value(SESSION_STATUS.get(end.status, "STATUS_UNKNOWN"))))
        w.file_writer.add_summary(session_end)

    @classmethod
    def begin_search(cls, search: SearchContext, options: TensorBoardOptions) -> None:
        """The search folder's experiment: the HParams view's columns (each param with its grid, the status,
        the best-epoch validation and the test metrics)."""
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        values: dict[str, Any] = {}
        discrete: dict[str, list[Any]] = {}
        for name, spec in search.space.items():
            listed = spec.get("grid", spec.get("choice"))
            if listed is not None:
                values[name] = hparam_value(listed[0])
                discrete[name] = [hparam_value(v) for v in listed]
            else:
                low = (spec.get("uniform") or spec.get("loguniform") or spec.get("int"))[0]
                values[name] = float(low)  # a number column; TensorBoard finds its range from the trials
        values["status"], discrete["status"] = STATUSES[0], STATUSES
        keys = ["loss", *search.config.train.metrics]
        metrics = {f"hparams/best_val_{k}": 0.0 for k in keys} | {f"hparams/test_{k}": 0.0 for k in keys}
        experiment, _, _ = hparams(values, metrics, hparam_domain_discrete=discrete)
        with SummaryWriter(str(root(search.home, options) / search.name)) as writer:
            writer.file_writer.add_summary(experiment)


def _plugin_summary(tag: str, **data: Any) -> Any:
    """A Summary holding HParams plugin data (the form TensorBoard's HParams view reads)."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    content = HParamsPluginData(version=PLUGIN_DATA_VERSION, **data)
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME,
                                                                   content=content.SerializeToString()))
    return Summary(value=[Summary.Value(tag=tag, metadata=meta)])


__all__ = ["TensorBoardLogger", "TensorBoardOptions", "kernel_image", "tag_of"]
