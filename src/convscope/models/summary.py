"""What a network costs and sees, layer by layer: output shape, parameters, MACs, activation memory and
receptive field — Keras' ``model.summary()`` plus CS231n's memory accounting of a training step.

Conventions:

- Parameters are ``model.parameters()``: a batchnorm has 2 per channel. Keras also lists its running mean and
  variance as "non-trainable params"; here they are buffers, so a Keras total with batchnorm is higher.
- MACs are multiply-accumulates for *one* sample (the number papers quote): a conv costs
  ``output elements x (in_channels / groups) x kernel cells``, a dense ``in x out``; batchnorm, pooling,
  activations and bias additions count 0. Each module class's rule is registered with it
  (:mod:`convscope.models.module_traits`), as is its receptive-field step.
- Activation memory is float32, for the whole batch: the input, every layer's output and, inside a block,
  every output of its modules (the tensors kept for the backward pass).
- One training step (Adam) = activations + parameters + their gradients + Adam's two moment buffers,
  all float32: ``activations + 4 * params + 4 * 3 * trainable``.
- Receptive field and jump (stride in input samples) follow the main path, with
  ``r_out = r_in + (k - 1) * dilation * j_in`` and ``j_out = j_in * stride`` (Dumoulin & Visin; Araujo et
  al., Distill 2019); a block contributes its widest path. After a flatten, dense or global pool every unit
  sees the whole input and the columns show ``-``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from convscope.models.build import ConvNet
from convscope.models.checks import Shape
from convscope.models.module_traits import macs_of, receptive_steps

FLOAT32 = 4


@dataclass(frozen=True)
class LayerRow:
    """One layer of a :class:`Summary`; shapes exclude the batch dimension.

    Args:
        name: the layer's name in the network (``conv1``), or ``input``.
        type: its module class (``Conv2d``, ``Inception`` ...).
        output_shape: one sample's output.
        params: its parameters, inner modules included.
        trainable_params: those with ``requires_grad``.
        macs: multiply-accumulates for one sample.
        activation_bytes: float32 memory of the tensors it creates, for the summary's batch.
        receptive_field: input samples one output unit sees, per spatial dim (``None`` past a flatten/GAP).
        jump: input samples between neighbouring output units, per spatial dim.
    """

    name: str
    type: str
    output_shape: Shape
    params: int
    trainable_params: int
    macs: int
    activation_bytes: int
    receptive_field: Shape | None
    jump: Shape | None


@dataclass(frozen=True)
class Summary:
    """A network's per-layer table and totals; print it, or take ``to_dict()``.

    Args:
        rows: the ``input`` row, then one row per layer.
        input_shape: one sample's shape.
        batch_size: the batch the memory columns are computed for.
        final_activation: the softmax/sigmoid the network leaves to the loss, if any.

    Example:
        >>> from convscope.models import build_model
        >>> s = summary(build_model({"preset": "keras-mnist-cnn"}), batch_size=128)
        >>> s.params, s.rows[5].name, s.rows[5].receptive_field
        (126490, 'maxpool1', (8, 8))
    """

    rows: list[LayerRow]
    input_shape: Shape
    batch_size: int = 1
    final_activation: str | None = None

    @property
    def params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(row.trainable_params for row in self.rows)

    @property
    def macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(row.activation_bytes for row in self.rows)

    @property
    def param_bytes(self) -> int:
        return FLOAT32 * self.params

    @property
    def training_step_bytes(self) -> int:
        """Activations + parameters + gradients + Adam's first and second moments, float32."""
        return self.activation_bytes + self.param_bytes + FLOAT32 * 3 * self.trainable_params

    def table(self) -> Table:
        """A rich table: one row per layer, totals in the footer and the caption."""
        table = Table(title=f"input {_shape(self.input_shape)}, batch {self.batch_size}", show_footer=True)
        table.add_column("Layer", footer="Total")
        table.add_column("Type")
        table.add_column("Output shape")
        table.add_column("Params", justify="right", footer=f"{self.params:,}")
        table.add_column("MACs", justify="right", footer=f"{self.macs:,}")
        table.add_column("Activations", justify="right", footer=_bytes(self.activation_bytes))
        table.add_column("RF", justify="right")
        table.add_column("Jump", justify="right")
        for row in self.rows:
            table.add_row(row.name, row.type, _shape(row.output_shape), f"{row.params:,}", f"{row.macs:,}",
                          _bytes(row.activation_bytes), _dims(row.receptive_field), _dims(row.jump))
        notes = [f"trainable params {self.trainable_params:,}",
                 f"one training step (Adam, float32, batch {self.batch_size}): {_bytes(self.training_step_bytes)}"]
        if self.final_activation:
            notes.append(f"final {self.final_activation} applied by the loss and predict_proba, not by forward")
        table.caption = " · ".join(notes)
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "batch_size": self.batch_size,
            "final_activation": self.final_activation,
            "rows": [{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(row).items()} for row in self.rows],
            "totals": {"params": self.params, "trainable_params": self.trainable_params, "macs": self.macs,
                       "activation_bytes": self.activation_bytes, "param_bytes": self.param_bytes,
                       "training_step_bytes": self.training_step_bytes},
        }

    def __str__(self) -> str:
        console = Console(file=io.StringIO(), width=120, color_system=None)
        console.print(self.table())
        return console.file.getvalue()


def summary(model: nn.Module, input_shape: Sequence[int] | None = None, *, batch_size: int = 1) -> Summary:
    """Summarise ``model`` by running one zero sample through it (eval mode, no gradients; nothing changes).

    Args:
        model: a :class:`~convscope.models.ConvNet` (one row per named layer), an ``nn.Sequential`` (one row per
            child) or any module (one row).
        input_shape: one sample's shape; taken from a ConvNet when omitted.
        batch_size: the batch the activation and training-step memory are computed for.

    Example:
        >>> from convscope.models import build_model
        >>> net = build_model([{"dilated": {"filters": 8, "kernel": 3, "layers": 4}}], (1, 100))
        >>> summary(net).rows[-1].receptive_field
        (31,)
    """
    shape = tuple(input_shape) if input_shape is not None else getattr(model, "input_shape", None)
    if shape is None:
        raise ValueError("summary needs input_shape for a module that is not a ConvNet, e.g. (1, 28, 28)")
    if isinstance(model, ConvNet):
        top = list(model.layers.named_children())
    elif isinstance(model, nn.Sequential):
        top = list(model.named_children())
    else:
        top = [(type(model).__name__.lower(), model)]
    inputs, outputs = _trace(model, top, shape)

    rank = len(shape) - 1 if len(shape) in (2, 3) else 0
    rf: Shape | None = (1,) * rank if rank else None
    jump: Shape | None = (1,) * rank if rank else None
    rows = [LayerRow("input", "Input", shape, 0, 0, 0, FLOAT32 * batch_size * math.prod(shape), rf, jump)]
    for name, layer in top:
        if rf is not None and jump is not None:
            path = receptive_steps(layer, rank)
            if path is None:
                rf = jump = None
            else:
                for kernel, stride, dilation in path:
                    rf = tuple(r + (k - 1) * d * j for r, k, d, j in zip(rf, kernel, dilation, jump, strict=True))
                    jump = tuple(j * s for j, s in zip(jump, stride, strict=True))
        rows.append(LayerRow(
            name=name, type=type(layer).__name__, output_shape=tuple(outputs[layer].shape[1:]),
            params=sum(p.numel() for p in layer.parameters()),
            trainable_params=sum(p.numel() for p in layer.parameters() if p.requires_grad),
            macs=sum(macs_of(m, outputs[m]) for m in layer.modules() if m in outputs),
            activation_bytes=FLOAT32 * batch_size * _activation_elements(layer, inputs[layer], outputs),
            receptive_field=rf, jump=jump))
    return Summary(rows, shape, batch_size, getattr(model, "final_activation", None))


def _trace(model: nn.Module, top: list[tuple[str, nn.Module]],
           shape: Shape) -> tuple[dict[nn.Module, torch.Tensor], dict[nn.Module, torch.Tensor]]:
    """Every module's first input and output on one zero sample (kept alive, so tensor identity is meaningful)."""
    inputs: dict[nn.Module, torch.Tensor] = {}
    outputs: dict[nn.Module, torch.Tensor] = {}

    def record(module: nn.Module, args: tuple, out: Any) -> None:
        if isinstance(out, torch.Tensor) and module not in outputs:
            inputs[module] = args[0] if args else None
            outputs[module] = out

    hooks = [m.register_forward_hook(record) for _, layer in top for m in layer.modules()]
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape, device=device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(training)
    return inputs, outputs


def _activation_elements(layer: nn.Module, given: torch.Tensor, outputs: dict[nn.Module, torch.Tensor]) -> int:
    """Elements of a layer's output plus, inside a block, of the distinct tensors its modules output
    (an identity shortcut hands its input on and adds nothing)."""
    inner = [outputs[m] for m in layer.modules() if m is not layer and not any(m.children()) and m in outputs]
    distinct = {id(t): t for t in inner if t is not given}
    distinct[id(outputs[layer])] = outputs[layer]
    return sum(t.numel() for t in distinct.values())


def _shape(shape: Shape) -> str:
    return str(tuple(shape))


def _dims(values: Shape | None) -> str:
    if values is None:
        return "-"
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _bytes(n: int) -> str:
    value, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB"):  # noqa: B007  (the loop leaves unit at the right size)
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{value:,.0f} B" if unit == "B" else f"{value:,.1f} {unit}"
