"""Convolutions with constant kernels whose backward pass keeps no activations.

Autograd's convolution node keeps its input alive until the backward pass
even when only the input gradient will be asked for, and that gradient needs
nothing but the kernel and the input's shape. In the synthesis network the
resampling filters (constant buffers) feed on the largest tensors there are,
the upsampled activations, and the modulated convolutions of a frozen
generator (projection, pose optimisation) have constant weights too. Not
keeping their inputs leaves only part of the activations for backward
(``python benchmarks/synthesis.py`` measures how much; the figures per
config are in ``benchmarks/RESULTS.md``, "Memory kept for backward").

A chain of passes (the two 1-D passes of a separable filter) runs as one
autograd node, which keeps the per-call overhead of a Python-level node to
one per chain.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F


class ConvPass(NamedTuple):
    """One ``F.conv2d`` (or, if ``transposed``, ``F.conv_transpose2d``) with a constant ``kernel``."""

    kernel: torch.Tensor
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1
    transposed: bool = False


def constant_convs(x: torch.Tensor, passes: Sequence[ConvPass]) -> torch.Tensor:
    """Apply the convolution ``passes`` in order; gradients flow to ``x`` only.

    The kernels must not require grad (use ``torch.nn.functional`` for those).
    """
    if torch.is_grad_enabled() and any(p.kernel.requires_grad for p in passes):
        raise ValueError("constant_convs: a kernel requires grad; use torch.nn.functional.conv2d")
    return _ConstantConvs.apply(x, tuple(passes))


def run_passes(x: torch.Tensor, passes: Sequence[ConvPass]):
    """Apply ``passes`` (no autograd node); returns the output and, per pass, its input's shape and layout."""
    inputs = []
    for p in passes:
        inputs.append((x.shape, _memory_format(x)))
        conv = F.conv_transpose2d if p.transposed else F.conv2d
        x = conv(x, p.kernel, stride=p.stride, padding=p.padding, groups=p.groups)
    return x, inputs


def input_gradient(grad: torch.Tensor, passes: Sequence[ConvPass], inputs) -> torch.Tensor:
    """The gradient w.r.t. the input of :func:`run_passes` from that of its output (``inputs`` as it returned)."""
    for p, (shape, memory_format) in zip(reversed(passes), reversed(inputs)):
        # Asked for the input gradient alone, convolution_backward reads only the input's
        # shape and layout: an unwritten tensor of that shape stands in for it. (Under
        # autocast the pass ran in the gradient's dtype; autograd casts the result back.)
        stand_in = torch.empty(shape, dtype=grad.dtype, device=grad.device, memory_format=memory_format)
        grad = torch.ops.aten.convolution_backward.default(
            grad, stand_in, p.kernel.to(grad.dtype), None, p.stride, p.padding, (1, 1), p.transposed, (0, 0),
            p.groups, (True, False, False),
        )[0]
    return grad


class _ConstantConvs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, passes):
        out, ctx.inputs = run_passes(x, passes)
        ctx.passes = passes
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        return input_gradient(grad, ctx.passes, ctx.inputs), None


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format
