"""constant_convs: the input gradient of ordinary convolutions, without keeping their inputs."""

import pytest
import torch
import torch.nn.functional as F

from tests.networks.reference_ops import kept_for_backward, plain_convs
from video2stylegan.networks.constant_conv import ConvPass, constant_convs

CASES = [
    # (in shape, kernel shape, stride, padding, groups, transposed)
    ((2, 6, 17, 13), (6, 1, 12, 1), (2, 1), (0, 0), 6, False),  # downsampling pass, odd sizes
    ((2, 6, 17, 13), (6, 1, 1, 12), (1, 2), (0, 0), 6, False),
    ((1, 5, 19, 19), (5, 1, 12, 12), (2, 2), (0, 0), 5, False),  # radial downsampling
    ((2, 6, 9, 11), (6, 1, 12, 1), (2, 1), (9, 0), 6, True),  # upsampling pass with a crop
    ((2, 6, 9, 11), (6, 1, 1, 24), (1, 4), (0, 5), 6, True),
    ((2, 7, 10, 10), (4, 7, 3, 3), (1, 1), (2, 2), 1, False),  # the modulated 3x3 convolution
    ((2, 7, 10, 10), (4, 7, 1, 1), (1, 1), (0, 0), 1, False),  # R config / ToRGB
]


def _check_against_autograd(x, passes):
    ours = constant_convs(x, passes)
    expected = plain_convs(x, passes)
    assert ours.shape == expected.shape
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)
    weights = torch.randn_like(expected)
    (grad,) = torch.autograd.grad((ours * weights).sum(), x)
    (grad_expected,) = torch.autograd.grad((expected * weights).sum(), x)
    assert grad.shape == x.shape
    torch.testing.assert_close(grad, grad_expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_output_and_input_gradient_equal_autograd_convolution(case, channels_last):
    shape, kshape, stride, padding, groups, transposed = case
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    kernel = torch.randn(kshape, dtype=torch.float64)
    _check_against_autograd(x.requires_grad_(True), [ConvPass(kernel, stride, padding, groups, transposed)])


def test_a_chain_of_passes_equals_autograd_convolutions():
    # a separable upsampling (y then x) followed by a separable downsampling, as one node
    torch.manual_seed(1)
    x = torch.randn(2, 3, 11, 9, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    f = torch.randn(3, 12, dtype=torch.float64)
    passes = [
        ConvPass(f.reshape(3, 1, 12, 1), (2, 1), (5, 0), 3, transposed=True),
        ConvPass(f.reshape(3, 1, 1, 12), (1, 2), (0, 5), 3, transposed=True),
        ConvPass(f.reshape(3, 1, 12, 1), (2, 1), groups=3),
        ConvPass(f.reshape(3, 1, 1, 12), (1, 2), groups=3),
    ]
    _check_against_autograd(x.requires_grad_(True), passes)


def test_keeps_no_activation_for_backward():
    x = torch.randn(1, 4, 32, 32, requires_grad=True)
    kernel = torch.randn(4, 1, 12, 1)
    _, plain = kept_for_backward(lambda v: F.conv2d(v, kernel, stride=(2, 1), groups=4), x)
    _, ours = kept_for_backward(lambda v: constant_convs(v, [ConvPass(kernel, (2, 1), groups=4)]), x)
    assert x.untyped_storage().data_ptr() in [s.data_ptr() for s in plain]  # autograd's node keeps the input ...
    assert ours == []  # ... ours keeps nothing


def test_gradient_under_autocast_has_the_input_dtype():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 16, 16, requires_grad=True)
    kernel = torch.randn(3, 4, 3, 3)
    grads = []
    for conv in (lambda v: constant_convs(v, [ConvPass(kernel, padding=(2, 2))]), lambda v: F.conv2d(v, kernel, padding=2)):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        assert y.dtype == torch.bfloat16
        grads.append(torch.autograd.grad(y.float().square().sum(), x)[0])
    assert grads[0].dtype == torch.float32
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


def test_refuses_a_kernel_that_wants_a_gradient():
    kernel = torch.randn(3, 4, 3, 3, requires_grad=True)
    with pytest.raises(ValueError, match="requires grad"):
        constant_convs(torch.randn(1, 4, 8, 8), [ConvPass(kernel)])
