"""The fast resampling ops equal the zero-insertion reference (tests/networks/reference_ops.py)."""

import pytest
import torch

from tests.networks import reference_ops as ref
from video2stylegan.networks.resampling import (
    Nonlinearity,
    design_lowpass_filter,
    downsample2d,
    filtered_lrelu,
    upsample2d,
)


@pytest.mark.parametrize(
    "up,taps,padding",
    [(2, 12, [11, 11, 11, 11]), (4, 24, [27, 26, 25, 25]), (2, 12, [-3, 5, 0, 2]), (1, 1, [-2, -2, 3, 1])],
)
def test_upsample_matches_reference(up, taps, padding):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 13, 11)
    f = None if taps == 1 else torch.randn(taps)
    expected = ref.upfirdn2d(x, f, up=up, padding=padding, gain=up**2 * 1.7)
    got = upsample2d(x, f, up, padding, gain=1.7)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)  # values reach ~100 here


@pytest.mark.parametrize("radial", [False, True])
def test_downsample_matches_reference(radial):
    torch.manual_seed(1)
    x = torch.randn(2, 4, 40, 40)
    f = torch.randn(12, 12) if radial else torch.randn(12)
    torch.testing.assert_close(downsample2d(x, f, 2), ref.upfirdn2d(x, f, down=2), rtol=1e-5, atol=1e-5)


def test_filtered_lrelu_and_its_gradient_match_reference():
    torch.manual_seed(2)
    x = (torch.randn(2, 3, 20, 20) * 100).requires_grad_(True)  # large enough to hit the clamp
    fu, fd, b = torch.randn(24) * 0.3, torch.randn(12) * 0.3, torch.randn(3)
    args = dict(up=4, down=2, padding=[29, 28, 29, 28])
    act = Nonlinearity(gain=2**0.5, slope=0.2, clamp=256.0)
    ours = filtered_lrelu(x + b.reshape(1, -1, 1, 1), fu, fd, act=act, **args)
    theirs = ref.filtered_lrelu(x, fu, fd, b, **args, **act._asdict())
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-3)
    weights = torch.randn_like(ours)
    (g_ours,) = torch.autograd.grad((ours * weights).sum(), x)
    (g_ref,) = torch.autograd.grad((theirs * weights).sum(), x)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-4, atol=1e-4)


def test_lowpass_filters_have_unit_dc_gain_and_identity_is_none():
    assert design_lowpass_filter(1, 2.0, 1.0, 16) is None
    f = design_lowpass_filter(12, 2.0, 2.5, 16)
    assert f.shape == (12,) and abs(float(f.sum()) - 1) < 1e-6
    assert torch.allclose(f, f.flip(0))  # symmetric: correlation == convolution
    radial = design_lowpass_filter(12, 2.0, 2.5, 16, radial=True)
    assert radial.shape == (12, 12) and abs(float(radial.sum()) - 1) < 1e-6
    assert torch.allclose(radial, radial.t())


def test_filtered_lrelu_without_filters_leaves_its_input_alone():
    x = torch.randn(1, 2, 8, 8)
    before = x.clone()
    out = filtered_lrelu(x, None, None, up=1, down=1, padding=[0, 0, 0, 0], act=Nonlinearity(1.0, 0.2, 0.5))
    assert torch.equal(x, before)
    torch.testing.assert_close(out, torch.nn.functional.leaky_relu(before, 0.2).clamp(-0.5, 0.5))


def _saved_bytes_and_gradient(fn, x, weights):
    out, kept = ref.kept_for_backward(fn, x)
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    return out, grad, sum(s.nbytes() for s in kept)


@pytest.mark.parametrize("up, padding", [(2, [9, 8, 9, 8]), (4, [-6, -9, -6, -9])])  # as in the StyleGAN3 layers
def test_recomputed_filtered_lrelu_equals_the_stored_one_and_keeps_only_its_input(up, padding):
    torch.manual_seed(3)
    x = (torch.randn(2, 3, 22, 22, dtype=torch.float64) * 100).requires_grad_(True)  # hits the clamp
    fu, fd = torch.randn(6 * up, dtype=torch.float64) * 0.3, torch.randn(12, dtype=torch.float64) * 0.3
    args = dict(up=up, down=2, padding=padding, act=Nonlinearity(gain=2**0.5, slope=0.2, clamp=256.0))
    weights = torch.randn(2, 3, 20, 20, dtype=torch.float64)
    stored, g_stored, kept_stored = _saved_bytes_and_gradient(lambda v: filtered_lrelu(v, fu, fd, **args), x, weights)
    again, g_again, kept_again = _saved_bytes_and_gradient(
        lambda v: filtered_lrelu(v, fu, fd, recompute=True, **args), x, weights)
    assert stored.shape == (2, 3, 20, 20) and float(stored.detach().abs().max()) > 100
    torch.testing.assert_close(again, stored, rtol=0, atol=1e-12)
    torch.testing.assert_close(g_again, g_stored, rtol=0, atol=1e-12)
    assert kept_again == x.numel() * 8  # the input alone
    assert kept_stored >= 4 * kept_again  # the upsampled activations (2x2 or 4x4 as many samples)


def test_recomputed_filtered_lrelu_under_autocast_matches_the_stored_one():
    torch.manual_seed(4)
    x = (torch.randn(1, 3, 22, 22) * 10).requires_grad_(True)
    fu, fd = torch.randn(12) * 0.3, torch.randn(12) * 0.3
    args = dict(up=2, down=2, padding=[9, 8, 9, 8], act=Nonlinearity(gain=2**0.5, slope=0.2, clamp=256.0))
    grads = []
    for recompute in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = filtered_lrelu(x, fu, fd, recompute=recompute, **args)
        assert out.dtype == torch.bfloat16
        grads.append(torch.autograd.grad(out.float().square().sum(), x)[0])
    assert grads[1].dtype == torch.float32
    torch.testing.assert_close(grads[1], grads[0], rtol=0, atol=0)
