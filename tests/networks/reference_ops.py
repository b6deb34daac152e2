"""A straightforward, unoptimised StyleGAN3 synthesis path: the yardstick for our fast one.

It follows the textbook formulation: per-sample modulated weights run as one
grouped convolution, and resampling by inserting zeros, padding, convolving
with the full filter and discarding samples. It reads the parameters of one of
our own :class:`~video2stylegan.networks.stylegan3.Generator` modules, so the
two paths compute the same function with the same weights. Also the plain
convolutions and the saved-tensor count that the memory tests and benchmark
compare ours with. Used by tests and by ``benchmarks/synthesis.py`` only.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F


def modulated_conv2d_grouped(x, weight, styles, demodulate=True, padding=0, input_gain=None):
    batch, in_channels = styles.shape
    out_channels, _, kh, kw = weight.shape
    if demodulate:
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, in_channels, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(batch, out_channels, 1, 1, 1)
    if input_gain is not None:
        w = w * input_gain
    x = x.reshape(1, batch * in_channels, *x.shape[2:])
    x = F.conv2d(x, w.reshape(batch * out_channels, in_channels, kh, kw), padding=padding, groups=batch)
    return x.reshape(batch, out_channels, *x.shape[2:])


def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """Zero-insert by `up`, pad [x0, x1, y0, y1] (negative crops), filter (1-D separable or 2-D), keep every `down`-th."""
    n, c, h, w = x.shape
    if f is None:
        f = torch.ones([1, 1], dtype=x.dtype)
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0) : x.shape[2] - max(-py1, 0), max(-px0, 0) : x.shape[3] - max(-px1, 0)]
    f = (f * gain ** (f.ndim / 2)).flip(list(range(f.ndim)))
    if f.ndim == 2:
        x = F.conv2d(x, f.expand(c, 1, *f.shape), groups=c)
    else:
        x = F.conv2d(x, f.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        x = F.conv2d(x, f.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return x[:, :, ::down, ::down]


def filtered_lrelu(x, fu, fd, b, up, down, padding, gain, slope, clamp):
    x = x + b.reshape(1, -1, 1, 1)
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up**2)
    x = F.leaky_relu(x, slope) * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, fd, down=down)


def synthesis_layer(layer, x, style):
    if layer.is_torgb:
        style = style * (1 / np.sqrt(layer.in_channels * layer.conv_kernel**2))
    x = modulated_conv2d_grouped(
        x, layer.weight, style, demodulate=not layer.is_torgb,
        padding=layer.conv_kernel - 1, input_gain=layer.magnitude_ema.rsqrt(),
    )
    return filtered_lrelu(
        x, layer.up_filter, layer.down_filter, layer.bias, layer.up_factor, layer.down_factor, layer.padding,
        gain=1.0 if layer.is_torgb else np.sqrt(2), slope=1.0 if layer.is_torgb else 0.2, clamp=layer.conv_clamp,
    )


def reference_synthesis(G, ws, transform=None):
    """Render ws through G's parameters with the unoptimised operations above."""
    synthesis = G.synthesis
    ws = ws.unbind(dim=1)
    x = synthesis.input(synthesis.input.affine(ws[0]), transform=transform)
    for name, w in zip(synthesis.layer_names, ws[1:]):
        layer = getattr(synthesis, name)
        x = synthesis_layer(layer, x, layer.affine(w))
    return x * synthesis.output_scale


def plain_convs(x, passes):
    """What :func:`~video2stylegan.networks.constant_conv.constant_convs` computes, with autograd's own nodes."""
    for p in passes:
        conv = F.conv_transpose2d if p.transposed else F.conv2d
        x = conv(x, p.kernel, stride=p.stride, padding=p.padding, groups=p.groups)
    return x


@contextlib.contextmanager
def autograd_convolutions():
    """Run our generator with autograd's own convolution nodes instead of ``constant_convs``.

    Same results; the nodes keep their inputs for backward, as any plain
    implementation would (the comparison for the memory test and benchmark).
    """
    import video2stylegan.networks.layers as layers
    import video2stylegan.networks.resampling as resampling

    saved = layers.constant_convs, resampling.constant_convs
    layers.constant_convs = resampling.constant_convs = plain_convs
    try:
        yield
    finally:
        layers.constant_convs, resampling.constant_convs = saved


def kept_for_backward(fn, *args):
    """``(fn(*args), storages)``: the distinct storages autograd keeps for the backward pass of ``fn``.

    Works on the ``meta`` device too (shapes only, no memory): storages are told
    apart by their C++ object, not their (there always null) address.
    """
    kept = {}

    def pack(t):
        storage = t.untyped_storage()
        kept[storage._cdata] = storage  # held, as autograd holds it, so that no address is reused
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, list(kept.values())
