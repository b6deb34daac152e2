"""Pixel metrics against a ground truth: PSNR and SSIM (no downloads, always available).

Images are ``uint8`` RGB arrays ``(H, W, 3)`` (or float arrays in the same
0-255 range); clips ``(T, H, W, 3)`` give per-frame values. ``psnr`` and ``ssim``
always mean these arrays; the differentiable versions on generator tensors
``[N, 3, H, W]`` in [-1, 1] are :func:`video2stylegan.method.losses.tensor_psnr` and
:func:`~video2stylegan.method.losses.tensor_ssim`.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from video2stylegan.errors import InvalidOptionError

DATA_RANGE = 255.0


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InvalidOptionError(
            f"images to compare have different shapes {a.shape} and {b.shape}; resize one to the other first"
        )
    if a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise InvalidOptionError(f"expected (H, W, 3) images or (T, H, W, 3) clips, got {a.shape}")
    return a, b


def psnr(a, b, data_range: float = DATA_RANGE) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB, ``10 log10(range^2 / MSE)`` over all
    pixels and channels; per frame for clips. Identical images give ``inf``."""
    a, b = _pair(a, b)
    axes = (-3, -2, -1)
    mse = ((a - b) ** 2).mean(axis=axes)
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(data_range**2 / mse)
    return float(out) if np.ndim(out) == 0 else out


def _ssim_image(a: np.ndarray, b: np.ndarray, data_range: float, sigma: float) -> float:
    # Wang et al. 2004: Gaussian window sigma 1.5 (11 taps), K1 0.01, K2 0.03,
    # population (co)variances; mean SSIM map over the valid area, per channel.
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    radius = int(3.5 * sigma + 0.5)
    values = []
    for ch in range(a.shape[-1]):
        x, y = a[..., ch], b[..., ch]

        def blur(img):
            return gaussian_filter(img, sigma, truncate=3.5, mode="reflect")

        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx * mx
        syy = blur(y * y) - my * my
        sxy = blur(x * y) - mx * my
        num = (2 * mx * my + c1) * (2 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        smap = num / den
        if min(x.shape) > 2 * radius:
            smap = smap[radius:-radius, radius:-radius]
        values.append(smap.mean())
    return float(np.mean(values))


def ssim(a, b, data_range: float = DATA_RANGE, sigma: float = 1.5) -> float | np.ndarray:
    """Structural similarity (Wang et al. 2004), mean over the three channels;
    per frame for clips. 1 for identical images.

    Gaussian-weighted statistics (sigma 1.5, 11x11 window), ``K1 = 0.01``,
    ``K2 = 0.03``, the map averaged away from a border of the window radius:
    the same as ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, channel_axis=-1)``.
    """
    a, b = _pair(a, b)
    if a.ndim == 3:
        return _ssim_image(a, b, data_range, sigma)
    return np.array([_ssim_image(x, y, data_range, sigma) for x, y in zip(a, b)])
