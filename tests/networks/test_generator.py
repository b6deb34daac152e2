"""Our fast StyleGAN3 equals the textbook computation, for T and R configs."""

import numpy as np
import pytest
import torch

from tests.networks import reference_ops as ref
from tests.networks.conftest import make_generator


@pytest.mark.parametrize("config", ["T", "R"])
def test_forward_matches_reference_in_float32(config):
    G = make_generator(config)
    torch.manual_seed(3)
    ws = G.mapping(torch.randn(3, G.z_dim), truncation_psi=0.8)
    img = G.synthesis(ws)
    assert img.shape == (3, 3, 64, 64)
    assert float(img.std()) > 0.05  # a real image, not a constant
    assert float((img - ref.reference_synthesis(G, ws)).abs().max()) <= 1e-4


@pytest.mark.parametrize("config", ["T", "R"])
def test_ws_gradient_matches_reference_in_float64(config):
    # In float32 the two paths round differently through 15 layers (relative
    # gradient differences up to ~3e-3 were seen); float64 shows they compute
    # the same function.
    G = make_generator(config).double()
    torch.manual_seed(3)
    ws = G.mapping(torch.randn(1, G.z_dim).double(), truncation_psi=0.8).requires_grad_(True)
    img, expected = G.synthesis(ws), ref.reference_synthesis(G, ws)
    assert float((img - expected).detach().abs().max()) <= 1e-12
    weights = torch.randn_like(img)
    (grad,) = torch.autograd.grad((img * weights).sum(), ws)
    (grad_ref,) = torch.autograd.grad((expected * weights).sum(), ws)
    assert float(grad_ref.abs().max()) > 1.0
    assert float((grad - grad_ref).abs().max()) <= 1e-10 * float(grad_ref.abs().max())


def test_images_of_a_batch_do_not_depend_on_each_other(G_t):
    torch.manual_seed(4)
    ws = G_t.mapping(torch.randn(4, G_t.z_dim))
    batch = G_t.synthesis(ws)
    alone = G_t.synthesis(ws[2:3])
    assert float((batch[2:3] - alone).abs().max()) < 1e-5


def test_batch_one_equals_official_batch_wide_style_normalisation(G_t):
    # NVIDIA normalises styles by the RMS over the whole batch; at batch 1 that is ours.
    layer = G_t.synthesis.L3_36_32 if hasattr(G_t.synthesis, "L3_36_32") else getattr(G_t.synthesis, G_t.synthesis.layer_names[3])
    torch.manual_seed(5)
    x = torch.randn(1, layer.in_channels, 20, 20)
    s = torch.randn(1, layer.in_channels)
    s_official = s * s.square().mean().rsqrt()  # batch-wide mean
    from video2stylegan.networks.layers import modulated_conv2d

    torch.testing.assert_close(
        modulated_conv2d(x, layer.weight, s, padding=2),
        ref.modulated_conv2d_grouped(x, layer.weight, s_official, padding=2),
        rtol=1e-5, atol=1e-5,
    )


def test_mapping_truncation_known_answers(G_t):
    z = torch.randn(2, G_t.z_dim)
    ws = G_t.mapping(z)
    assert ws.shape == (2, G_t.num_ws, G_t.w_dim)
    assert torch.equal(ws[:, 0], ws[:, -1])  # one w broadcast to every layer
    psi0 = G_t.mapping(z, truncation_psi=0.0)
    torch.testing.assert_close(psi0, G_t.w_avg.expand_as(psi0))
    half = G_t.mapping(z, truncation_psi=0.5)
    torch.testing.assert_close(half, 0.5 * (ws + G_t.w_avg))
    cut = G_t.mapping(z, truncation_psi=0.0, truncation_cutoff=4)
    torch.testing.assert_close(cut[:, 4:], ws[:, 4:])


def test_parameter_names_follow_the_official_layout(G_r):
    names = set(G_r.state_dict())
    for expected in [
        "mapping.fc0.weight", "mapping.fc1.bias", "mapping.w_avg",
        "synthesis.input.weight", "synthesis.input.affine.weight", "synthesis.input.transform",
        "synthesis.input.freqs", "synthesis.input.phases",
        "synthesis.L0_36_32.affine.weight", "synthesis.L0_36_32.magnitude_ema",
        "synthesis.L0_36_32.up_filter", "synthesis.L0_36_32.down_filter", "synthesis.L14_64_3.weight",
    ]:
        assert expected in names, expected
    # No filter buffers where the official networks have none (ToRGB).
    assert "synthesis.L14_64_3.up_filter" not in names
    assert G_r.num_ws == 16 and G_r.synthesis.L0_36_32.down_filter.shape == (12, 12)  # radial in R


def test_channel_counts_of_the_official_1024_r_config():
    from video2stylegan.networks.stylegan3 import SynthesisNetwork

    net = SynthesisNetwork(w_dim=512, img_resolution=1024, img_channels=3, channel_base=65536, channel_max=1024,
                           conv_kernel=1, use_radial_filters=True)
    assert net.layer_names == [
        "L0_36_1024", "L1_36_1024", "L2_52_1024", "L3_52_1024", "L4_84_1024", "L5_148_1024", "L6_148_1024",
        "L7_276_645", "L8_276_406", "L9_532_256", "L10_1044_161", "L11_1044_102", "L12_1044_64",
        "L13_1024_64", "L14_1024_3",
    ]
    assert np.isclose(net.input.bandwidth, 2.0) and net.input.sampling_rate == 16


def _saved_bytes(G, ws):
    img, kept = ref.kept_for_backward(G.synthesis, ws)
    (grad,) = torch.autograd.grad(img.square().sum(), ws)
    return sum(s.nbytes() for s in kept), grad


@pytest.mark.parametrize("config, most", [("T", 0.55), ("R", 0.65)])
def test_backward_keeps_much_less_than_autograd_convolutions(config, most):
    # The resampling filters and the frozen modulated convolutions keep no inputs for backward
    # (networks.constant_conv); with autograd's own convolutions the same gradient costs more memory.
    G = make_generator(config)
    torch.manual_seed(6)
    ws = G.mapping(torch.randn(2, G.z_dim), truncation_psi=0.8).requires_grad_(True)
    ours, grad = _saved_bytes(G, ws)
    with ref.autograd_convolutions():
        theirs, grad_plain = _saved_bytes(G, ws)
    torch.testing.assert_close(grad, grad_plain, rtol=1e-5, atol=1e-7)
    print(f"{config}: saved for backward {ours / 1e6:.2f} MB vs {theirs / 1e6:.2f} MB ({ours / theirs:.2f})")
    assert ours <= most * theirs


@pytest.mark.parametrize("config", ["T", "R"])
def test_recomputing_activations_gives_the_same_gradient_with_less_memory(config):
    G = make_generator(config)
    torch.manual_seed(7)
    ws = G.mapping(torch.randn(2, G.z_dim), truncation_psi=0.8).requires_grad_(True)
    kept, grad = _saved_bytes(G, ws)
    img = G.synthesis(ws)
    G.synthesis.recompute_activations = True
    try:
        assert G.synthesis.recompute_activations
        kept_recomputed, grad_recomputed = _saved_bytes(G, ws)
        torch.testing.assert_close(G.synthesis(ws), img, rtol=0, atol=1e-6)
    finally:
        G.synthesis.recompute_activations = False
    assert not G.synthesis.recompute_activations
    torch.testing.assert_close(grad_recomputed, grad, rtol=1e-6, atol=1e-9)
    print(f"{config}: kept for backward {kept_recomputed / 1e6:.2f} MB recomputing, {kept / 1e6:.2f} MB storing "
          f"({kept_recomputed / kept:.2f})")
    assert kept_recomputed <= 0.5 * kept
