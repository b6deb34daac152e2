"""Filter design and fast, pure-PyTorch resampling for the StyleGAN3 synthesis layers.

StyleGAN3's "filtered leaky ReLU" upsamples a feature map with a windowed-sinc
low-pass filter, applies the nonlinearity at the higher rate, and low-pass
filters + downsamples again. Written naively (insert zeros, convolve with the
full filter, throw samples away) most of the multiply-adds hit zeros or are
discarded. Here:

* upsampling by ``up`` is done in polyphase form: a strided depthwise
  transposed convolution per axis multiplies only the original samples, never
  the inserted zeros, and the symmetric crop is folded into its padding;
* downsampling is a strided depthwise convolution, so discarded samples are
  never computed;
* separable filters run as two 1-D passes; the radially symmetric (R config)
  downsampling filter runs as one strided 2-D depthwise convolution;
* the filters are constants, so their backward passes keep no activations
  (:mod:`video2stylegan.networks.constant_conv`).

The results equal the zero-insertion reference up to float rounding
(tests/networks/reference_ops.py holds that reference).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.signal
import scipy.special
import torch
import torch.nn.functional as F

from video2stylegan.networks.constant_conv import ConvPass, constant_convs, input_gradient, run_passes


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False):
    """Kaiser-windowed low-pass filter: 1-D (separable) or 2-D jinc-based (radial).

    Returns ``None`` for ``numtaps == 1`` (identity filter), as the official
    networks store no filter buffer in that case.
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    if not radial:
        taps = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
        return torch.as_tensor(taps, dtype=torch.float32)
    # Radially symmetric: the 2-D ideal low-pass (a jinc) times a separable Kaiser window.
    coords = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    radius = np.hypot(*np.meshgrid(coords, coords))
    kernel = scipy.special.j1(2 * cutoff * (np.pi * radius)) / (np.pi * radius)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    kernel *= np.outer(window, window)
    kernel /= np.sum(kernel)
    return torch.as_tensor(kernel, dtype=torch.float32)


def _take_range(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """``x[start:start+length]`` along ``dim``, with zeros where the range leaves ``x``."""
    size = x.shape[dim]
    lo_pad, hi_pad = max(-start, 0), max(start + length - size, 0)
    if lo_pad or hi_pad:
        pad = [0, 0] * (x.ndim - 1 - dim) + [lo_pad, hi_pad]
        x = F.pad(x, pad)
        start += lo_pad
    return x.narrow(dim, start, length)


def upsample2d(x: torch.Tensor, f: torch.Tensor | None, up: int, padding: list[int], gain: float = 1.0) -> torch.Tensor:
    """Separable polyphase upsampling of NCHW ``x`` by ``up`` with total gain ``up**2 * gain``.

    Equals: insert ``up - 1`` zeros after each sample (both axes), pad by
    ``padding`` = [x_lo, x_hi, y_lo, y_hi] (negative values crop), convolve with
    the separable filter ``f`` keeping only fully overlapping positions.
    """
    if f is not None and f.ndim != 1:
        raise ValueError("upsampling filters of StyleGAN3 are separable (1-D)")
    if f is None:  # up == 1: only padding/cropping
        x_lo, x_hi, y_lo, y_hi = padding
        x = x * gain if gain != 1 else x
        out_h, out_w = x.shape[2] + y_lo + y_hi, x.shape[3] + x_lo + x_hi
        return _take_range(_take_range(x, 2, -y_lo, out_h), 3, -x_lo, out_w)
    passes, crop = _upsampling(x, f, up, padding, gain)
    x = constant_convs(x, passes)
    if crop is not None:
        crop_y, out_h, crop_x, out_w = crop
        x = _take_range(_take_range(x, 2, crop_y, out_h), 3, crop_x, out_w)
    return x


def _upsampling(x, f, up, padding, gain):
    """:func:`upsample2d`'s convolution passes, and the crop (start, length per axis) left after them, if any."""
    channels, taps = x.shape[1], f.numel()
    x_lo, x_hi, y_lo, y_hi = padding
    out_h = x.shape[2] * up + y_lo + y_hi - taps + 1
    out_w = x.shape[3] * up + x_lo + x_hi - taps + 1
    f = (f * (up * gain**0.5)).to(x.dtype).expand(channels, taps)  # per-axis share of the gain
    kernel_y, kernel_x = f.reshape(channels, 1, taps, 1), f.reshape(channels, 1, 1, taps)
    # A strided transposed convolution computes the full convolution of the
    # zero-inserted signal, c[q] = sum_j x[j] f[q - up*j], without touching the
    # zeros (polyphase). Reference output o along an axis is c[o + taps - 1 - lo].
    crop_y, crop_x = taps - 1 - y_lo, taps - 1 - x_lo
    full_h, full_w = (x.shape[2] - 1) * up + taps, (x.shape[3] - 1) * up + taps
    if 2 * crop_y + out_h == full_h and 2 * crop_x + out_w == full_w and min(crop_y, crop_x) >= 0:
        # Symmetric crops (every StyleGAN3 layer): let the convolution skip them.
        return [ConvPass(kernel_y, (up, 1), (crop_y, 0), channels, transposed=True),
                ConvPass(kernel_x, (1, up), (0, crop_x), channels, transposed=True)], None
    return [ConvPass(kernel_y, (up, 1), groups=channels, transposed=True),
            ConvPass(kernel_x, (1, up), groups=channels, transposed=True)], (crop_y, out_h, crop_x, out_w)


def downsample2d(x: torch.Tensor, f: torch.Tensor | None, down: int) -> torch.Tensor:
    """Filter with ``f`` (1-D separable or 2-D) keeping fully overlapping positions, then keep every ``down``-th sample."""
    if f is None:
        return x[:, :, ::down, ::down] if down > 1 else x
    return constant_convs(x, _downsampling(x.shape[1], x.dtype, f, down))


def _downsampling(channels, dtype, f, down):
    """:func:`downsample2d`'s convolution passes (``f`` not ``None``)."""
    f = f.to(dtype).flip(list(range(f.ndim)))
    if f.ndim == 2:
        return [ConvPass(f.expand(channels, 1, *f.shape), (down, down), groups=channels)]
    taps = f.numel()
    return [ConvPass(f.expand(channels, 1, taps).reshape(channels, 1, taps, 1), (down, 1), groups=channels),
            ConvPass(f.expand(channels, 1, taps).reshape(channels, 1, 1, taps), (1, down), groups=channels)]


class Nonlinearity(NamedTuple):
    """The pointwise part of :func:`filtered_lrelu`: ``clamp(leaky_relu(v, slope) * gain, -clamp, clamp)``."""

    gain: float  # scale of the output, > 0 (sqrt(2) in the synthesis layers, 1 in ToRGB)
    slope: float  # slope of the negative part (0.2; 1 makes it linear, as in ToRGB)
    clamp: float | None  # bound of the output's magnitude; None: no clamp


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None,
    fd: torch.Tensor | None,
    up: int,
    down: int,
    padding: list[int],
    act: Nonlinearity,
    recompute: bool = False,
) -> torch.Tensor:
    """Upsample NCHW ``x`` by ``up`` with ``fu``, apply ``act``, filter with ``fd`` and downsample by ``down``.

    ``fu``/``fd``: the filters as :func:`design_lowpass_filter` returns them (``None``: identity);
    ``padding``: ``[x_lo, x_hi, y_lo, y_hi]`` of the upsampling, as in :func:`upsample2d`.
    ``recompute``: keep only ``x`` for backward and upsample it again there,
    instead of keeping the upsampled activations (4x larger): less memory for
    a second upsampling.
    """
    gain, slope, clamp = act
    # leaky_relu(g * v) == g * leaky_relu(v) for g > 0: the gain rides on the upsampling filter.
    if recompute and slope != 1 and fu is not None and fd is not None and torch.is_grad_enabled():
        up_passes, crop = _upsampling(x, fu, up, padding, gain)
        if crop is None:
            down_passes = _downsampling(x.shape[1], x.dtype, fd, down)
            return _RecomputedFilteredLeakyRelu.apply(x, up_passes, down_passes, slope, clamp)
    x = upsample2d(x, fu, up, padding, gain=gain)
    if slope != 1:
        if fu is None:  # no upsampling filter: x may still be (a view of) the caller's tensor
            x = x.clone()
        x = _LeakyReluClamp.apply(x, slope, clamp)  # x is a fresh tensor: done in place
    elif clamp is not None:
        x = x.clamp(-clamp, clamp)
    return downsample2d(x, fd, down)


def _leaky_relu_clamp_(x, slope, clamp):
    F.leaky_relu_(x, slope)
    if clamp is not None:
        x.clamp_(-clamp, clamp)
    return x


def _leaky_relu_clamp_backward(grad, y, slope, clamp):
    """The gradient through :func:`_leaky_relu_clamp_` from its output ``y``."""
    # sign(y) == sign(x), so the leaky ReLU derivative can be read off the output.
    grad = torch.ops.aten.leaky_relu_backward(grad, y, slope, True)
    if clamp is not None:
        low, high = torch.aminmax(_flat_view(y))
        if high >= clamp or low <= -clamp:  # rare: only then pay for the mask
            grad = grad.masked_fill(y.abs() >= clamp, 0)
    return grad


class _LeakyReluClamp(torch.autograd.Function):
    """In-place ``clamp(leaky_relu(x), -c, c)`` whose backward reads only the output.

    The upsampled activations are the largest tensors of the network; doing
    both ops in place and in one backward saves whole passes over them.
    """

    @staticmethod
    def forward(ctx, x, slope, clamp):
        _leaky_relu_clamp_(x, slope, clamp)
        ctx.mark_dirty(x)
        ctx.save_for_backward(x)
        ctx.slope, ctx.clamp = slope, clamp
        return x

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return _leaky_relu_clamp_backward(grad, y, ctx.slope, ctx.clamp), None, None


class _RecomputedFilteredLeakyRelu(torch.autograd.Function):
    """Upsample, leaky ReLU + clamp, downsample; keeps only the input and upsamples it again in backward."""

    @staticmethod
    def forward(ctx, x, up_passes, down_passes, slope, clamp):
        y, _ = run_passes(x, up_passes)
        out, ctx.down_inputs = run_passes(_leaky_relu_clamp_(y, slope, clamp), down_passes)
        ctx.save_for_backward(x)
        ctx.up_passes, ctx.down_passes, ctx.slope, ctx.clamp = up_passes, down_passes, slope, clamp
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # Under autocast the forward ran in the gradient's (lower) precision: recompute in it too.
        with torch.autocast(x.device.type, dtype=grad.dtype, enabled=grad.dtype != x.dtype):
            y, up_inputs = run_passes(x, ctx.up_passes)
        y = _leaky_relu_clamp_(y, ctx.slope, ctx.clamp)
        grad = input_gradient(grad, ctx.down_passes, ctx.down_inputs)
        grad = _leaky_relu_clamp_backward(grad, y, ctx.slope, ctx.clamp)
        return input_gradient(grad, ctx.up_passes, up_inputs), None, None, None, None


def _flat_view(x: torch.Tensor) -> torch.Tensor:
    """``x`` as a 1-D tensor without copying when it is contiguous in NCHW or channels-last layout.

    Full reductions such as ``aminmax`` copy a channels-last tensor to NCHW
    first (``benchmarks/RESULTS.md``: "Filtered leaky ReLU backward").
    """
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(0, 2, 3, 1).reshape(-1)
    return x.reshape(-1)
