"""Building blocks shared by the mapping and synthesis networks.

:class:`FullyConnectedLayer`: ``[N, in_features]`` -> ``[N, out_features]``, its weights scaled
at run time (equalised learning rate). :func:`modulated_conv2d`: features ``[N, I, H, W]``, a
weight ``[O, I, k, k]`` and per-sample styles ``[N, I]`` -> ``[N, O, H + 2p - k + 1, W + 2p - k + 1]``
for padding ``p``, each sample convolved with its own modulated (and demodulated) weight.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from video2stylegan.networks.constant_conv import ConvPass, constant_convs

LRELU_GAIN = float(np.sqrt(2))


class FullyConnectedLayer(nn.Module):
    """Linear layer with equalised learning rate (runtime weight scaling) and optional leaky ReLU."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        bias: bool = True,
        lr_multiplier: float = 1.0,
        weight_init: float = 1.0,
        bias_init=0.0,
    ):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"unknown activation {activation!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) * (weight_init / lr_multiplier))
        init = np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features])
        self.bias = nn.Parameter(torch.from_numpy(init / lr_multiplier)) if bias else None
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype) * self.bias_gain
        x = F.linear(x, w, b)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, 0.2) * LRELU_GAIN
        return x

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"


def prepare_conv_weight(weight: torch.Tensor, demodulate: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The style-independent part of a modulated conv: (normalised weight, per-(out, in) sum of squares).

    The weight is returned in channels-last layout, the one the convolutions run in.
    """
    if not demodulate:
        return weight.contiguous(memory_format=torch.channels_last), None
    weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
    return weight.contiguous(memory_format=torch.channels_last), weight.square().sum(dim=[2, 3])


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    padding: int = 0,
    input_gain: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    prepared: tuple[torch.Tensor, torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """Style-modulated convolution (plus an optional bias), without grouped convolutions.

    Mathematically ``conv(x, w * s * d * g) + b`` with per-sample weights,
    where ``d`` demodulates each output channel and ``g`` is the input gain.
    Since the modulation scales input channels and the demodulation output
    channels, it runs as ``conv(x * s * g, w) * d + b`` with one shared
    weight: no ``[N, O, I, k, k]`` tensor, and one ``addcmul`` for ``* d + b``.
    A per-sample modulated weight would be a new weight on every call (oneDNN
    re-packs each one) and would need its own gradient in backward, a second
    full convolution. ``prepared`` is :func:`prepare_conv_weight`'s result for
    ``weight``, when the caller caches it.

    Style pre-normalisation (``s / rms(s)``) is done per sample. NVIDIA's code
    normalises by the RMS over the whole batch, which makes an image depend on
    the other images of its batch; the two agree exactly at batch size 1.
    """
    batch, in_channels = styles.shape
    weight, weight_sq = prepared if prepared is not None else prepare_conv_weight(weight, demodulate)
    dcoefs = None
    if demodulate:
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
        # sum over (i, ky, kx) of (w[o, i, k] * s[n, i])^2 = s^2 @ (sum_k w^2)^T
        dcoefs = (styles.square() @ weight_sq.t() + 1e-8).rsqrt()  # [N, O]
    scale = styles if input_gain is None else styles * input_gain
    bias = None if bias is None else bias.to(x.dtype)
    x = x * scale.to(x.dtype).reshape(batch, in_channels, 1, 1)
    weight = weight.to(x.dtype)
    if weight.requires_grad and torch.is_grad_enabled():  # training, PTI
        x = F.conv2d(x, weight, padding=padding)
    else:  # a frozen generator: backward needs no copy of the modulated input
        x = constant_convs(x, [ConvPass(weight, padding=(padding, padding))])
    if dcoefs is None:
        return x if bias is None else x + bias.reshape(1, -1, 1, 1)
    dcoefs = dcoefs.to(x.dtype).reshape(batch, -1, 1, 1)
    return x * dcoefs if bias is None else torch.addcmul(bias.reshape(1, -1, 1, 1), x, dcoefs)
