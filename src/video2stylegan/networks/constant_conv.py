"""Convolutions with a constant kernel whose backward pass keeps no activations.

Autograd's convolution node keeps its input alive until the backward pass
even when only the input gradient will be asked for, and that gradient needs
nothing but the kernel and the input's shape. In the synthesis network the
resampling filters (constant buffers) feed on the largest tensors there are,
the upsampled activations, and the modulated convolutions of a frozen
generator (projection, pose optimisation) have constant weights too. Not
keeping their inputs leaves 0.52x (128 px T config) and 0.61x (official
256 px R shapes) of the activations for backward, at the same speed
(``benchmarks/synthesis.py`` measures it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def constant_conv2d(x, kernel, stride=1, padding=0, groups=1, transposed=False):
    """``F.conv2d`` (or ``F.conv_transpose2d`` if ``transposed``) with a kernel that gets no gradient.

    Gradients flow to ``x`` only; ``kernel`` must not require grad.
    """
    if kernel.requires_grad and torch.is_grad_enabled():
        raise ValueError("constant_conv2d: the kernel requires grad; use torch.nn.functional.conv2d")
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    return _ConstantConv.apply(x, kernel, pair(stride), pair(padding), groups, transposed)


class _ConstantConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, groups, transposed):
        ctx.kernel, ctx.stride, ctx.padding, ctx.groups, ctx.transposed = kernel, stride, padding, groups, transposed
        ctx.input_shape, ctx.input_format = x.shape, _memory_format(x)
        conv = F.conv_transpose2d if transposed else F.conv2d
        return conv(x, kernel, stride=stride, padding=padding, groups=groups)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        # Asked for the input gradient alone, convolution_backward reads only the
        # input's shape and layout: an unwritten tensor of that shape stands in for it.
        # (Under autocast the forward ran in a lower precision than the kernel: the gradient's
        # dtype is the one it ran in, and autograd casts the result back to the input's.)
        stand_in = torch.empty(ctx.input_shape, dtype=grad.dtype, device=grad.device, memory_format=ctx.input_format)
        grad_input, _, _ = torch.ops.aten.convolution_backward(
            grad, stand_in, ctx.kernel.to(grad.dtype), None, ctx.stride, ctx.padding, (1, 1), ctx.transposed, (0, 0),
            ctx.groups, (True, False, False),
        )
        return grad_input, None, None, None, None, None


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format
