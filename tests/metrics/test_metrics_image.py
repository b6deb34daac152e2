"""PSNR and SSIM: known answers and agreement with scikit-image."""

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.metrics import psnr, ssim


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (48, 40, 3)).astype(np.uint8)
    a = np.ascontiguousarray(np.repeat(np.repeat(a[::4, ::4], 4, 0), 4, 1))  # some structure
    b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_psnr_known_values(pair):
    a, _ = pair
    assert psnr(a, a) == np.inf
    grey = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(grey, grey + 10) == pytest.approx(10 * np.log10(255**2 / 100))
    clip = np.stack([grey, grey + 10, grey + 1])
    assert psnr(clip, np.stack([grey] * 3)) == pytest.approx([np.inf, 28.1308, 48.1308], abs=1e-4)


def test_ssim_known_values(pair):
    a, b = pair
    assert ssim(a, a) == pytest.approx(1.0)
    assert 0.3 < ssim(a, b) < 0.99
    # A constant offset of 10 on flat images only changes the luminance term.
    grey = np.full((20, 20, 3), 100.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(grey, grey + 10) == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1))


def test_ssim_and_psnr_match_scikit_image(pair):
    metrics = pytest.importorskip("skimage.metrics")
    a, b = pair
    expected = metrics.structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=-1, data_range=255
    )
    assert ssim(a, b) == pytest.approx(expected, abs=1e-9)
    assert psnr(a, b) == pytest.approx(metrics.peak_signal_noise_ratio(a, b, data_range=255))
    assert ssim(np.stack([a, b]), np.stack([b, b])) == pytest.approx([expected, 1.0], abs=1e-9)


def test_shape_mismatch_is_a_clear_error(pair):
    a, _ = pair
    with pytest.raises(InvalidOptionError, match="different shapes"):
        psnr(a, a[:10])
    with pytest.raises(InvalidOptionError, match="expected"):
        ssim(a[..., 0], a[..., 0])
