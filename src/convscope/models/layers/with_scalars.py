"""``with_scalars``: a signal network plus extra scalar inputs joined before its dense head.

Some inputs are not signal: a heartbeat's RR intervals (the time to the previous and the next beat)
carry most of what tells a premature supraventricular beat from a normal one (de Chazal et al. 2004),
and a convolution over a 0.8 s beat cannot see them. A data source appends such scalars as the last
``scalars`` values of lead 0 (``ecg-wfdb`` with ``rr_features: true``: 7 of them); this block runs its
``layers`` on the signal without them and joins them to the flat features:

```yaml
model:
  layers:
    - with_scalars:
        scalars: 7                     # the source's note says how many
        layers: [{conv: {filters: 16, kernel: 7}}, {maxpool: 2}, global_avg_pool]
    - dense: {units: 32, activation: relu}
    - dense: {units: 5, activation: softmax}
```

Packing the scalars into the sample keeps one input tensor, so training, evaluation, prediction and
export need no second input. ``channels: N`` runs ``layers`` on the first N channels only: the other
channels then reach the model only through scalars computed from them (e.g. a second lead's
``beat_features``).

Example:
    >>> import torch
    >>> from convscope.models import build_model
    >>> net = build_model([{"with_scalars": {"scalars": 3, "layers": [{"conv": {"filters": 4, "kernel": 5}},
    ...                    "global_avg_pool"]}}, {"dense": 2}], (1, 103))
    >>> net(torch.zeros(8, 1, 103)).shape  # (N, 1, 100 samples + 3 scalars) -> (N, 4 features + 3) -> (N, 2)
    torch.Size([8, 2])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convscope.errors import BuildError
from convscope.models.checks import Shape, positive_int
from convscope.models.module_traits import register_module
from convscope.models.vocabulary import REQUIRED, register


# No as_image trait: the speed rewrites that run a signal as a 1-pixel image leave a model with this block
# alone (its slicing of the last axis is what tells signal from scalars). Its children give the receptive
# field and MACs.
@register_module()
class SignalWithScalars(nn.Module):
    """``body`` on ``x[..., :-k]``, its flat output joined with the ``k`` scalars ``x[:, 0, -k:]``.

    Args:
        body: the signal network; must output ``(N, F)``.
        scalars: how many values at the end of lead 0 are scalars, not signal.
        channels: how many of the first channels ``body`` reads; None: all.
    """

    def __init__(self, body: nn.Module, scalars: int, channels: int | None = None) -> None:
        super().__init__()
        self.body = body
        self.scalars = scalars
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L + k)
        signal, scalars = x[:, :self.channels, :-self.scalars], x[:, 0, -self.scalars:]  # (N, C', L), (N, k)
        return torch.cat([self.body(signal), scalars], dim=1)  # (N, F + k)

    def extra_repr(self) -> str:
        return f"scalars={self.scalars}" + (f", channels={self.channels}" if self.channels is not None else "")


@register("with_scalars", args={"scalars": REQUIRED, "layers": REQUIRED, "channels": None},
          example="- with_scalars: {scalars: 7, layers: [{conv: {filters: 16, kernel: 7}}, global_avg_pool]}")
def build_with_scalars(args: dict[str, Any], shape: Shape) -> tuple[nn.Module, Shape]:
    from convscope.models.build import build_model  # the body is a network of its own words

    k = positive_int(args["scalars"], "with_scalars.scalars")
    if len(shape) != 2 or shape[1] <= k:
        raise BuildError(f"with_scalars: input {tuple(shape)} is not a signal (C, L) longer than its {k} scalars",
                         hint="use it first in a 1D model on a source with scalars (e.g. rr_features: true)")
    if not isinstance(args["layers"], list) or not args["layers"]:
        raise BuildError("with_scalars.layers: give the signal layers as a list",
                         hint="e.g. layers: [{conv: {filters: 16, kernel: 7}}, global_avg_pool]")
    channels = None if args["channels"] is None else positive_int(args["channels"], "with_scalars.channels")
    if channels is not None and channels > shape[0]:
        raise BuildError(f"with_scalars.channels: {channels} channels asked of an input with {shape[0]}",
                         hint=f"use channels <= {shape[0]}, or leave it out to read every channel")
    body = build_model(args["layers"], (shape[0] if channels is None else channels, shape[1] - k))
    if len(body.output_shape) != 1 or body.final_activation is not None:
        raise BuildError(f"with_scalars.layers: the signal layers end in {tuple(body.output_shape)}, not flat features",
                         hint="end them with global_avg_pool or flatten; the dense head comes after the block")
    return SignalWithScalars(body.layers, k, channels), (body.output_shape[0] + k,)
