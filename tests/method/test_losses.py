"""Losses for projection: SSIM/MS-SSIM against scikit-image, gradients, and the offline LPIPS fallback."""

import logging
import sys
import types

import numpy as np
import pytest
import torch

from video2stylegan.method import losses
from video2stylegan.method.losses import (
    StructureLoss, gradient_pyramid_loss, perceptual_is_lpips, perceptual_loss, pixel_loss, tensor_ms_ssim, tensor_psnr,
    tensor_ssim,
)


def _images(n=2, size=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, size // 4, size // 4, generator=g)
    x = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear", align_corners=False) * 2 - 1
    noisy = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    return x, noisy


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    x, y = _images(1, 48)
    ours = float(tensor_ssim(x, y)[0])
    a = ((x[0] + 1) / 2).permute(1, 2, 0).double().numpy()
    b = ((y[0] + 1) / 2).permute(1, 2, 0).double().numpy()
    ref = skm.structural_similarity(a, b, data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False)
    assert ours == pytest.approx(ref, abs=2e-3)


def test_ms_ssim_identity_order_and_gradient():
    x, y = _images(2, 64)
    assert torch.allclose(tensor_ms_ssim(x, x), torch.ones(2), atol=1e-5)
    mild = (x + 0.05 * torch.randn_like(x)).clamp(-1, 1)
    assert (tensor_ms_ssim(x, mild) > tensor_ms_ssim(x, y)).all()
    v = y.clone().requires_grad_(True)
    (1 - tensor_ms_ssim(x, v)).sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    # Tiny images still work (fewer scales).
    assert tensor_ms_ssim(x[:, :, :16, :16], y[:, :, :16, :16]).shape == (2,)


def test_pixel_psnr_and_per_image_shapes():
    x = torch.zeros(2, 3, 8, 8)
    y = torch.zeros(2, 3, 8, 8)
    y[1] = 0.2  # [-1,1] error 0.2 -> [0,1] error 0.1 -> 20 dB
    assert float(tensor_psnr(x, y)[1]) == pytest.approx(20.0, abs=1e-4)
    # Restricted to a region: only the errors inside count, whatever its size.
    region = torch.zeros(2, 1, 8, 8)
    region[:, :, :2, :4] = 1.0
    y[0, :, :2, :4] = 0.02  # 40 dB inside the region, 100 % of the region's error
    y[0, :, 4:, :] = 0.9    # large errors outside it
    assert tensor_psnr(x, y, region).tolist() == pytest.approx([40.0, 20.0], abs=1e-3)
    assert float(tensor_psnr(x, y)[0]) < 10
    y[0] = 0.0
    assert pixel_loss(x, y, "l1").tolist() == pytest.approx([0.0, 0.2])
    assert pixel_loss(x, y, "mse").tolist() == pytest.approx([0.0, 0.04])
    with pytest.raises(ValueError):
        pixel_loss(x, y, "huber")
    a, b = _images(3, 32)
    assert gradient_pyramid_loss(a, b).shape == (3,)
    assert StructureLoss()(a, b).shape == (3,)
    assert float(StructureLoss()(a, a).abs().max()) < 1e-5


def test_perceptual_loss_falls_back_without_lpips(monkeypatch, caplog, tmp_path):
    # No lpips package at all: warning and fallback.
    monkeypatch.setitem(sys.modules, "lpips", None)  # makes `import lpips` raise ImportError
    monkeypatch.setattr(losses, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger=losses.__name__):
        loss = perceptual_loss()
    assert isinstance(loss, StructureLoss) and not perceptual_is_lpips(loss)
    assert "LPIPS unavailable" in caplog.text and "package lpips" in caplog.text


def test_perceptual_loss_falls_back_when_weights_missing(monkeypatch, caplog, tmp_path):
    # lpips importable, but neither its linear weights nor the backbone in an empty hub dir.
    fake = types.ModuleType("lpips")
    fake.__file__ = str(tmp_path / "lpips" / "__init__.py")

    def never(*a, **k):
        raise AssertionError("LPIPS must not be constructed (it would download)")

    fake.LPIPS = never
    monkeypatch.setitem(sys.modules, "lpips", fake)
    monkeypatch.setattr(losses, "_WARNED", set())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with caplog.at_level(logging.WARNING, logger=losses.__name__):
        loss = perceptual_loss(net="vgg")
    assert isinstance(loss, StructureLoss)
    assert "linear weights" in caplog.text and "backbone" in caplog.text

    # With both files present, LPIPS is built (here a stand-in model) and wrapped to return [N].
    (tmp_path / "lpips" / "weights" / "v0.1").mkdir(parents=True)
    (tmp_path / "lpips" / "weights" / "v0.1" / "vgg.pth").write_bytes(b"x")
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth").write_bytes(b"x")

    class Stand(torch.nn.Module):
        def forward(self, x, y, normalize=False):
            return (x - y).square().mean(dim=(1, 2, 3), keepdim=True)

    fake.LPIPS = lambda **k: Stand()
    loss = perceptual_loss(net="vgg")
    assert perceptual_is_lpips(loss)
    a, b = _images(2, 32)
    assert loss(a, b).shape == (2,)
    assert isinstance(perceptual_loss(allow_lpips=False), StructureLoss)
    assert np.isfinite(loss(a, b).numpy()).all()
