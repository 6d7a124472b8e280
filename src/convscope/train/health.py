"""Training health: per-layer gradient norms and activation statistics, one compact summary per epoch.

:class:`HealthMonitor` is a callback. It leaves ``trainer.health`` as a small dict each epoch, which
the run store keeps beside the epoch's metrics and :func:`convscope.insight.diagnose.diagnose` reads::

    {"grad_steps": 10,
     "layers": {"conv1": {"type": "conv", "act": "relu", "grad_norm": 0.031, "act_mean": 0.21,
                          "act_std": 0.35, "dead_frac": 0.0, "pre_max": 4.2}, ...}}

- ``grad_norm``: L2 norm of the layer's weight gradient, averaged over at most ``max_grad_steps``
  evenly spaced steps of the epoch (summed on the device, read once per epoch: no host sync per step).
- ``act_mean`` / ``act_std``: the activation's output on validation data (eval mode; the first
  ``max_val_samples`` samples, at most a quarter of the training set's size).
- ``dead_frac`` (ReLU): fraction of channels (conv) or units (dense) whose output is zero for every
  validation sample and position -- such a unit passes no gradient and never recovers.
- ``saturated_frac`` (sigmoid/tanh): fraction of outputs within 1% of the range's bounds, where the
  derivative is < 0.04 (sigmoid'(z) < 0.0099, tanh'(z) < 0.04) and the unit all but stops learning.
- ``pre_max`` (first epoch only): the largest |input| of the activation (the pre-activation), the "big
  activations in the first epoch" symptom of a badly scaled init or input.

Activation statistics come from the trainer's own validation pass: the forward hooks are armed after
the epoch's last backward, so the next forwards are ``Trainer.evaluate(x_val)``, and are removed at
``on_epoch_end``. That costs a few reductions per activation and no extra forward pass; if no forward
was seen (a trainer that validates differently, or a compiled model) the monitor runs its own pass
over the same samples.

Example:
    >>> from convscope.api import prepare
    >>> from convscope.config import load_config
    >>> from convscope.train.trainer import Trainer
    >>> cfg = load_config({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                    "model": {"layers": [{"conv": {"filters": 4, "kernel": 3, "activation": "relu"}},
    ...                                         "flatten", {"dense": 10}]}})
    >>> data, model = prepare(cfg)
    >>> trainer = Trainer(model, data, cfg.train, seed=0, callbacks=[HealthMonitor()])
    >>> history = trainer.fit()
    >>> 0.0 <= trainer.health["layers"]["conv1"]["dead_frac"] <= 1.0
    True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from convscope.models.module_traits import is_conv
from convscope.train.callbacks import Callback

if TYPE_CHECKING:
    from convscope.train.trainer import Trainer

# Module type -> the activation family its statistics are read as.
ACTIVATION_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.ReLU, "relu"),
    (nn.ReLU6, "relu"),
    (nn.LeakyReLU, "rectifier"),
    (nn.ELU, "rectifier"),
    (nn.GELU, "rectifier"),
    (nn.SiLU, "rectifier"),
    (nn.Sigmoid, "sigmoid"),
    (nn.Tanh, "tanh"),
)
# A bounded activation's range; "saturated" means within 1% of its width from either end.
BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
SATURATION_MARGIN = 0.01


def activation_kind(module: nn.Module) -> str | None:
    """'relu', 'rectifier', 'sigmoid' or 'tanh' for an activation module, else None."""
    for cls, kind in ACTIVATION_KINDS:
        if isinstance(module, cls):
            return kind
    return None


def layer_root(model: nn.Module) -> nn.Module:
    """The module whose child names are the ones a user wrote: a ConvNet's ``layers`` (``conv1``, ``relu1``)."""
    layers = getattr(model, "layers", None)
    return layers if isinstance(layers, nn.Module) else model


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The conv and dense layers of ``model`` in registration order (first layer first)."""
    return [(name, m) for name, m in layer_root(model).named_modules() if has_weights(m)]


def has_weights(module: nn.Module) -> bool:
    """A conv or dense layer with a weight (the layers whose gradients the monitor watches)."""
    return (is_conv(module) or isinstance(module, nn.Linear)) and getattr(module, "weight", None) is not None


def _dense(x: torch.Tensor) -> torch.Tensor:
    """``x`` with its memory order as the dims' order (a view): reductions over a channels_last map are
    several times slower when read in NCHW order."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(0, 2, 3, 1)  # (N, H, W, C), contiguous
    return x


class _ActivationStats:
    """Accumulates one activation module's statistics over a validation pass, on the device.

    Only cheap reductions run per batch (sums, a norm, min/max); the saturation count, which needs
    elementwise comparisons, reads an evenly strided subset of at most ``SATURATION_SAMPLE`` outputs.
    """

    SATURATION_SAMPLE = 1 << 16  # outputs per batch: a fraction to +-0.2% (binomial standard error)

    def __init__(self, kind: str, *, max_samples: int, pre: bool) -> None:
        self.kind = kind
        self.max_samples = max_samples
        self.pre = pre  # also read the largest |pre-activation| (two more passes: the first epoch only)
        self.samples = 0
        self.total = 0
        self.sums: list[torch.Tensor] = []  # per batch: (sum, sum of squares, max |pre|)
        self.saturated: list[torch.Tensor] = []  # per batch: (saturated, counted)
        self.channel_sum: torch.Tensor | None = None  # (C,) sum of outputs per channel (ReLU: 0 = dead)

    def __call__(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        take = min(len(output), self.max_samples - self.samples)
        if take <= 0:
            return
        y = output.detach()[:take].float()  # (n, C, ...) or (n, F): a view unless it was bf16
        flat = _dense(y)
        channel_sum = None
        if self.kind == "relu" and y.dim() >= 2:
            channel_sum = y.sum(dim=[d for d in range(y.dim()) if d != 1])  # (C,): >= 0, zero when all zero
            self.channel_sum = channel_sum if self.channel_sum is None else self.channel_sum + channel_sum
        total = channel_sum.sum() if channel_sum is not None else flat.sum()
        if self.pre:
            pre = _dense(inputs[0].detach()[:take])
            pre_max = torch.maximum(pre.max(), -pre.min()).float()
        else:
            pre_max = torch.full((), math.nan, device=y.device)
        self.sums.append(torch.stack([total, torch.linalg.vector_norm(flat).square(), pre_max]))
        self.samples += take
        self.total += y.numel()
        if self.kind in BOUNDS:
            low, high = BOUNDS[self.kind]
            margin = SATURATION_MARGIN * (high - low)
            sample = flat.reshape(-1)[:: max(1, y.numel() // self.SATURATION_SAMPLE)]
            count = (sample <= low + margin).sum() + (sample >= high - margin).sum()
            self.saturated.append(torch.stack([count.float(), torch.tensor(float(len(sample)), device=y.device)]))

    def summary(self) -> dict[str, float] | None:
        if not self.sums:
            return None
        stacked = torch.stack(self.sums)  # (batches, 3)
        total_sum, total_sq = stacked[:, :2].sum(dim=0).tolist()
        mean = total_sum / self.total
        var = max(total_sq / self.total - mean * mean, 0.0)
        out = {"act_mean": mean, "act_std": math.sqrt(var)}
        if self.pre:
            out["pre_max"] = float(stacked[:, 2].max())
        if self.channel_sum is not None:
            out["units"] = len(self.channel_sum)
            out["dead_frac"] = float((self.channel_sum <= 0).float().mean())
        if self.saturated:
            count, seen = torch.stack(self.saturated).sum(dim=0).tolist()
            out["saturated_frac"] = count / seen
        return out


class HealthMonitor(Callback):
    """Record per-layer gradient norms and activation health each epoch into ``trainer.health``.

    Place it before the callback that stores epochs (the API's ``Recorder``) so the summary is saved
    with the epoch it describes.

    Args:
        max_grad_steps: gradient norms are read at most this many (evenly spaced) steps per epoch;
            reading every step would cost a kernel launch per layer per step for no better estimate.
        max_val_samples: the most validation samples the activation statistics read per epoch (also the
            size of the monitor's own pass when the trainer's was not observed); at most a quarter of
            the training set's size is read, so a small dataset's epoch is not dominated by statistics.
    """

    def __init__(self, *, max_grad_steps: int = 10, max_val_samples: int = 1024) -> None:
        self.max_grad_steps = max_grad_steps
        self.max_val_samples = max_val_samples
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []
        self._stats: dict[str, _ActivationStats] = {}

    # -- set-up --------------------------------------------------------------------------------

    def on_train_begin(self, trainer: Trainer) -> None:
        model = trainer.model
        # a torch.compile'd model keeps the eager module in _orig_mod; hooks go on that one
        self.module = getattr(model, "_orig_mod", model)
        self.piggyback = self.module is model
        self.weights = weight_layers(self.module)
        self.activations: list[tuple[str, str, nn.Module]] = []  # (layer name, kind, module)
        self.layer_info: dict[str, dict[str, Any]] = {}
        owner: tuple[str, dict[str, Any]] | None = None
        for name, module in layer_root(self.module).named_modules():
            if has_weights(module):
                entry = {"type": "conv" if is_conv(module) else "dense"}
                self.layer_info[name] = entry
                owner = (name, entry)
                continue
            kind = activation_kind(module)
            if kind is None:
                continue
            # an activation reports under the conv/dense layer that feeds it (the name a user wrote),
            # unless that layer already has one (then under its own module name)
            if owner is not None and "act" not in owner[1]:
                key = owner[0]
                owner[1]["act"] = kind
            else:
                key = name
                self.layer_info[key] = {"type": "activation", "act": kind}
            self.activations.append((key, kind, module))
        self.every = max(1, math.ceil(trainer.steps_per_epoch / self.max_grad_steps))
        # statistics read at most a quarter of the training set's size per epoch (and at most
        # max_val_samples): on a small dataset the validation pass is not small next to an epoch
        self.samples = min(self.max_val_samples, max(256, len(trainer.y_train) // 4))
        self._first_epoch = True
        self._reset(trainer)

    def _reset(self, trainer: Trainer) -> None:
        device = next((p.device for p in self.module.parameters()), trainer.device)
        self._grad_sum = torch.zeros(len(self.weights), device=device)
        self._grad_steps = 0
        self._stats = {}

    # -- gradients -----------------------------------------------------------------------------

    def on_after_backward(self, trainer: Trainer, step: int) -> None:
        local = step % trainer.steps_per_epoch
        if local % self.every == 0 and self.weights:
            grads = [m.weight.grad if m.weight.grad is not None else torch.zeros_like(m.weight)
                     for _, m in self.weights]
            with torch.no_grad():
                norms = torch._foreach_norm([g.detach().float() for g in grads])  # one fused launch
                self._grad_sum += torch.stack(norms)
            self._grad_steps += 1
        if local == trainer.steps_per_epoch - 1 and self.piggyback:
            self._arm()  # the next forwards are this epoch's validation pass

    # -- activations ---------------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._stats = {}
        for key, kind, module in self.activations:
            stats = self._stats[key] = _ActivationStats(kind, max_samples=self.samples, pre=self._first_epoch)
            self._hooks.append(module.register_forward_hook(stats))

    def _disarm(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def _own_pass(self, trainer: Trainer) -> None:
        x = trainer.x_val[: self.samples]  # (N, C, ...) on the device
        self._arm()
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(x), trainer.cfg.eval_batch_size):
                    self.module(x[start:start + trainer.cfg.eval_batch_size])
        finally:
            self.module.train(was_training)
            self._disarm()

    # -- the epoch's summary -------------------------------------------------------------------

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self._disarm()
        seen = any(s.sums for s in self._stats.values())
        if self.activations and not seen and len(trainer.x_val):
            self._own_pass(trainer)
        layers = {name: dict(info) for name, info in self.layer_info.items()}
        if self._grad_steps:
            means = (self._grad_sum / self._grad_steps).tolist()
            for (name, _), value in zip(self.weights, means, strict=True):
                layers[name]["grad_norm"] = value
        for key, stats in self._stats.items():
            summary = stats.summary()
            if summary:
                layers[key].update(summary)
        trainer.health = {"grad_steps": self._grad_steps, "layers": layers}
        self._first_epoch = False
        self._reset(trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        self._disarm()


__all__ = ["HealthMonitor", "activation_kind", "layer_root", "weight_layers"]
