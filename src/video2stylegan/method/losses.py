"""Image losses for projection into W+ and pivotal tuning.

Every loss here takes two image batches ``x, y`` of shape ``[N, C, H, W]`` in
about ``[-1, 1]`` (the generator's range) and returns one value per image,
shape ``[N]``, so that a batch of independent images can be optimised at once
(sum the per-image losses: each image's gradient is then its own).

- :func:`tensor_ssim` / :func:`tensor_ms_ssim`: structural similarity (Wang et al. 2003/2004)
  with a Gaussian window, written in torch and differentiable. MS-SSIM uses as
  many of the five standard scales as the image size allows (weights
  renormalised), so it also works on 32-64 px test images.
- :func:`pixel_loss`: mean absolute (``"l1"``) or squared (``"mse"``) error;
  :func:`tensor_psnr`: PSNR in dB per image (optionally over a weighted region).
  The ``tensor_`` names say what they take: generator tensors, not the ``uint8``
  arrays of :mod:`video2stylegan.metrics.image` (``psnr``, ``ssim``).
- :class:`StructureLoss`: the weight-free perceptual fallback:
  ``(1 - MS-SSIM) + multi-scale image-gradient L1`` (finite differences on a
  Gaussian pyramid, which rewards matching edges and texture rather than only
  colour). It needs no downloaded weights and no face-recognition network.
- :func:`perceptual_loss`: LPIPS (package ``lpips``) when the package is
  importable *and* both its linear-layer weights and the torchvision backbone
  weights are already on disk; otherwise a logged warning and
  :class:`StructureLoss`. It never downloads anything.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from video2stylegan.metrics.learned import lpips_weight_paths

log = logging.getLogger(__name__)

# Standard MS-SSIM scale weights (Wang, Simoncelli, Bovik 2003), finest first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_window(size: int, sigma: float, channels: int, device, dtype) -> torch.Tensor:
    coords = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g.reshape(1, 1, 1, size).repeat(channels, 1, 1, 1)  # depthwise, one row


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable depthwise Gaussian filter, 'valid' (no padding), as in the reference SSIM."""
    c = x.shape[1]
    x = F.conv2d(x, window, groups=c)
    return F.conv2d(x, window.transpose(2, 3), groups=c)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, data_range: float):
    """Per-image mean SSIM and mean contrast-structure term ``cs``, both ``[N]``."""
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_x, mu_y = _blur(x, window), _blur(y, window)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = _blur(x * x, window) - mu_xx
    var_y = _blur(y * y, window) - mu_yy
    cov = _blur(x * y, window) - mu_xy
    cs_map = (2 * cov + c2) / (var_x + var_y + c2)
    lum = (2 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    return (lum * cs_map).flatten(1).mean(1), cs_map.flatten(1).mean(1)


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    return (x.float() + 1) * 0.5  # [-1, 1] -> [0, 1]


def tensor_ssim(x: torch.Tensor, y: torch.Tensor, window_size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Single-scale SSIM per image (``[N]``), images in ``[-1, 1]``; the window shrinks for tiny images."""
    x, y = _to_unit(x), _to_unit(y)
    size = min(window_size, x.shape[-1], x.shape[-2])
    window = _gaussian_window(size, sigma, x.shape[1], x.device, x.dtype)
    return _ssim_terms(x, y, window, 1.0)[0]


def tensor_ms_ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    window_size: int = 11,
    sigma: float = 1.5,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
    min_size: int | None = None,
) -> torch.Tensor:
    """Multi-scale SSIM per image (``[N]``), images in ``[-1, 1]``.

    Uses the first ``k`` scales such that the coarsest image is still at
    least ``min_size`` (default: the window size) pixels; the weights of the
    used scales are renormalised to sum to 1. Negative ``cs``/SSIM values are
    clamped to a small positive number before the fractional powers (as most
    implementations do) so the gradient stays finite.
    """
    x, y = _to_unit(x), _to_unit(y)
    min_size = window_size if min_size is None else min_size
    size = min(x.shape[-1], x.shape[-2])
    levels = 1
    while levels < len(weights) and size // (2 ** levels) >= min_size:
        levels += 1
    w = torch.tensor(weights[:levels], device=x.device, dtype=x.dtype)
    w = w / w.sum()
    win = min(window_size, size)
    window = _gaussian_window(win, sigma, x.shape[1], x.device, x.dtype)
    values = []
    for level in range(levels):
        if level:
            x = F.avg_pool2d(x, 2)
            y = F.avg_pool2d(y, 2)
        s, cs = _ssim_terms(x, y, window, 1.0)
        values.append(s if level == levels - 1 else cs)
    stacked = torch.stack(values, dim=1).clamp_min(1e-6)  # [N, levels]
    return torch.exp((torch.log(stacked) * w).sum(dim=1))


def pixel_loss(x: torch.Tensor, y: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Per-image pixel error ``[N]``: ``"mse"`` (mean squared) or ``"l1"`` (mean absolute)."""
    d = x.float() - y.float()
    if kind == "mse":
        return d.square().flatten(1).mean(1)
    if kind == "l1":
        return d.abs().flatten(1).mean(1)
    raise ValueError(f"unknown pixel loss {kind!r} (use 'mse' or 'l1')")


def tensor_psnr(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """PSNR in dB per image (``[N]``) for images in ``[-1, 1]`` (peak = the [0, 1] range after mapping).

    ``weight`` ``[N, 1, H, W]`` restricts the mean squared error to a weighted
    region (e.g. a part mask).
    """
    err = (x.float() - y.float()).square()
    if weight is None:
        mse01 = err.flatten(1).mean(1) / 4
    else:
        weight = weight.float().expand_as(err)
        mse01 = (err * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1e-12) / 4
    return 10 * torch.log10(1.0 / mse01.clamp_min(1e-12))


def gradient_pyramid_loss(x: torch.Tensor, y: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """L1 between horizontal/vertical finite differences of ``x`` and ``y`` over an average-pooled pyramid, ``[N]``."""
    total = x.new_zeros(x.shape[0], dtype=torch.float32)
    x, y = x.float(), y.float()
    used = 0
    for level in range(levels):
        if level:
            if min(x.shape[-2:]) < 8:
                break
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        dxx, dxy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
        dyx, dyy = y[..., :, 1:] - y[..., :, :-1], y[..., 1:, :] - y[..., :-1, :]
        total = total + (dxx - dyx).abs().flatten(1).mean(1) + (dxy - dyy).abs().flatten(1).mean(1)
        used += 1
    return total / max(used, 1)


class StructureLoss(nn.Module):
    """Weight-free perceptual stand-in: ``ms_ssim_weight * (1 - MS-SSIM) + gradient_weight * gradient-pyramid L1``."""

    def __init__(self, ms_ssim_weight: float = 1.0, gradient_weight: float = 1.0):
        super().__init__()
        self.ms_ssim_weight = ms_ssim_weight
        self.gradient_weight = gradient_weight

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = x.new_zeros(x.shape[0], dtype=torch.float32)
        if self.ms_ssim_weight:
            loss = loss + self.ms_ssim_weight * (1 - tensor_ms_ssim(x, y))
        if self.gradient_weight:
            loss = loss + self.gradient_weight * gradient_pyramid_loss(x, y)
        return loss


class LpipsLoss(nn.Module):
    """Wraps ``lpips.LPIPS`` to return ``[N]``; images larger than ``resolution`` are area-downsampled first."""

    def __init__(self, model: nn.Module, resolution: int | None = 256):
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.resolution = resolution

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.resolution is not None and x.shape[-1] > self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="area")
            y = F.interpolate(y, size=(self.resolution, self.resolution), mode="area")
        return self.model(x.float(), y.float(), normalize=False).flatten(1).mean(1)


def lpips_weight_files(net: str = "vgg", version: str = "0.1") -> tuple[Path | None, Path | None]:
    """LPIPS's linear-layer weights and torchvision's backbone weights, each ``None`` where not on disk.

    The locations are :func:`video2stylegan.metrics.learned.lpips_weight_paths`'s
    (the metric and the loss look in one place). Downloads nothing.
    """
    heads, backbone = lpips_weight_paths(net, version)
    return (heads if heads is not None and heads.is_file() else None), (backbone if backbone.is_file() else None)


def perceptual_loss(
    net: str = "vgg",
    device: str | torch.device = "cpu",
    resolution: int | None = 256,
    allow_lpips: bool = True,
) -> nn.Module:
    """The perceptual loss to use here: LPIPS if fully available offline, else :class:`StructureLoss`.

    LPIPS needs the ``lpips`` package, its linear-layer weights and the
    torchvision backbone weights already cached; anything missing gives a
    logged warning naming it, and the weight-free fallback. Nothing is
    downloaded. The returned module maps ``(x, y)`` in ``[-1, 1]`` to ``[N]``.
    ``allow_lpips=False`` forces the fallback (tests, reproducibility).
    """
    if not allow_lpips:
        return StructureLoss().to(device)
    missing = []
    try:
        import lpips
    except Exception as exc:  # ImportError, or torchvision missing inside lpips
        missing.append(f"package lpips ({type(exc).__name__}: {exc})")
        lpips = None
    linear, backbone = lpips_weight_files(net)
    if lpips is not None and linear is None:
        missing.append(f"LPIPS linear weights for {net!r}")
    if backbone is None:
        missing.append(f"torchvision {net} backbone weights ({lpips_weight_paths(net)[1]})")
    if not missing:
        try:
            model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=False, verbose=False)
            return LpipsLoss(model, resolution).to(device)
        except Exception as exc:  # e.g. a corrupt file, or an attempted download that failed
            missing.append(f"LPIPS construction failed ({type(exc).__name__}: {exc})")
    message = "; ".join(missing)
    if message not in _WARNED:  # once per process and cause, not once per projected frame
        _WARNED.add(message)
        log.warning(
            "LPIPS unavailable (%s); using the weight-free fallback perceptual loss (1 - MS-SSIM + gradient L1).",
            message,
        )
    return StructureLoss().to(device)


_WARNED: set[str] = set()


def perceptual_is_lpips(loss: nn.Module) -> bool:
    """Whether a module from :func:`perceptual_loss` is LPIPS (``False`` for the fallback)."""
    return isinstance(loss, LpipsLoss)


__all__ = [
    "MS_SSIM_WEIGHTS", "LpipsLoss", "StructureLoss", "gradient_pyramid_loss", "lpips_weight_files",
    "perceptual_is_lpips", "perceptual_loss", "pixel_loss", "tensor_ms_ssim", "tensor_psnr", "tensor_ssim",
]
