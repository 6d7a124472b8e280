"""Training health: per-layer gradient norms and activation statistics, one compact summary per epoch.

:class:`HealthMonitor` is a callback. It leaves ``trainer.health`` as a small dict each epoch, which
the run store keeps beside the epoch's metrics and :func:`convscope.inspect.diagnose.diagnose` reads::

    {"grad_steps": 10,
     "layers": {"conv1": {"type": "conv", "act": "relu", "grad_norm": 0.031, "act_mean": 0.21,
                          "act_std": 0.35, "dead_frac": 0.0, "pre_max": 4.2}, ...}}

- ``grad_norm``: L2 norm of the layer's weight gradient, averaged over at most ``max_grad_steps``
  evenly spaced steps of the epoch (summed on the device, read once per epoch: no host sync per step).
- ``act_mean`` / ``act_std``: the activation's output on validation data (eval mode).
- ``dead_frac`` (ReLU): fraction of channels (conv) or units (dense) whose output is zero for every
  validation sample and position -- such a unit passes no gradient and never recovers.
- ``saturated_frac`` (sigmoid/tanh): fraction of outputs within 1% of the range's bounds, where the
  derivative is < 0.04 (sigmoid'(z) < 0.0099, tanh'(z) < 0.04) and the unit all but stops learning.
- ``pre_max``: the largest |input| of the activation (the pre-activation), the "big activations in the
  first epoch" symptom of a badly scaled init or input.

Activation statistics come from the trainer's own validation pass: the forward hooks are armed after
the epoch's last backward, so the next forwards are ``Trainer.evaluate(x_val)``, and are removed at
``on_epoch_end``. That costs a few reductions per activation and no extra forward pass; if no forward
was seen (a trainer that validates differently, or a compiled model) the monitor runs its own pass
over at most ``max_val_samples`` validation samples.

Example:
    >>> from convscope.train.health import HealthMonitor
    >>> trainer = Trainer(model, data, cfg.train, seed=0, callbacks=[HealthMonitor()])  # doctest: +SKIP
    >>> trainer.fit(); trainer.health["layers"]["conv1"]["dead_frac"]                   # doctest: +SKIP
    0.0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

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
WEIGHT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


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
    return [(name, m) for name, m in layer_root(model).named_modules() if isinstance(m, WEIGHT_LAYERS)
            and getattr(m, "weight", None) is not None]


class _ActivationStats:
    """Accumulates one activation module's statistics over the batches of a validation pass (on device)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.total = 0.0
        self.sums: list[torch.Tensor] = []  # per batch: (sum, sum of squares, saturated count, max |pre|)
        self.channel_max: torch.Tensor | None = None  # (C,) max output per channel so far

    def __call__(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        y = output.detach().float()  # (N, C, ...) or (N, F)
        pre = inputs[0].detach().float()
        saturated = torch.zeros((), device=y.device)
        if self.kind in BOUNDS:
            low, high = BOUNDS[self.kind]
            margin = SATURATION_MARGIN * (high - low)
            saturated = ((y <= low + margin) | (y >= high - margin)).sum()
        self.sums.append(torch.stack([y.sum(), (y * y).sum(), saturated.float(), pre.abs().max()]))
        self.total += y.numel()
        if y.dim() >= 2:
            dims = [d for d in range(y.dim()) if d != 1]
            batch_max = y.amax(dim=dims)  # (C,)
            self.channel_max = batch_max if self.channel_max is None else torch.maximum(self.channel_max, batch_max)

    def summary(self) -> dict[str, float] | None:
        if not self.sums:
            return None
        stacked = torch.stack(self.sums)  # (batches, 4)
        total_sum, total_sq, saturated, _ = stacked.sum(dim=0).tolist()
        pre_max = float(stacked[:, 3].max())
        mean = total_sum / self.total
        var = max(total_sq / self.total - mean * mean, 0.0)
        out = {"act_mean": mean, "act_std": math.sqrt(var), "pre_max": pre_max}
        if self.kind == "relu" and self.channel_max is not None:
            out["units"] = len(self.channel_max)
            out["dead_frac"] = float((self.channel_max <= 0).float().mean())
        if self.kind in BOUNDS:
            out["saturated_frac"] = saturated / self.total
        return out


class HealthMonitor(Callback):
    """Record per-layer gradient norms and activation health each epoch into ``trainer.health``.

    Place it before the callback that stores epochs (the API's ``Recorder``) so the summary is saved
    with the epoch it describes.

    Args:
        max_grad_steps: gradient norms are read at most this many (evenly spaced) steps per epoch;
            reading every step would cost a kernel launch per layer per step for no better estimate.
        max_val_samples: size of the fallback validation pass when the trainer's own was not observed.
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
            if isinstance(module, WEIGHT_LAYERS) and getattr(module, "weight", None) is not None:
                entry = {"type": "conv" if isinstance(module, nn.modules.conv._ConvNd) else "dense"}
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
            stats = self._stats[key] = _ActivationStats(kind)
            self._hooks.append(module.register_forward_hook(stats))

    def _disarm(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def _own_pass(self, trainer: Trainer) -> None:
        x = trainer.x_val[: self.max_val_samples]  # (N, C, ...) on the device
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
        self._reset(trainer)

    def on_train_end(self, trainer: Trainer) -> None:
        self._disarm()


__all__ = ["HealthMonitor", "activation_kind", "layer_root", "weight_layers"]
