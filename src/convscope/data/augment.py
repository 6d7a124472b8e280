"""Train-time augmentation of whole batches, on the batch's device, with no per-sample Python.

``data.augment`` in a config names the transforms; :func:`build_augment` turns it into one
``(x, generator) -> x`` function that the trainer applies to each training batch (never to
validation or test data). Every random draw comes from the trainer's seeded generator, so a rerun
with the same seed sees the same augmented batches.

Images, ``(N, C, H, W)``:
    ``shift: N``       translate each image by a random whole number of pixels in -N..N along each
                       axis, filling with zeros (Nielsen's network3 expands MNIST with 1-pixel shifts)
    ``rotate: deg``    rotate by a random angle in -deg..deg (bilinear, zero fill)
    ``flip: true``     mirror left-right with probability 1/2 (not for digits: a flipped 7 is no 7)
Signals, ``(N, C, L)``:
    ``time_shift: f``  roll each signal circularly by up to ``f`` of its length (``f`` < 1) or up to
                       ``f`` samples (an integer). Circular rather than zero fill: an ECG window
                       stays a plausible recording, while a flat zero stretch looks like lead-off.
    ``scale: [lo, hi]`` multiply each signal by a random gain in lo..hi
    ``noise: std``     add Gaussian noise of this standard deviation
    ``baseline_wander: a``  add a slow sinusoid (0.2-2 cycles per window, random phase, amplitude
                       up to ``a``) per channel: the breathing/electrode drift real ECGs have

Transforms run in a fixed order (geometry first, additive noise last) whatever the order written.

Example:
    >>> aug = build_augment({"shift": 2, "rotate": 10}, rank=3)
    >>> aug(torch.zeros(4, 1, 28, 28), torch.Generator().manual_seed(0)).shape
    torch.Size([4, 1, 28, 28])
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from convscope.errors import ConfigError

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

IMAGE_KEYS = ("rotate", "shift", "flip")  # application order
SIGNAL_KEYS = ("time_shift", "scale", "baseline_wander", "noise")


def _rand(gen: torch.Generator, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) draws from ``gen`` (which lives on its own device), moved to the batch's device."""
    return torch.rand(shape, generator=gen, device=gen.device).to(device=like.device, dtype=like.dtype)


def _randint(gen: torch.Generator, high: int, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """Integers in -high..high."""
    return torch.randint(-high, high + 1, shape, generator=gen, device=gen.device).to(like.device)


# ---------------------------------------------------------------------------------------------
# Images (N, C, H, W)


def _shift(pixels: int) -> Augment:
    def shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, c, h, w = x.shape
        dy = _randint(gen, pixels, (n, 1), x)  # (N, 1)
        dx = _randint(gen, pixels, (n, 1), x)  # (N, 1)
        padded = F.pad(x, (pixels, pixels, pixels, pixels))  # (N, C, H+2p, W+2p), zeros around
        # out[i, j] = x[i - dy, j - dx]: gather rows, then columns, at per-sample offsets
        rows = torch.arange(h, device=x.device) + pixels - dy  # (N, H)
        cols = torch.arange(w, device=x.device) + pixels - dx  # (N, W)
        out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * pixels))  # (N, C, H, W+2p)
        return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))  # (N, C, H, W)

    return shift


def _rotate(degrees: float) -> Augment:
    def rotate(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        angle = (2 * _rand(gen, (n,), x) - 1) * math.radians(degrees)  # (N,)
        cos, sin = torch.cos(angle), torch.sin(angle)
        zero = torch.zeros_like(cos)
        # affine_grid works in [-1, 1] coordinates per axis; the H/W factors keep a rotation of a
        # non-square image a rotation (not a shear)
        theta = torch.stack([torch.stack([cos, -sin * h / w, zero], 1),
                             torch.stack([sin * w / h, cos, zero], 1)], 1)  # (N, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    return rotate


def _flip(enabled: bool) -> Augment | None:
    def flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        mask = _rand(gen, (len(x),), x) < 0.5  # (N,)
        return torch.where(mask[:, None, None, None], x.flip(-1), x)

    return flip if enabled else None


# ---------------------------------------------------------------------------------------------
# Signals (N, C, L)


def _time_shift(amount: float | int) -> Augment:
    def time_shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, c, length = x.shape
        limit = round(amount * length) if isinstance(amount, float) else min(int(amount), length)
        s = _randint(gen, limit, (n, 1), x)  # (N, 1)
        index = (torch.arange(length, device=x.device) - s) % length  # (N, L): out[t] = x[t - s], wrapping
        return x.gather(2, index[:, None, :].expand(n, c, length))  # (N, C, L)

    return time_shift


def _scale(bounds: tuple[float, float]) -> Augment:
    lo, hi = bounds

    def scale(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        gain = lo + (hi - lo) * _rand(gen, (len(x), 1, 1), x)  # (N, 1, 1)
        return x * gain

    return scale


def _noise(std: float) -> Augment:
    def noise(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return x + std * torch.randn(x.shape, generator=gen, device=gen.device).to(device=x.device, dtype=x.dtype)

    return noise


def _baseline_wander(amplitude: float) -> Augment:
    def wander(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, c, length = x.shape
        amp = amplitude * _rand(gen, (n, c, 1), x)  # (N, C, 1)
        cycles = 0.2 + 1.8 * _rand(gen, (n, c, 1), x)  # (N, C, 1) cycles per window: below ECG's beat rate
        phase = 2 * math.pi * _rand(gen, (n, c, 1), x)  # (N, C, 1)
        t = torch.arange(length, device=x.device, dtype=x.dtype) / length  # (L,) in [0, 1)
        return x + amp * torch.sin(2 * math.pi * cycles * t + phase)  # (N, C, L)

    return wander


# ---------------------------------------------------------------------------------------------
# Spec -> function


def _bad(key: str, value: Any, expected: str, example: str) -> ConfigError:
    return ConfigError(f"data.augment.{key}: expected {expected}, got {value!r}", hint=f"e.g. {key}: {example}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _make(key: str, value: Any) -> Augment | None:
    if key == "shift":
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise _bad(key, value, "a whole number of pixels >= 0", "2")
        return _shift(value) if value else None
    if key == "rotate":
        if not (_is_number(value) and 0 <= value <= 180):
            raise _bad(key, value, "a maximum angle in degrees (0..180)", "10")
        return _rotate(float(value)) if value else None
    if key == "flip":
        if not isinstance(value, bool):
            raise _bad(key, value, "true or false", "true")
        return _flip(value)
    if key == "time_shift":
        if isinstance(value, float) and 0 <= value < 1:
            return _time_shift(value) if value else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return _time_shift(value) if value else None
        raise _bad(key, value, "a fraction of the length (< 1) or a whole number of samples", "0.1")
    if key == "scale":
        if not (isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value))
                and 0 <= value[0] <= value[1]):
            raise _bad(key, value, "[lo, hi] gains with 0 <= lo <= hi", "[0.8, 1.2]")
        return _scale((float(value[0]), float(value[1])))
    if key == "noise":
        if not (_is_number(value) and value >= 0):
            raise _bad(key, value, "a standard deviation >= 0", "0.05")
        return _noise(float(value)) if value else None
    if not (_is_number(value) and value >= 0):  # baseline_wander
        raise _bad(key, value, "an amplitude >= 0 (in the signal's units)", "0.1")
    return _baseline_wander(float(value)) if value else None


def build_augment(spec: dict[str, Any] | None, *, rank: int, scalars: int = 0) -> Augment | None:
    """Compile ``data.augment`` into one batch transform, or None when there is nothing to do.

    Args:
        spec: the config's ``data.augment`` mapping (transform name -> setting).
        rank: the rank of one sample: 3 for images ``(C, H, W)``, 2 for signals ``(C, L)``.
        scalars: how many values at the end of each signal are packed scalars, not signal (an
            ``ecg-wfdb`` source's RR and beat features, read by ``with_scalars``): the transforms
            see ``x[..., :-scalars]`` only and the scalars pass through unchanged (a time shift
            would roll them into the beat, noise and gain would change how early a beat is).

    Returns:
        ``fn(x, generator) -> x`` for a batch ``(N, *sample)``; it returns a new tensor and leaves
        ``x`` untouched.

    Raises:
        ConfigError: an unknown transform (with a did-you-mean), one for the other kind of data,
            or a setting of the wrong type.
    """
    if not spec:
        return None
    if rank not in (2, 3):
        raise ConfigError(f"data.augment: samples of rank {rank} cannot be augmented",
                          hint="augmentation works on signals (C, L) and images (C, H, W)")
    mine, other = (IMAGE_KEYS, SIGNAL_KEYS) if rank == 3 else (SIGNAL_KEYS, IMAGE_KEYS)
    kind, other_kind = ("images (C, H, W)", "signals (C, L)") if rank == 3 else ("signals (C, L)", "images (C, H, W)")
    for key in spec:
        if key in other:
            raise ConfigError(f"data.augment.{key}: applies to {other_kind}, but this data is {kind}",
                              hint=f"transforms for {kind}: {', '.join(mine)}")
        if key not in mine:
            close = difflib.get_close_matches(key, mine + other, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"data.augment.{key}: unknown transform", hint=f"{hint}for {kind}: {', '.join(mine)}")
    steps = [step for key in mine if key in spec and (step := _make(key, spec[key])) is not None]
    if not steps:
        return None

    def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for step in steps:
            x = step(x, gen)
        return x

    if not scalars:
        return augment

    def augment_signal(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:  # (N, C, L + k)
        return torch.cat([augment(x[..., :-scalars], gen), x[..., -scalars:]], dim=-1)

    return augment_signal
