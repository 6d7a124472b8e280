"""The training loop.

Data lives on the device as tensors; each epoch shuffles with one gather and then slices contiguous
batches, so there is no per-sample Python and no DataLoader in the hot loop. The loss is summed and the
predictions written into one buffer on the device, and both are read once per epoch: no ``.item()`` per
step (each one is a host sync), and one kernel launch per step for the metrics instead of five.
The set-up picks the fast paths of :mod:`convscope.train.speedups` (memory layout, bf16 autocast,
fused optimizer kernels, batchnorm folding for evaluation, opt-in ``torch.compile``).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from convscope.config import TrainConfig
from convscope.data.base import Dataset
from convscope.errors import ConfigError
from convscope.inference.outputs import probabilities  # noqa: F401  (re-exported: convscope.train.probabilities)
from convscope.store.checkpoint import load_state, save_state
from convscope.store.status import RunStatus
from convscope.train import metrics as M
from convscope.train.adaptive_threads import AdaptiveThreads
from convscope.train.callbacks import Callback, improved
from convscope.train.class_weights import class_weights
from convscope.train.optimizers import make_optimizer
from convscope.train.schedules import make_scheduler
from convscope.train.speedups import (
    as_layout,
    autocast,
    compile_model,
    configure_threads,
    fast_dropout,
    grad_scaler,
    has_2d_convs,
    match_state_layout,
    resolve_precision,
    signals_as_images,
    use_channels_last,
    window_convs,
)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: '{name}' is not a device", hint="use auto, cpu, cuda or cuda:0") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: cuda was asked for but no GPU is available", hint="use device: auto")
    return device




class Trainer:
    """Trains ``model`` on ``data`` as ``cfg`` says.

    Args:
        model: a :class:`~convscope.models.build.ConvNet` (or any module returning logits (N, K)).
        data: train/val(/test) tensors from :func:`convscope.data.load_data`.
        cfg: the ``train:`` section.
        seed: seeds the shuffling generator (the model's init is seeded by the caller).
        callbacks: called in order at each moment (see :class:`Callback`).
        augment: train-time batch transform ``(x, generator) -> x`` (never applied to val/test).

    Example:
        >>> from convscope.api import prepare
        >>> from convscope.config import load_config
        >>> cfg = load_config({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
        ...                    "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}})
        >>> data, model = prepare(cfg)
        >>> trainer = Trainer(model, data, cfg.train, seed=0)
        >>> history = trainer.fit()
        >>> len(history), sorted(history[0])[:4]
        (1, ['epoch', 'lr', 'seconds', 'train_accuracy'])
    """

    def __init__(self, model: nn.Module, data: Dataset, cfg: TrainConfig, *, seed: int,
                 callbacks: Sequence[Callback] = (),
                 augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None) -> None:
        self.cfg = cfg
        self.data = data
        self.device = pick_device(cfg.device)
        configure_threads(cfg.threads)
        if self.device.type == "cuda":  # process-wide cuDNN switches: set by the run that trains on the GPU
            torch.backends.cudnn.deterministic = cfg.deterministic
            torch.backends.cudnn.benchmark = not cfg.deterministic
        self.model = model.to(self.device)
        self.precision = resolve_precision(cfg.precision, self.model, self.device)  # "fp32", "bf16" or "fp16"
        self.scaler = grad_scaler(self.device, self.precision)  # fp16's loss scaler, else None
        self.channels_last = use_channels_last(self.model, cfg.channels_last, self.device)
        # a 1D model runs as 1-pixel-high images (a twin sharing its weights); a 2D one converts its weights
        # once and the activations follow them
        self._as_images = self.channels_last and not has_2d_convs(self.model)
        if self.channels_last and not self._as_images:
            self.model.to(memory_format=torch.channels_last)
        # train.threads: auto picks the fastest thread count while training (first, so later callbacks see its threads);
        # on a GPU the CPU threads only launch kernels, and step times are launch times: nothing to pick
        picks_threads = cfg.threads == "auto" and self.device.type == "cpu"
        self.callbacks = ([AdaptiveThreads()] if picks_threads else []) + list(callbacks)
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed)

        out_width = self._output_width()
        self.binary_logit = out_width == 1  # one sigmoid unit: binary cross-entropy on its logit
        if self.binary_logit and data.num_classes != 2:
            raise ConfigError(f"model: the last layer has 1 output, but the data has {data.num_classes} classes",
                              hint=f"end the model with dense: {data.num_classes}")
        if not self.binary_logit and out_width != data.num_classes:
            raise ConfigError(
                f"model: the last layer has {out_width} outputs, but the data has {data.num_classes} classes",
                hint=f"end the model with dense: {data.num_classes} (or dense: 1 with sigmoid for 2 classes)")
        if cfg.loss == "bce" and not self.binary_logit:
            raise ConfigError("train.loss: bce needs a model ending in one sigmoid unit",
                              hint="end the model with dense: {units: 1, activation: sigmoid}, or use cross_entropy")

        self.x_train = as_layout(data.x_train.to(self.device), self.channels_last)
        self.y_train = data.y_train.to(self.device)
        self.x_val = as_layout(data.x_val.to(self.device), self.channels_last)
        self.y_val = data.y_val.to(self.device)
        self.class_weight = self._class_weight()
        self.optimizer = make_optimizer(self.model.parameters(), cfg.optimizer, device=self.device)
        forward = self._fast(self.model)
        # the compiled graph trains; evaluation and callbacks keep the eager module (hooks fire there)
        self._train_forward: Callable[[torch.Tensor], torch.Tensor] = compile_model(forward) if cfg.compile else forward
        self.steps_per_epoch = math.ceil(len(self.y_train) / cfg.batch_size)
        self.scheduler, self.schedule_on = make_scheduler(cfg.schedule, self.optimizer, epochs=cfg.epochs,
                                                          steps_per_epoch=self.steps_per_epoch)
        self.history: list[dict[str, float]] = []
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.lower_is_better = M.lower_is_better(cfg.monitor)
        self.stop_status: str | None = None
        self.stop_reason: str | None = None
        self.epoch = 0
        self.step = 0

    # -- set-up helpers ------------------------------------------------------------------------

    def _output_width(self) -> int:
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            out = self.model(self.data.x_train[:1].to(self.device))
        self.model.train(was_training)
        if out.dim() != 2:
            raise ConfigError(f"model: output has shape {tuple(out.shape[1:])}, expected one score per class",
                              hint="end the model with global_avg_pool or flatten, then dense: N_CLASSES")
        return int(out.shape[1])

    def _class_weight(self) -> torch.Tensor | None:
        weights = class_weights(self.cfg.class_weight, self.data.y_train, self.data.num_classes)
        return None if weights is None else weights.to(self.device)

    def _fast(self, model: nn.Module) -> nn.Module:
        """``model``'s fast twin (parameters, buffers and activations shared): in channels_last, a signal net's
        1D layers as 2D ones and its single-channel convs as window matmuls; on the CPU, dropout drawn
        with ``rand``. A model with none of these is returned as it is."""
        if self._as_images:
            model = signals_as_images(model) or model
        if self.channels_last:
            model = window_convs(model)
        return fast_dropout(model) if self.device.type == "cpu" else model

    def request_stop(self, status: str, reason: str) -> None:
        """Ask the loop to stop after this epoch with ``status`` (early_stopped, pruned, ...)."""
        if self.stop_status is None:
            self.stop_status, self.stop_reason = status, reason

    # -- loss ------------------------------------------------------------------------------------

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.binary_logit:
            target = y.float()
            if self.cfg.label_smoothing:
                target = target * (1 - self.cfg.label_smoothing) + 0.5 * self.cfg.label_smoothing
            pos_weight = None
            if self.class_weight is not None:
                pos_weight = self.class_weight[1] / self.class_weight[0]
            return F.binary_cross_entropy_with_logits(logits[:, 0].float(), target, pos_weight=pos_weight)
        return F.cross_entropy(logits.float(), y, weight=self.class_weight, label_smoothing=self.cfg.label_smoothing)

    # -- the loop ----------------------------------------------------------------------------

    def _epoch_order(self) -> torch.Tensor:
        n = len(self.y_train)
        if self.cfg.sampler == "balanced":
            counts = torch.bincount(self.data.y_train, minlength=self.data.num_classes).float()
            weights = (1.0 / counts.clamp(min=1))[self.data.y_train]
            return torch.multinomial(weights, n, replacement=True, generator=self.generator)
        return torch.randperm(n, generator=self.generator)

    def train_epoch(self) -> dict[str, float]:
        self.model.train()
        order = self._epoch_order().to(self.device)
        # one gather per epoch; the batches below are views of it (as_layout: the gather may drop NHWC)
        x_all = as_layout(self.x_train.index_select(0, order), self.channels_last)
        y_all = self.y_train.index_select(0, order)
        bs = self.cfg.batch_size
        loss_sum = torch.zeros((), device=self.device)
        # every step writes its predictions here; they are compared with y_all once, after the loop
        pred_all = torch.empty(len(y_all), device=self.device,
                               dtype=torch.bool if self.binary_logit else torch.long)
        precision = autocast(self.device, self.precision)
        for start in range(0, len(y_all), bs):
            xb = x_all[start:start + bs]  # (B, C, ...) view, no copy
            yb = y_all[start:start + bs]
            if self.augment is not None:
                xb = as_layout(self.augment(xb, self.generator), self.channels_last)
            if precision is None:
                logits = self._train_forward(xb)  # (B, K)
            else:
                with precision:
                    logits = self._train_forward(xb)
            loss = self.loss(logits, yb)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is None:
                loss.backward()
            else:  # fp16: backward on the scaled loss, then true gradients for the callbacks (health reads them)
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            for cb in self.callbacks:
                cb.on_after_backward(self, self.step)
            if self.scaler is None:
                self.optimizer.step()
            else:  # skips the step when a gradient overflowed, and adapts the scale
                self.scaler.step(self.optimizer)
                self.scaler.update()
            if self.schedule_on == "batch":
                self.scheduler.step()
            self.step += 1
            # no torch.no_grad() needed (its enter/exit cost the MLP ~2% of a step): a detached loss, argmax
            # and comparisons record no graph
            loss_sum.add_(loss.detach(), alpha=len(yb))
            if self.binary_logit:
                torch.gt(logits[:, 0].detach(), 0, out=pred_all[start:start + bs])
            else:
                torch.argmax(logits.detach(), dim=1, out=pred_all[start:start + bs])
        n = len(y_all)
        correct = (pred_all == (y_all > 0) if self.binary_logit else pred_all == y_all).sum()
        return {"train_loss": float(loss_sum) / n, "train_accuracy": float(correct) / n}

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and class probabilities for ``x`` by :func:`convscope.inference.infer`, the one inference path:
        the model's inference twin (batchnorm folded, conv+ReLU fused, the NHWC paths) in the training
        precision, in chunks of ``eval_batch_size``. A bf16-trained run is evaluated in bf16, as it would be
        deployed; ``Run.predict``, the pictures and ``ensemble`` evaluate it the same way.
        """
        # imported here: the engine imports train.speedups, and so this module, at import time
        from convscope.inference.engine import infer

        return infer(self.model, x, precision=self.precision, batch_size=self.cfg.eval_batch_size,
                     channels_last=self.channels_last, device=self.device)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor, *, prefix: str = "val_",
                 threshold: float = 0.5) -> tuple[dict[str, float], np.ndarray]:
        """``prefix``-named loss and metrics on (x, y); also returns the probabilities (N, K)."""
        logits, prob = self.predict(x)
        y = y.to(self.device)
        with torch.inference_mode():
            loss = float(self.loss(logits, y)) if len(y) else float("nan")
        prob_np = prob.cpu().numpy()
        scores = M.compute(self.cfg.metrics, y.cpu().numpy(), prob_np, threshold=threshold,
                           class_names=self.data.class_names)
        return {f"{prefix}loss": loss, **{f"{prefix}{k}": v for k, v in scores.items()}}, prob_np

    def fit(self) -> list[dict[str, float]]:
        """Train from ``self.epoch + 1`` to ``cfg.epochs`` (or until a callback stops it)."""
        for cb in self.callbacks:
            cb.on_train_begin(self)
        while self.epoch < self.cfg.epochs and self.stop_status is None:
            epoch = self.epoch + 1
            started = time.perf_counter()
            logs = self.train_epoch()
            val, _ = self.evaluate(self.x_val, self.y_val)
            logs.update(val)
            logs["lr"] = self.optimizer.param_groups[0]["lr"]
            logs["seconds"] = time.perf_counter() - started
            self.epoch = epoch
            self.history.append({"epoch": epoch, **logs})
            if not (math.isfinite(logs["train_loss"]) and math.isfinite(logs["val_loss"])):
                # a NaN/inf loss is a verdict, not a crash: stop and say where it happened
                self.request_stop(RunStatus.DIVERGED, f"loss became {'NaN' if math.isnan(logs['train_loss']) else 'inf'} "
                                              f"at epoch {epoch}")
            elif self.cfg.monitor not in logs:
                known = ", ".join(k for k in logs if k.startswith("val_"))
                raise ConfigError(f"train.monitor: '{self.cfg.monitor}' is not logged", hint=f"use one of: {known}")
            elif improved(logs[self.cfg.monitor], self.best_value, lower=self.lower_is_better):
                self.best_epoch, self.best_value = epoch, logs[self.cfg.monitor]
                self.best_state = copy.deepcopy(self.model.state_dict())
            if self.scheduler is not None and self.schedule_on == "epoch":
                self.scheduler.step()
            elif self.scheduler is not None and self.schedule_on == "val_loss" and math.isfinite(logs["val_loss"]):
                self.scheduler.step(logs["val_loss"])
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def restore_best(self) -> None:
        """Load the best-validation epoch's weights (test is reported on these: Nielsen's protocol)."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    # -- resumable state -------------------------------------------------------------------------

    def save_state(self, path: Path, epoch: int) -> None:
        extra: dict[str, Any] = {
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "step": self.step,
            "history": self.history,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
        }
        if self.best_state is not None:
            extra["best_state"] = self.best_state
        if self.device.type == "cuda":  # dropout on the GPU draws from the device's own generator
            extra["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.scaler is not None:
            extra["grad_scaler"] = self.scaler.state_dict()
        save_state(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler, epoch=epoch,
                   extra=extra)

    def load_state(self, path: Path) -> None:
        """Continue after the epoch saved in ``path`` exactly as if training had not stopped."""
        epoch, extra = load_state(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler)
        self.generator.set_state(extra["generator"])
        torch.set_rng_state(extra["torch_rng"])
        if self.device.type == "cuda" and "cuda_rng" in extra:
            torch.cuda.set_rng_state(extra["cuda_rng"], self.device)
        if self.scaler is not None and "grad_scaler" in extra:
            self.scaler.load_state_dict(extra["grad_scaler"])
        self.step = int(extra["step"])
        self.history = [dict(row) for row in extra["history"]]
        self.best_epoch, self.best_value = extra["best_epoch"], extra["best_value"]
        self.best_state = extra.get("best_state")
        self.epoch = epoch
        match_state_layout(self.optimizer)  # checkpoints hold NCHW tensors; a channels_last model wants NHWC
