"""Batch augmentation: each transform does what it says per sample, repeatably, and bad specs are named."""

from __future__ import annotations

import pytest
import torch

from convscope.data import build_augment
from convscope.errors import ConfigError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference: translate a (C, H, W) image by (dy, dx) with zero fill, one sample at a time."""
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[:, max(-dy, 0):h - max(dy, 0),
                                                                       max(-dx, 0):w - max(dx, 0)]
    return out


def test_shift_is_an_integer_translation_with_zero_fill():
    x = torch.rand(32, 2, 9, 7)
    before = x.clone()
    out = build_augment({"shift": 2}, rank=3)(x, gen())
    assert torch.equal(x, before)  # the input batch is left alone
    seen = set()
    for i in range(32):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(out[i], shifted(x[i], dy, dx))]
        assert matches, f"sample {i} is not a translation by at most 2 pixels"
        seen.add(matches[0])
    assert len(seen) > 5  # offsets vary per sample
    assert torch.equal(out, build_augment({"shift": 2}, rank=3)(x, gen()))  # same generator state, same batch


def test_rotate_keeps_a_centred_disc_on_a_non_square_image():
    h, w = 21, 41
    yy, xx = torch.meshgrid(torch.arange(h) - h // 2, torch.arange(w) - w // 2, indexing="ij")
    disc = ((yy**2 + xx**2) <= 49).float()[None, None].repeat(16, 1, 1, 1)  # (16, 1, 21, 41)
    out = build_augment({"rotate": 30}, rank=3)(disc, gen())
    assert out.shape == disc.shape
    # a rotation (not a shear) maps the disc to itself up to interpolation at its rim
    assert (out - disc).abs().mean() < 0.02
    bar = torch.zeros(16, 1, 21, 41)
    bar[:, :, 10, 5:36] = 1
    rotated = build_augment({"rotate": 30}, rank=3)(bar, gen())
    assert (rotated - bar).abs().sum() > 1  # but a line does turn


def test_flip_mirrors_about_half_the_samples():
    x = torch.rand(64, 3, 4, 5)
    out = build_augment({"flip": True}, rank=3)(x, gen())
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(64)]
    kept = [torch.equal(out[i], x[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True))
    assert 16 < sum(flipped) < 48
    assert build_augment({"flip": False, "shift": 0}, rank=3) is None


@pytest.mark.parametrize(("amount", "limit"), [(0.1, 5), (3, 3)])
def test_time_shift_rolls_circularly_within_the_limit(amount, limit):
    x = torch.randn(40, 2, 50)
    out = build_augment({"time_shift": amount}, rank=2)(x, gen())
    shifts = set()
    for i in range(40):
        s = [k for k in range(-limit, limit + 1) if torch.equal(out[i], torch.roll(x[i], k, dims=-1))]
        assert s, f"sample {i} is not a circular shift within {limit}"
        shifts.add(s[0])
    assert len(shifts) > 2


def test_scale_noise_and_baseline_wander():
    x = torch.randn(200, 1, 100)
    out = build_augment({"scale": [0.5, 2.0]}, rank=2)(x, gen())
    gain = (out / x)[:, 0, 0]
    assert torch.allclose(out, x * gain[:, None, None], atol=1e-6)
    assert gain.min() >= 0.5 and gain.max() <= 2.0 and gain.std() > 0.2

    zeros = torch.zeros(200, 2, 500)
    noise = build_augment({"noise": 0.3}, rank=2)(zeros, gen())
    assert abs(noise.std().item() - 0.3) < 0.01 and abs(noise.mean().item()) < 0.01

    wander = build_augment({"baseline_wander": 0.5}, rank=2)(zeros, gen())
    assert wander.abs().max() <= 0.5 + 1e-6 and wander.abs().max() > 0.3
    # slow: at most ~2 cycles per window, so neighbouring samples barely differ
    assert (wander[..., 1:] - wander[..., :-1]).abs().max() < 2 * torch.pi * 2 * 0.5 / 500 + 1e-4


def test_fixed_order_regardless_of_spec_order():
    x = torch.randn(8, 1, 64)
    a = build_augment({"noise": 0.1, "scale": [0.9, 1.1]}, rank=2)(x, gen(5))
    b = build_augment({"scale": [0.9, 1.1], "noise": 0.1}, rank=2)(x, gen(5))
    assert torch.equal(a, b)


def test_bad_specs_are_config_errors():
    assert build_augment(None, rank=3) is None and build_augment({}, rank=2) is None
    with pytest.raises(ConfigError, match="data.augment.shfit: unknown transform") as exc:
        build_augment({"shfit": 2}, rank=3)
    assert "did you mean 'shift'" in exc.value.hint
    with pytest.raises(ConfigError, match=r"data.augment.rotate: applies to images \(C, H, W\), but this data is "
                                          r"signals"):
        build_augment({"rotate": 5}, rank=2)
    with pytest.raises(ConfigError, match="data.augment.shift: expected a whole number of pixels"):
        build_augment({"shift": 1.5}, rank=3)
    with pytest.raises(ConfigError, match=r"data.augment.scale: expected \[lo, hi\]"):
        build_augment({"scale": 1.2}, rank=2)
    with pytest.raises(ConfigError, match="data.augment.time_shift: expected a fraction"):
        build_augment({"time_shift": 1.5}, rank=2)
    with pytest.raises(ConfigError, match="samples of rank 4 cannot be augmented"):
        build_augment({"noise": 0.1}, rank=4)


def test_packed_scalars_pass_through_every_signal_transform():
    x = torch.randn(16, 2, 100 + 5)  # (N, C, L + 5 scalars)
    spec = {"time_shift": 0.4, "scale": [0.5, 2.0], "noise": 0.3, "baseline_wander": 0.2}
    out = build_augment(spec, rank=2, scalars=5)(x, gen())
    assert out.shape == x.shape and torch.equal(out[..., -5:], x[..., -5:])
    assert torch.equal(out[..., :-5], build_augment(spec, rank=2)(x[..., :-5], gen()))  # the same draws on the signal
