"""The trainer's fast paths on the CPU: memory layout, bf16, kernel swaps for training and inference, threads.

Each lever is a small function the :class:`~convscope.train.trainer.Trainer` calls at set-up. None changes
what a model computes beyond float rounding (or, for dropout, which units a draw drops), the model the user
built stays as it is (a lever that swaps modules builds a *twin* sharing its parameters, buffers and
activation modules), and ``tests/train/test_fast_paths.py`` holds them to that. What each one gave on the
reference machine, and why the defaults are what they are, is in ``docs/performance.md``:

- **channels_last** (``train.channels_last: auto``): oneDNN's convolution kernels want NHWC. 2D nets
  convert their weights and data once; 1D nets run as 1-pixel-high images (:func:`signals_as_images`),
  where oneDNN's NHWC batchnorm and pooling kernels are several times faster than PyTorch's NCL ones,
  and their single-channel first conv as a matmul over sliding windows (:func:`window_convs`).
- **bf16 autocast** (``train.precision: auto`` picks it for conv nets on AMX / AVX-512 BF16 hardware):
  convolutions and matmuls run in bfloat16 on the CPU's matrix units while weights, optimizer state and
  the loss stay float32. It gains most together with channels_last (oneDNN's bf16 kernels are NHWC).
- **dropout** drawn with ``torch.rand`` instead of the 3x slower ``bernoulli_`` (:func:`fast_dropout`).
- **inference**: batchnorm folded into the conv/dense before it (:func:`fold_batchnorm`), conv+ReLU as one
  oneDNN primitive and max pools as maxima of strided views (:func:`fuse_for_inference`).
- **threads**: ``train.threads`` sets ``torch.set_num_threads``; unset, the process keeps what it has
  (PyTorch's default of one thread per physical core, or what a search worker chose for itself).
- **torch.compile** (``train.compile: true``): opt-in; it costs 10-25 s per model before the first step,
  which short runs and search trials never earn back. Its compiled kernels are cached on disk under
  convscope's cache folder, so the next run of the same model skips most of that.

The trainer also creates fused optimizers (one kernel per parameter tensor, see ``make_optimizer``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


# -- hardware ---------------------------------------------------------------------------------


def native_bf16(device: torch.device) -> bool:
    """True when bf16 matmuls and convolutions run on hardware units of ``device``.

    On the CPU that is AMX (Intel Sapphire Rapids and later) or AVX-512 BF16 (Cooper Lake, AMD Zen 4);
    without either, bf16 is emulated and slower than float32. On CUDA, Ampere or newer.
    """
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    cpu = torch.cpu
    return bool(getattr(cpu, "_is_amx_tile_supported", lambda: False)()
                or getattr(cpu, "_is_avx512_bf16_supported", lambda: False)())


def configure_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` when given; otherwise leave the process's setting alone.

    Leaving it alone matters: a search worker sets its own share of the cores before it builds a trainer,
    and PyTorch's default (one thread per physical core) is already right for a lone run.
    Inter-op threads are not touched: eager training runs no inter-op parallel work, and PyTorch
    refuses to change their number once any has started.
    """
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(threads)


# -- memory layout ------------------------------------------------------------------------------


def has_2d_convs(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def use_channels_last(model: nn.Module, setting: bool | Literal["auto"], device: torch.device) -> bool:
    """Whether to run ``model`` in channels_last (NHWC) memory format.

    ``auto``: yes on the CPU for models with 2D convolutions, and for 1D conv models that
    :func:`signals_as_images` can run as images, where oneDNN's NHWC kernels won every model we
    measured (docs/performance.md); on CUDA the answer depends on the GPU and cuDNN, so ``auto`` leaves it
    off. ``true`` forces it wherever it applies; dense-only models have no layout to change.
    """
    applies = has_2d_convs(model) or signals_as_images(model) is not None
    if not applies:
        return False
    if setting == "auto":
        return device.type == "cpu"
    return bool(setting)


def as_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``x`` in channels_last when asked and it is a batch of images (N, C, H, W); otherwise as it is."""
    if channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each optimizer state tensor its parameter's strides (after loading a checkpoint).

    Checkpoints store contiguous tensors, so a resumed channels_last model gets NCHW moment buffers next
    to NHWC parameters. Element-wise optimizers index both by memory offset (fused Adam does), so
    mismatched strides would silently pair the wrong elements.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


# -- 1D models as NHWC images --------------------------------------------------------------------

# Modules that compute the same on (N, C, 1, L) as on (N, C, L): element-wise, or acting on dim 1 or the
# last dim only. A Linear acts on the last dim, so it only ever sees what it saw before, plus a size-1 dim.
SHAPE_AGNOSTIC = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Identity,
                  nn.Dropout, nn.Linear)


def _convertible(module: nn.Module) -> bool:
    from convscope.models.build import ConvNet
    from convscope.models.layers import GlobalAvgPool, GlobalMaxPool

    kind = type(module)
    if kind in (nn.Sequential, ConvNet, GlobalAvgPool, GlobalMaxPool, *SHAPE_AGNOSTIC):
        return True
    if kind is nn.Flatten:
        return module.start_dim == 1 and module.end_dim == -1
    if kind is nn.Conv1d:
        return module.padding_mode == "zeros"
    if kind is nn.MaxPool1d:
        return not module.return_indices
    return kind in (nn.BatchNorm1d, nn.AvgPool1d)


def signals_as_images(model: nn.Module) -> nn.Module | None:
    """A twin of a 1D model that runs its layers as 2D ones on ``(N, C, 1, L)`` in channels_last, or None.

    PyTorch's CPU kernels for 1D convolution, batchnorm and pooling work in ``(N, C, L)`` order, and for
    batchnorm that order is several times slower than the NHWC kernels oneDNN has for 2D (docs/performance.md).
    A signal is an image of height 1, so the twin reshapes the input once and calls each 1D layer's
    weights through its 2D function. It shares every parameter, buffer and activation module with
    ``model`` (gradients, running statistics and hooks land where they always do) and computes the same
    function up to float rounding.

    Only models made of layers known to behave identically are converted (convs with zero padding,
    batchnorm, max/avg pooling, activations, dropout, flatten, dense, global pools, ``nn.Sequential``);
    for anything else (Keras-'same' or causal convs, blocks with their own ``forward``) this returns None.
    """
    modules = list(model.modules())
    if not any(type(m) is nn.Conv1d for m in modules) or not all(_convertible(m) for m in modules):
        return None
    return _AsImages(_twin_2d(model))


class _AsImages(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, L)
        out = self.body(x.unsqueeze(2).contiguous(memory_format=torch.channels_last))  # (N, C, 1, L) in
        return out.squeeze(2) if out.dim() == 4 else out  # (N, K) after a global pool or flatten


def _twin_2d(module: nn.Module) -> nn.Module:
    kind = type(module)
    if kind is nn.Conv1d:
        return _Conv1dAs2d(module)
    if kind is nn.BatchNorm1d:
        return _BatchNorm1dAs2d(module)
    if kind in (nn.MaxPool1d, nn.AvgPool1d):
        return _Pool1dAs2d(module)
    if not module._modules:
        return module  # shape-agnostic leaf: shared, hooks included
    twin = copy.copy(module)
    twin.__dict__["_modules"] = {name: _twin_2d(child) for name, child in module._modules.items()}
    return twin


class _Conv1dAs2d(nn.Module):
    """A Conv1d's own weights as a ``(1, k)`` Conv2d; gradients flow to ``conv.weight`` through a view."""

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        self.__dict__["conv"] = conv  # not a submodule: the twin must not own (or re-register) shared layers
        padding = conv.padding if isinstance(conv.padding, str) else (0, conv.padding[0])
        self.args = dict(stride=(1, conv.stride[0]), padding=padding, dilation=(1, conv.dilation[0]),
                         groups=conv.groups)

    @property
    def weight(self) -> torch.Tensor:
        return self.conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)  # (C', C, 1, k)

    @property
    def bias(self) -> torch.Tensor | None:
        return self.conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, 1, L)
        return F.conv2d(x, self.weight, self.bias, **self.args)  # (N, C', 1, L')


class _BatchNorm1dAs2d(nn.Module):
    """``nn.BatchNorm1d.forward`` on ``(N, C, 1, L)``: the same statistics, buffers and momentum rule."""

    def __init__(self, norm: nn.BatchNorm1d) -> None:
        super().__init__()
        self.__dict__["norm"] = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.norm
        momentum = 0.0 if bn.momentum is None else bn.momentum
        if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
            bn.num_batches_tracked.add_(1)
            momentum = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        use_batch_stats = bn.training or bn.running_mean is None
        keep_running = not bn.training or bn.track_running_stats
        return F.batch_norm(x, bn.running_mean if keep_running else None, bn.running_var if keep_running else None,
                            bn.weight, bn.bias, use_batch_stats, momentum, bn.eps)


class _Pool1dAs2d(nn.Module):
    def __init__(self, pool: nn.MaxPool1d | nn.AvgPool1d) -> None:
        super().__init__()
        first = lambda v: v[0] if isinstance(v, tuple) else v  # noqa: E731
        self.args: dict = dict(kernel_size=(1, first(pool.kernel_size)), stride=(1, first(pool.stride)),
                               padding=(0, first(pool.padding)), ceil_mode=pool.ceil_mode)
        if isinstance(pool, nn.MaxPool1d):
            self.fn = F.max_pool2d
            self.args["dilation"] = (1, first(pool.dilation))
        else:
            self.fn = F.avg_pool2d
            self.args["count_include_pad"] = pool.count_include_pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, **self.args)


# -- single-channel convs as matmuls ----------------------------------------------------------------


def window_convs(model: nn.Module) -> nn.Module:
    """A twin of ``model`` (run by :func:`signals_as_images`) whose 1D convs over one input channel are matmuls.

    The first conv of a one-lead signal net reduces over only ``k`` numbers per output; oneDNN's direct
    kernels vectorise over input channels and run it at 3-4 GFLOP/s, slower than the rest of the net
    together. Copying the sliding windows once (im2col: ``(N * L', k)``, small next to the output) and
    multiplying by the ``(k, C')`` weight writes the output directly in NHWC order: 1.5x the whole 1D
    net's training and inference throughput (docs/performance.md). 2D single-channel convs (MNIST's first
    layer) measured slower this way, so they stay oneDNN convs. Needs stride, zero padding, no dilation or
    groups; shares parameters and everything else.
    """
    return _swap(model, lambda m: _WindowConv(m) if _window_convertible(m) else None)


def _window_convertible(conv: nn.Module) -> bool:
    if type(conv) is not _Conv1dAs2d or _has_hooks(conv):
        return False
    base, args = conv.conv, conv.args
    return (base.in_channels == 1 and args["groups"] == 1 and not isinstance(args["padding"], str)
            and all(d == 1 for d in args["dilation"]) and base.weight.device.type == "cpu")


def _swap(module: nn.Module, replace: Callable[[nn.Module], nn.Module | None]) -> nn.Module:
    """A twin of ``module`` with each descendant ``m`` for which ``replace(m)`` is not None swapped for it."""
    swapped = {}
    for name, child in module._modules.items():
        new = replace(child) if child is not None else None
        swapped[name] = new if new is not None else (_swap(child, replace) if child is not None else None)
    if all(swapped[name] is child for name, child in module._modules.items()):
        return module
    twin = copy.copy(module)
    twin.__dict__["_modules"] = swapped
    return twin


class _WindowConv(nn.Module):
    """A one-input-channel conv as ``windows @ weight``; with ``relu``, one oneDNN matmul with a ReLU post-op."""

    def __init__(self, conv: _Conv1dAs2d, *, relu: bool = False) -> None:
        super().__init__()
        base = conv.conv
        self.__dict__["base"] = base  # the Conv1d holding the parameters (shared, not owned)
        self.kernel = (1, base.kernel_size[0])
        self.stride, self.padding = tuple(conv.args["stride"]), tuple(conv.args["padding"])
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, H, W)
        weight, bias = self.base.weight.reshape(self.base.out_channels, -1), self.base.bias  # (C', kh * kw)
        if torch.is_autocast_enabled("cpu"):  # copy the windows in the matmul's dtype, not float32
            x = x.to(torch.get_autocast_dtype("cpu"))
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph))
        windows = x.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, 1, H', W', kh, kw), a view
        n, _, h, w = windows.shape[:4]
        cols = windows.reshape(n * h * w, kh * kw)  # the one copy
        if self.relu:  # inference only (no autograd formula): cast by hand, as autocast would
            weight = weight.to(cols.dtype)
            bias = None if bias is None else bias.to(cols.dtype)
            out = torch.ops.mkldnn._linear_pointwise(cols, weight, bias, "relu", [], "")
        else:
            out = F.linear(cols, weight, bias)  # (N * H' * W', C')
        return out.view(n, h, w, -1).permute(0, 3, 1, 2)  # (N, C', H', W'), NHWC in memory


# -- dropout ---------------------------------------------------------------------------------------------


def fast_dropout(model: nn.Module) -> nn.Module:
    """A twin of ``model`` whose ``nn.Dropout`` layers draw their mask with ``torch.rand`` instead of ``bernoulli_``.

    On the CPU, ``bernoulli_`` draws about 3x slower than ``rand``; in the 32-filter ConvNet the dropout
    after the pool took a fifth of the whole training step. The twin keeps units with the same
    probability ``1 - p`` and scales them by ``1 / (1 - p)`` as ``nn.Dropout`` does, from the same seeded
    global generator (so runs repeat and resume exactly); the draws differ from ``nn.Dropout``'s, as any
    two dropout implementations' do. The original module's ``p`` and train/eval mode are read on each call.
    """
    return _swap(model, lambda m: _FastDropout(m) if type(m) is nn.Dropout and not _has_hooks(m) else None)


class _FastDropout(nn.Module):
    def __init__(self, dropout: nn.Dropout) -> None:
        super().__init__()
        self.__dict__["dropout"] = dropout  # shared: its p and training flag are the user's

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.dropout.p
        if not self.dropout.training or p == 0 or not x.is_floating_point():
            return x
        if p == 1:
            return x * 0.0
        keep = torch.rand(x.shape, device=x.device).ge_(p)  # float32 draws: the rate is exact, not bf16-rounded
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - p))  # grad = grad_out * the same mask


# -- precision ----------------------------------------------------------------------------------


def resolve_precision(setting: str, model: nn.Module, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``train.precision``; ``auto`` picks bf16 for conv nets on a CPU with native bf16.

    Conv nets train 1.6-2.2x faster in bf16 on AMX and reach the same MNIST test accuracy (docs/
    performance.md); dense-only nets are too small for the matrix units and lose time to the casts.
    GPUs are left in float32 under ``auto`` (not measured here); ``precision: bf16`` works there too.
    """
    if setting != "auto":
        return setting
    has_convs = any(isinstance(m, CONVS) for m in model.modules())
    return "bf16" if has_convs and device.type == "cpu" and native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str) -> torch.autocast | None:
    """The autocast context for ``precision`` (``None`` for float32, which needs none)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return None


# -- evaluation: batchnorm folding ---------------------------------------------------------------


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An eval-mode twin of ``model`` in which each conv/dense directly followed by a batchnorm is one layer.

    In eval mode a batchnorm is ``y = (x - mean) / sqrt(var + eps) * gamma + beta``: an affine map per
    channel, which folds into the preceding layer's weights and bias (Jacob et al. 2018, section 3.2), so
    evaluation skips one pass over every normalized activation. Only pairs inside an ``nn.Sequential``
    (how convscope builds ``conv, batchnorm, relu``) are folded; a pair with hooks on it is left alone.

    The twin shares every module it does not fold with ``model`` (so forward hooks on activations, such
    as the health monitor's, still fire) and takes no copy of the rest; ``model`` itself is not changed.
    Fold again after the weights change: the folded layers are snapshots.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
        >>> folded = fold_batchnorm(net)
        >>> type(folded[1]).__name__, folded[2] is net[2]
        ('Identity', True)
        >>> x = torch.randn(2, 1, 8, 8)
        >>> torch.allclose(folded(x), net(x), atol=1e-6)
        True
    """
    if model.training:
        raise ValueError("fold_batchnorm folds running statistics: call model.eval() first")
    if not any(isinstance(m, NORMS) for m in model.modules()):
        return model
    return _fold(model)


def _foldable(layer: nn.Module, norm: nn.Module) -> bool:
    if not isinstance(norm, NORMS) or not norm.track_running_stats or norm.running_mean is None:
        return False
    if _has_hooks(layer) or _has_hooks(norm):
        return False
    if isinstance(layer, CONVS):
        return layer.out_channels == norm.num_features
    return isinstance(layer, nn.Linear) and layer.out_features == norm.num_features


def _has_hooks(module: nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)


def _fold(module: nn.Module) -> nn.Module:
    children = list(module._modules.items())
    if not children:
        return module
    folded: dict[str, nn.Module | None] = {}
    i = 0
    while i < len(children):
        name, child = children[i]
        norm_name, norm = children[i + 1] if i + 1 < len(children) else (None, None)
        if isinstance(module, nn.Sequential) and child is not None and norm is not None and _foldable(child, norm):
            fuse: Callable[..., nn.Module] = fuse_conv_bn_eval if isinstance(child, CONVS) else fuse_linear_bn_eval
            fused = fuse(child, norm)
            _keep_layout(fused, child)
            folded[name] = fused
            folded[norm_name] = nn.Identity()  # same names and positions as the original
            i += 2
            continue
        folded[name] = _fold(child) if child is not None else None
        i += 1
    if all(folded[name] is child for name, child in children):
        return module
    twin = copy.copy(module)  # shallow: parameters, buffers and hooks are shared, only children differ
    twin.__dict__["_modules"] = folded
    return twin


def _keep_layout(fused: nn.Module, original: nn.Module) -> None:
    """Give the folded weight the original's memory format (folding arithmetic returns NCHW)."""
    weight = fused.weight
    if weight.dim() == 4 and original.weight.is_contiguous(memory_format=torch.channels_last):
        fused.weight = nn.Parameter(weight.detach().contiguous(memory_format=torch.channels_last),
                                    requires_grad=False)


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """An inference twin of ``model`` (eval mode, no gradients) with two CPU kernels swapped for faster ones.

    Evaluation on a CPU is memory-bound as much as compute-bound, so both changes save passes over the
    activations (docs/performance.md):

    - a conv directly followed by a ReLU runs as one oneDNN primitive with the ReLU as a
      post-op, applied while the result is still in registers (TensorFlow's grappler does the same for
      Keras' ``predict``); run it after :func:`fold_batchnorm`, so ``conv, batchnorm, relu`` fuses whole;
    - a max pool whose stride is its size becomes the element-wise maximum of strided views of its input:
      PyTorch's CPU max pool also writes an int64 index per output, which only the backward pass needs.

    Only layers, ReLUs and pools without hooks are replaced (a hooked ReLU, such as the health monitor's
    during the validation pass, must still see its input). The twin computes the same outputs up to float
    rounding and shares every module it does not replace with ``model``.
    """
    if not hasattr(torch.ops.mkldnn, "_convolution_pointwise") or not torch.backends.mkldnn.is_available():
        return model
    return _inference_twin(model)


def _inference_twin(module: nn.Module) -> nn.Module:
    children = list(module._modules.items())
    if not children:
        return module
    swapped = {name: child for name, child in children}
    if isinstance(module, nn.Sequential):
        for i, (name, child) in enumerate(children):
            if _views_pool(child) is not None:
                swapped[name] = _MaxPoolByViews(_views_pool(child))
                continue
            j = i + 1
            while j < len(children) and type(children[j][1]) is nn.Identity:  # a folded batchnorm in between
                j += 1
            if j < len(children) and _relu_fusable(child, children[j][1]):
                fused = copy.copy(child) if type(child) is _WindowConv else _ConvReLU(child)
                if type(child) is _WindowConv:
                    fused.relu = True
                swapped[name] = fused
                swapped[children[j][0]] = nn.Identity()
    for name, child in children:
        if swapped[name] is child and child is not None:
            swapped[name] = _inference_twin(child)
    if all(swapped[name] is child for name, child in children):
        return module
    twin = copy.copy(module)
    twin.__dict__["_modules"] = swapped
    return twin


def _relu_fusable(layer: nn.Module | None, relu: nn.Module | None) -> bool:
    if type(relu) is not nn.ReLU or layer is None or _has_hooks(relu) or _has_hooks(layer):
        return False
    kind = type(layer)
    if kind is nn.Conv2d:
        ok = layer.padding_mode == "zeros" and not isinstance(layer.padding, str)
        return ok and layer.weight.device.type == "cpu"
    if kind is _Conv1dAs2d:
        return not isinstance(layer.args["padding"], str) and layer.conv.weight.device.type == "cpu"
    return kind is _WindowConv and not layer.relu


def _views_pool(pool: nn.Module | None) -> tuple[int, int] | None:
    """The (height, width) window of a max pool that tiles its input (stride = size, no padding), else None."""
    if pool is None or _has_hooks(pool):
        return None
    if type(pool) is nn.MaxPool2d:
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        size, stride = pair(pool.kernel_size), pair(pool.stride)
        plain = pair(pool.padding) == (0, 0) and pair(pool.dilation) == (1, 1)
        ok = plain and not pool.ceil_mode and not pool.return_indices
    elif type(pool) is _Pool1dAs2d and pool.fn is F.max_pool2d:
        size, stride = pool.args["kernel_size"], pool.args["stride"]
        ok = pool.args["padding"] == (0, 0) and pool.args["dilation"] == (1, 1) and not pool.args["ceil_mode"]
    else:
        return None
    return size if ok and size == stride and size[0] * size[1] <= 4 else None


class _MaxPoolByViews(nn.Module):
    """Max pool with stride = size as ``torch.maximum`` of the strided views (one per window cell)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        (kh, kw), (h, w) = self.size, (x.shape[2] // self.size[0], x.shape[3] // self.size[1])
        out = None
        for i in range(kh):
            for j in range(kw):
                cell = x[:, :, i:i + kh * h:kh, j:j + kw * w:kw]  # (N, C, H/kh, W/kw) view
                out = cell if out is None else torch.maximum(out, cell)
        return out


class _ConvReLU(nn.Module):
    """``relu(conv(x))`` as one oneDNN primitive (the ReLU is a post-op); in autocast's dtype when it is on."""

    def __init__(self, conv: nn.Conv2d | _Conv1dAs2d) -> None:
        super().__init__()
        self.__dict__["conv"] = conv
        args = conv.args if type(conv) is _Conv1dAs2d else dict(
            stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
        self.args = [list(args["padding"]), list(args["stride"]), list(args["dilation"]), args["groups"]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        weight, bias = self.conv.weight, self.conv.bias
        if torch.is_autocast_enabled("cpu"):  # the pointwise op is not on autocast's lists: cast by hand
            dtype = torch.get_autocast_dtype("cpu")
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, *self.args, "relu", [], "")  # (N, C', H', W')


# -- torch.compile --------------------------------------------------------------------------------


def compile_model(model: nn.Module) -> Callable[..., torch.Tensor]:
    """``torch.compile(model)`` with inductor's kernel cache kept in convscope's cache folder.

    The default cache lives in ``/tmp``, which many machines empty at boot; a persistent folder lets the
    next run of the same model load its kernels instead of compiling them again. A cache folder the user
    chose (``TORCHINDUCTOR_CACHE_DIR``) wins.
    """
    from convscope.data.cache import cache_dir

    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "inductor"))
    return torch.compile(model)


__all__ = [
    "as_layout",
    "autocast",
    "compile_model",
    "configure_threads",
    "fast_dropout",
    "fold_batchnorm",
    "fuse_for_inference",
    "has_2d_convs",
    "match_state_layout",
    "native_bf16",
    "resolve_precision",
    "signals_as_images",
    "use_channels_last",
    "window_convs",
]
