"""constant_conv2d: the input gradient of an ordinary convolution, without keeping the input."""

import pytest
import torch
import torch.nn.functional as F

from video2stylegan.networks.constant_conv import constant_conv2d

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


def _plain(x, kernel, stride, padding, groups, transposed):
    conv = F.conv_transpose2d if transposed else F.conv2d
    return conv(x, kernel, stride=stride, padding=padding, groups=groups)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_output_and_input_gradient_equal_autograd_convolution(case, channels_last):
    shape, kshape, stride, padding, groups, transposed = case
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    kernel = torch.randn(kshape, dtype=torch.float64)
    ours = constant_conv2d(x, kernel, stride, padding, groups, transposed)
    expected = _plain(x, kernel, stride, padding, groups, transposed)
    assert ours.shape == expected.shape
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)
    weights = torch.randn_like(expected)
    (grad,) = torch.autograd.grad((ours * weights).sum(), x)
    (grad_expected,) = torch.autograd.grad((expected * weights).sum(), x)
    assert grad.shape == x.shape
    torch.testing.assert_close(grad, grad_expected, rtol=0, atol=1e-11)


def _saved_storages(fn, x):
    saved = set()

    def pack(t):
        saved.add(t.untyped_storage().data_ptr())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return saved


def test_keeps_no_activation_for_backward():
    x = torch.randn(1, 4, 32, 32, requires_grad=True)
    kernel = torch.randn(4, 1, 12, 1)
    plain = _saved_storages(lambda v: F.conv2d(v, kernel, stride=(2, 1), groups=4), x)
    ours = _saved_storages(lambda v: constant_conv2d(v, kernel, (2, 1), 0, 4), x)
    assert x.untyped_storage().data_ptr() in plain  # autograd's node keeps the input ...
    assert ours == set()  # ... ours keeps nothing


def test_gradient_under_autocast_has_the_input_dtype():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 16, 16, requires_grad=True)
    kernel = torch.randn(3, 4, 3, 3)
    grads = []
    for conv in (lambda v: constant_conv2d(v, kernel, padding=2), lambda v: F.conv2d(v, kernel, padding=2)):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        assert y.dtype == torch.bfloat16
        grads.append(torch.autograd.grad(y.float().square().sum(), x)[0])
    assert grads[0].dtype == torch.float32
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)


def test_refuses_a_kernel_that_wants_a_gradient():
    kernel = torch.randn(3, 4, 3, 3, requires_grad=True)
    with pytest.raises(ValueError, match="requires grad"):
        constant_conv2d(torch.randn(1, 4, 8, 8), kernel)
