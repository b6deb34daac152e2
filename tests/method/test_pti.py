"""Pivotal tuning: a tuned copy that fits the target better at the pivot and leaves G untouched."""

import torch

from video2stylegan.method.pti import PTIResult, PTISettings, _locality_codes, pivotal_tuning
from video2stylegan.networks.stylegan3 import Generator

def tiny_generator():
    torch.manual_seed(0)
    G = Generator(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, channel_base=512, channel_max=16)
    return G.eval().requires_grad_(False)


def test_pti_improves_pivot_and_keeps_original():
    G = tiny_generator()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        w = G.mapping(torch.randn(2, G.z_dim, generator=gen), None)
        pivot = w[:1]
        target = G.synthesis(w[1:])  # a different image: only weight tuning can fit it at the pivot
    settings = PTISettings(steps=6, lr=3e-3, locality_weight=0.1, locality_every=3)
    r = pivotal_tuning(G, pivot, target, settings, progress=False, loss_fn=lambda x, y: (x - y).abs().flatten(1).mean(1))
    assert isinstance(r, PTIResult) and len(r.loss_history) == 6
    assert r.psnr_after > r.psnr_before + 1.0
    assert r.G is not G and not any(p.requires_grad for p in r.G.parameters())
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k  # original untouched
    tuned = r.G.state_dict()
    assert all(torch.equal(tuned[k], before[k]) for k in before if k.startswith("mapping."))
    assert any(not torch.equal(tuned[k], before[k]) for k in before if k.startswith("synthesis."))


def test_locality_codes_stay_within_radius():
    G = tiny_generator()
    gen = torch.Generator().manual_seed(2)
    pivot = G.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1)
    codes = _locality_codes(G, pivot, 4, 0.5, gen)
    d = (codes - pivot).flatten(1).norm(dim=1)
    assert codes.shape == (4, G.num_ws, G.w_dim) and torch.allclose(d, torch.full((4,), 0.5), atol=1e-5)
    far = _locality_codes(G, pivot, 4, 1e6, torch.Generator().manual_seed(2))  # capped at the sample itself
    with torch.no_grad():
        z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(2))
        torch.testing.assert_close(far, G.mapping(z, None))
