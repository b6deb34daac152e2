"""StyleGAN3 generator (Karras et al. 2021, "Alias-Free Generative Adversarial Networks").

``G.mapping``: z ``[N, z_dim]`` -> ws ``[N, num_ws, w_dim]``; ``G.synthesis``: ws -> image
``[N, img_channels, R, R]``, float32 (float64 for float64 ws), roughly in [-1, 1].
Architecture, parameter names and buffer names match NVIDIA's official networks, so an
official ``G_ema`` state dict loads 1:1 (see :mod:`video2stylegan.networks.official_pickle`);
an image depends only on its own latents, not on the rest of its batch (docs/networks.md,
"One deliberate difference").
Both configs are supported: T (3x3 convolutions, separable filters) and R (1x1
convolutions, radial downsampling filters, ``conv_kernel=1, use_radial_filters=True``).

On top of the official forward pass this module offers the latent-space API
the method needs: per-call Fourier ``transform``, S space (``styles`` /
``synthesis_from_styles``) and per-layer feature maps.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from video2stylegan.networks.layers import LRELU_GAIN, FullyConnectedLayer, modulated_conv2d, prepare_conv_weight
from video2stylegan.networks.resampling import Nonlinearity, design_lowpass_filter, filtered_lrelu

INPUT_LAYER = "input"


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """float32, except that float64 stays float64 (used to verify gradients in double precision)."""
    return x if x.dtype == torch.float64 else x.to(torch.float32)


class MappingNetwork(nn.Module):
    """z (and optional class label c) -> w, broadcast to ``num_ws`` style vectors."""

    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=2, lr_multiplier=0.01, w_avg_beta=0.998):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.num_ws, self.num_layers, self.w_avg_beta = num_ws, num_layers, w_avg_beta
        self.embed = FullyConnectedLayer(c_dim, w_dim) if c_dim > 0 else None
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for idx in range(num_layers):
            layer = FullyConnectedLayer(features[idx], features[idx + 1], activation="lrelu", lr_multiplier=lr_multiplier)
            setattr(self, f"fc{idx}", layer)
        self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, update_emas=False):
        """Return ws ``[N, num_ws, w_dim]``; truncation pulls the first ``truncation_cutoff`` towards ``w_avg``."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {list(z.shape)}")
        x = _at_least_float32(z)
        x = x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        if self.c_dim > 0:
            if c is None or c.shape != (z.shape[0], self.c_dim):
                raise ValueError(f"this network is conditional: c must have shape [N, {self.c_dim}]")
            y = self.embed(c.to(torch.float32))
            y = y * (y.square().mean(1, keepdim=True) + 1e-8).rsqrt()
            x = torch.cat([x, y], dim=1)
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if update_emas:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x[:, :cutoff] = self.w_avg.lerp(x[:, :cutoff], truncation_psi)
        return x


class SynthesisInput(nn.Module):
    """Fourier features whose orientation/offset come from w (the 4-d ``affine``) and a user transform.

    ``transform`` (buffer, or the per-call argument) is the inverse transform
    with respect to the output image: the image is sampled at ``transform @ p``.
    Coordinates are in units of the image size, origin at the image centre,
    x to the right, y down (see :mod:`video2stylegan.networks.transforms`).
    """

    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth):
        super().__init__()
        self.w_dim, self.channels = w_dim, channels
        self.size = np.broadcast_to(np.asarray(size), [2])
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        # Frequencies drawn inside a disc of radius `bandwidth`.
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)
        freqs *= bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4, weight_init=0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, style: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """Fourier features ``[N, channels, size, size]`` from the 4-d style (the affine output)."""
        batch = style.shape[0]
        user = (self.transform if transform is None else torch.as_tensor(transform)).to(style.device, style.dtype)
        user = user.expand(batch, 3, 3) if user.ndim == 2 else user
        if user.shape != (batch, 3, 3):
            raise ValueError(f"transform must be [3, 3] or [{batch}, 3, 3], got {list(user.shape)}")
        t = style / style[:, :2].norm(dim=1, keepdim=True)  # (cos, sin, tx, ty)
        zeros, ones = torch.zeros_like(t[:, 0]), torch.ones_like(t[:, 0])
        # Learned rotation then translation (both inverse, w.r.t. the image), then the user transform.
        m_r = torch.stack([t[:, 0], -t[:, 1], zeros, t[:, 1], t[:, 0], zeros, zeros, zeros, ones], 1).reshape(batch, 3, 3)
        m_t = torch.stack([ones, zeros, -t[:, 2], zeros, ones, -t[:, 3], zeros, zeros, ones], 1).reshape(batch, 3, 3)
        transforms = m_r @ m_t @ user
        freqs = self.freqs.unsqueeze(0)
        phases = self.phases.unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)
        freqs = freqs @ transforms[:, :2, :2]
        # Fade out frequencies that the transform pushed beyond the band limit.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        grid = self._grid(style.device).to(style.dtype)  # [H, W, 2]
        x = torch.einsum("hwk,nck->nhwc", grid, freqs) + phases[:, None, None, :]
        x = torch.sin(x * (2 * np.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / np.sqrt(self.channels)).t()
        # [N, H, W, C] viewed as NCHW is exactly channels-last memory, the layout
        # in which the CPU convolutions of the synthesis layers are fastest.
        return x.permute(0, 3, 1, 2)

    def _grid(self, device) -> torch.Tensor:
        theta = torch.eye(2, 3, device=device)
        theta[0, 0] = 0.5 * self.size[0] / self.sampling_rate
        theta[1, 1] = 0.5 * self.size[1] / self.sampling_rate
        size = [1, 1, int(self.size[1]), int(self.size[0])]
        return F.affine_grid(theta.unsqueeze(0), size, align_corners=False)[0]


class SynthesisLayer(nn.Module):
    """Modulated convolution followed by a filtered leaky ReLU (or the final ToRGB).

    Maps ``[N, in_channels, in_size, in_size]`` to ``[N, out_channels, out_size, out_size]``.
    Frequencies are in cycles per image side and sampling rates in samples per image side
    (the image spans one unit, the margin lies outside it); sizes are in pixels, margin included.
    """

    # The argument names, order and defaults are NVIDIA's: the keyword arguments reach this
    # constructor from a stored generator's ``init_kwargs`` (through SynthesisNetwork's
    # ``**layer_kwargs``), and state.py accepts a stored argument only if it is declared here
    # or in SynthesisNetwork. Hence one long list instead of grouped arguments.
    def __init__(
        self,
        w_dim,  # length of a w vector; the affine layer maps it to this layer's style
        is_torgb,  # the last layer: 1x1 convolution to RGB, no leaky ReLU, no resampling filters
        is_critically_sampled,  # one of the last layers, whose cutoff sits at half the sampling rate
        in_channels,  # feature channels of the input
        out_channels,  # feature channels of the output (img_channels for ToRGB)
        in_size,  # input side in pixels, margin included
        out_size,  # output side in pixels, margin included
        in_sampling_rate,  # of the input: samples per image side
        out_sampling_rate,  # of the output: samples per image side
        in_cutoff,  # low-pass cutoff of the input signal, cycles per image side
        out_cutoff,  # low-pass cutoff of the output signal, cycles per image side
        in_half_width,  # half the transition band of the upsampling filter, cycles per image side
        out_half_width,  # half the transition band of the downsampling filter, cycles per image side
        conv_kernel=3,  # side of the convolution kernel, pixels (3 in T, 1 in R; always 1 for ToRGB)
        filter_size=6,  # taps of a resampling filter per unit of its up- or downsampling factor
        lrelu_upsampling=2,  # the leaky ReLU runs at this multiple of the higher sampling rate (not in ToRGB)
        use_radial_filters=False,  # R config: a radially symmetric (jinc) downsampling filter, unless critical
        conv_clamp=256,  # the output is clamped to [-conv_clamp, conv_clamp]; None: no clamp
        magnitude_ema_beta=0.999,  # decay of the running mean square of the input (updated in training)
    ):
        super().__init__()
        self.w_dim, self.is_torgb, self.is_critically_sampled = w_dim, is_torgb, is_critically_sampled
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size = np.broadcast_to(np.asarray(in_size), [2])
        self.out_size = np.broadcast_to(np.asarray(out_size), [2])
        self.in_sampling_rate, self.out_sampling_rate = in_sampling_rate, out_sampling_rate
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.in_cutoff, self.out_cutoff = in_cutoff, out_cutoff
        self.in_half_width, self.out_half_width = in_half_width, out_half_width
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta
        # Keep the 4x smaller pre-upsampling tensor for backward and upsample it again there
        # (SynthesisNetwork.recompute_activations); not part of the state dict.
        self.recompute_activations = False

        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = int(np.rint(self.tmp_sampling_rate / in_sampling_rate))
        assert in_sampling_rate * self.up_factor == self.tmp_sampling_rate
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer(
            "up_filter",
            design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2, self.tmp_sampling_rate),
        )
        self.down_factor = int(np.rint(self.tmp_sampling_rate / out_sampling_rate))
        assert out_sampling_rate * self.down_factor == self.tmp_sampling_rate
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer(
            "down_filter",
            design_lowpass_filter(self.down_taps, out_cutoff, out_half_width * 2, self.tmp_sampling_rate, self.down_radial),
        )
        # Padding so that output samples sit where the symmetric interpretation puts them.
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [int(pad_lo[0]), int(pad_hi[0]), int(pad_lo[1]), int(pad_hi[1])]

    def style(self, w: torch.Tensor) -> torch.Tensor:
        """S-space style of this layer: the affine output (one entry per input channel)."""
        return self.affine(w)

    def _prepared_weight(self):
        """Normalised conv weight, cached while the weight is frozen and unchanged.

        Frozen weights (inference, projection, pose optimisation) are the common
        case; the cache is keyed on the tensor's storage, version, device and
        dtype, so in-place updates and ``.to()`` invalidate it. Weights that
        require grad (fine-tuning) are prepared afresh on every call.
        """
        weight = self.weight
        if weight.requires_grad and torch.is_grad_enabled():
            return prepare_conv_weight(weight, not self.is_torgb)
        key = (weight.data_ptr(), weight._version, weight.device, weight.dtype)
        cached = getattr(self, "_weight_cache", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, prepare_conv_weight(weight, not self.is_torgb))
            self._weight_cache = cached
        return cached[1]

    def forward_from_style(self, x: torch.Tensor, style: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        if update_emas:
            magnitude = x.detach().to(torch.float32).square().mean()
            self.magnitude_ema.copy_(magnitude.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        input_gain = self.magnitude_ema.rsqrt()
        if self.is_torgb:
            style = style * (1 / np.sqrt(self.in_channels * self.conv_kernel**2))
        x = modulated_conv2d(
            x, self.weight, style, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
            input_gain=input_gain, bias=self.bias, prepared=self._prepared_weight(),
        )
        # The bias was added by the convolution; ToRGB is linear (gain and slope 1) but clamped all the same.
        act = Nonlinearity(gain=1.0 if self.is_torgb else LRELU_GAIN, slope=1.0 if self.is_torgb else 0.2,
                           clamp=self.conv_clamp)
        return filtered_lrelu(
            x, self.up_filter, self.down_filter, up=self.up_factor, down=self.down_factor, padding=self.padding,
            act=act, recompute=self.recompute_activations,
        )

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        return self.forward_from_style(x, self.style(w), update_emas=update_emas)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}@{int(self.in_size[0])}, out={self.out_channels}@{int(self.out_size[0])}, "
            f"up={self.up_factor}, down={self.down_factor}, kernel={self.conv_kernel}, "
            f"torgb={self.is_torgb}, critical={self.is_critically_sampled}, radial={self.down_radial}"
        )


class SynthesisNetwork(nn.Module):
    """ws ``[N, num_ws, w_dim]`` -> image ``[N, img_channels, R, R]`` (roughly in [-1, 1])."""

    # NVIDIA's argument list (names, defaults): a stored generator's ``init_kwargs`` pass through
    # Generator to here unchanged, so every name an official network may carry must be accepted
    # (hence one long list instead of grouped arguments).
    def __init__(
        self,
        w_dim,  # length of a w vector
        img_resolution,  # R: side of the output image, pixels
        img_channels,  # channels of the output image (3: RGB)
        channel_base=32768,  # a layer has channel_base / 2 / (its cutoff) channels...
        channel_max=512,  # ...but at most this many
        num_layers=14,  # synthesis layers besides the Fourier input and ToRGB
        num_critical=2,  # how many of the last layers are critically sampled
        first_cutoff=2,  # cutoff of the first layer, cycles per image side
        first_stopband=2**2.1,  # stopband of the first layer, cycles per image side
        last_stopband_rel=2**0.3,  # stopband of the last layer, relative to its cutoff (R / 2)
        margin_size=10,  # pixels computed outside the image on each side (not in the last two layers)
        output_scale=0.25,  # the last layer's output is multiplied by this
        num_fp16_res=4,  # accepted and ignored: NVIDIA's float16 switch for the highest resolutions
        **layer_kwargs,  # SynthesisLayer's keyword arguments, the same for every layer
    ):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_layers, self.num_critical = num_layers, num_critical
        self.num_ws = num_layers + 2
        self.margin_size, self.output_scale = margin_size, output_scale

        # Cutoffs and stopbands grow geometrically up to the last non-critical layer.
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * last_stopband_rel
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
        sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
        sizes = sampling_rates + margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels

        self.input = SynthesisInput(
            w_dim=w_dim, channels=int(channels[0]), size=int(sizes[0]),
            sampling_rate=sampling_rates[0], bandwidth=cutoffs[0],
        )
        self.layer_names = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim,
                is_torgb=idx == num_layers,
                is_critically_sampled=idx >= num_layers - num_critical,
                in_channels=int(channels[prev]),
                out_channels=int(channels[idx]),
                in_size=int(sizes[prev]),
                out_size=int(sizes[idx]),
                in_sampling_rate=int(sampling_rates[prev]),
                out_sampling_rate=int(sampling_rates[idx]),
                in_cutoff=cutoffs[prev],
                out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev],
                out_half_width=half_widths[idx],
                **layer_kwargs,
            )
            name = f"L{idx}_{layer.out_size[0]}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    @property
    def recompute_activations(self) -> bool:
        """Trade time for memory in backward passes: each layer keeps its pre-upsampling tensor and
        upsamples it again in backward instead of keeping the 4x larger upsampled activations
        (``benchmarks/synthesis.py`` measures both). Default off."""
        return all(getattr(self, name).recompute_activations for name in self.layer_names)

    @recompute_activations.setter
    def recompute_activations(self, on: bool) -> None:
        for name in self.layer_names:
            getattr(self, name).recompute_activations = bool(on)

    @property
    def style_names(self) -> list[str]:
        """Names of the style vectors in ws order: ``input``, then each synthesis layer."""
        return [INPUT_LAYER] + list(self.layer_names)

    def _check_ws(self, ws: torch.Tensor) -> None:
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")

    def styles(self, ws: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """S space: every layer's affine output, keyed by layer name (``input`` first)."""
        self._check_ws(ws)
        ws = _at_least_float32(ws).unbind(dim=1)
        styles = OrderedDict([(INPUT_LAYER, self.input.affine(ws[0]))])
        for name, w in zip(self.layer_names, ws[1:]):
            styles[name] = getattr(self, name).style(w)
        return styles

    def synthesis_from_styles(self, styles, transform=None, return_features=False, update_emas=False):
        """Render from S-space styles (as returned by :meth:`styles`, possibly edited)."""
        missing = [name for name in self.style_names if name not in styles]
        if missing:
            raise ValueError(f"styles lack the layers {missing}")
        x = self.input(styles[INPUT_LAYER], transform=transform)
        features = OrderedDict([(INPUT_LAYER, x)]) if return_features else None
        for name in self.layer_names:
            x = getattr(self, name).forward_from_style(x, styles[name], update_emas=update_emas)
            if return_features:
                features[name] = x
        if self.output_scale != 1:
            x = x * self.output_scale
        x = _at_least_float32(x)
        return (x, features) if return_features else x

    def forward(self, ws, transform=None, return_features=False, update_emas=False):
        """Render ws; ``transform`` (3x3 or [N,3,3]) overrides the ``transform`` buffer for this call.

        With ``return_features`` returns ``(img, features)``, ``features`` an
        ordered dict of each layer's output (before ``output_scale``).
        """
        return self.synthesis_from_styles(
            self.styles(ws), transform=transform, return_features=return_features, update_emas=update_emas
        )

    def extra_repr(self) -> str:
        return f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}"


class Generator(nn.Module):
    """Mapping + synthesis. Constructor arguments are those of the official ``G_ema`` (``init_kwargs``)."""

    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs=None, **synthesis_kwargs):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.init_kwargs = dict(
            z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=img_resolution,
            img_channels=img_channels, mapping_kwargs=dict(mapping_kwargs or {}), **synthesis_kwargs,
        )
        self.synthesis = SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution, img_channels=img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **(mapping_kwargs or {}))

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    @property
    def style_names(self) -> list[str]:
        return self.synthesis.style_names

    def styles(self, ws: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.synthesis.styles(ws)

    def synthesis_from_styles(self, styles, transform=None, return_features=False):
        return self.synthesis.synthesis_from_styles(styles, transform=transform, return_features=return_features)

    def forward(self, z, c=None, truncation_psi=1.0, truncation_cutoff=None, transform=None):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, transform=transform)
